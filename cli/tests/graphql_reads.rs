//! Lists read through the GraphQL API (`--graphql`) agree with the same
//! lists read from the chain: `pond up` serves both; a provider posts
//! offers; `offer list`, `why-no-match` and `job list` give the same
//! answers either way; an API that is down is a one-line error.

mod common;

use std::time::{Duration, Instant};

use common::{free_port, printed_text, ready, run_pond, Pond};

#[test]
fn lists_through_graphql_match_the_chain() {
    let dir = std::env::temp_dir().join(format!("pond-graphql-reads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let listen = format!("127.0.0.1:{}", free_port());
    let devnode_port = free_port().to_string();
    let mut up = Pond::start(
        &dir,
        "up.log",
        &["up", "--devnode-port", &devnode_port, "--listen", &listen],
    );
    let rpc = up.printed("devnode", Duration::from_secs(120));
    let rpc = rpc
        .split_whitespace()
        .next()
        .expect("devnode URL")
        .to_owned();
    let graphql = up.printed("GraphQL", Duration::from_secs(300));
    ready(&mut up, &graphql);

    let key = pond_devnode::accounts::dev_keys()[3].clone();
    let env = [("POND_RPC", rpc.as_str()), ("KEY", key.as_str())];
    let pond = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--private-key-env", "KEY", "--json"]);
        let out = run_pond(&dir, None, &env, &all);
        assert!(out.status.success(), "{args:?}: {}", printed_text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    pond(&common::REGISTER_ONE_GPU);
    for price in ["10", "20", "30"] {
        pond(&["offer", "post", "--price", price, "--max-duration", "2h"]);
    }
    let cancelled = pond(&["offer", "post", "--price", "40", "--max-duration", "2h"]);
    pond(&[
        "offer",
        "cancel",
        cancelled["offerId"].as_str().expect("id"),
    ]);

    let ids = |value: &serde_json::Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["id"].as_str().map(str::to_owned))
            .collect()
    };
    let from_chain = ids(&pond(&["offer", "list"]));
    assert_eq!(from_chain, ["3", "2", "1"]);
    // The indexer follows the chain: wait (bounded) until it has seen all.
    let started = Instant::now();
    let mut through_api = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        through_api = ids(&pond(&["offer", "list", "--graphql", &graphql]));
        if through_api == from_chain {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(through_api, from_chain);
    assert_eq!(
        ids(&pond(&["offer", "list", "--all", "--graphql", &graphql])),
        ids(&pond(&["offer", "list", "--all"]))
    );
    let why = |extra: &[&str]| {
        let mut args = vec![
            "why-no-match",
            "--max-price",
            "25",
            "--max-duration",
            "1h",
            "--gpus",
            "1",
        ];
        args.extend_from_slice(extra);
        pond(&args)
    };
    assert_eq!(
        why(&[])["fitting"],
        why(&["--graphql", &graphql])["fitting"]
    );
    assert_eq!(why(&[])["fitting"], serde_json::json!(["2", "1"]));
    assert_eq!(
        pond(&["job", "list", "--all", "--graphql", &graphql]),
        pond(&["job", "list", "--all"])
    );

    // An API that is not there: a one-line reason, no panic.
    let down = format!("http://127.0.0.1:{}/graphql", free_port());
    let mut args = vec!["offer", "list", "--graphql", &down];
    args.extend_from_slice(&["--private-key-env", "KEY"]);
    let out = run_pond(&dir, None, &env, &args);
    assert!(!out.status.success());
    assert!(
        printed_text(&out).contains("cannot read Pond's GraphQL API at http://127.0.0.1"),
        "{}",
        printed_text(&out)
    );
    up.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
