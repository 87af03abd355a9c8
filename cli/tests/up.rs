//! `pond up` as a user runs it: the binary starts devnode, deploys Pond,
//! indexes it and serves GraphQL; the printed URL answers queries.

mod common;

use std::time::{Duration, Instant};

use common::{free_port, post, Pond};

#[test]
fn pond_up_serves_a_graphql_url_that_answers() {
    let dir = std::env::temp_dir().join(format!("pond-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let listen = format!("127.0.0.1:{}", free_port());
    let devnode_port = free_port().to_string();
    let mut pond = Pond::start(
        &dir,
        "pond-up.log",
        &["up", "--devnode-port", &devnode_port, "--listen", &listen],
    );
    // The first run may build the contracts.
    let url = pond.printed("GraphQL", Duration::from_secs(900));
    let started = Instant::now();
    let mut answer = String::new();
    // Generous: CI machines are shared, and the bound only ends a hung run.
    while started.elapsed() < Duration::from_secs(300) {
        pond.assert_running();
        if let Some(body) = post(
            &url,
            r#"{"query":"{ _meta { chainId isReady indexedBlock { number } } }"}"#,
        ) {
            answer = body;
            if answer.contains("\"isReady\":true") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = pond.log();
    pond.kill();
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|_| {
        panic!(
            "no JSON answer ({answer:?}) after {:?}; pond up's log:\n{log}",
            started.elapsed()
        )
    });
    assert_eq!(value["data"]["_meta"]["chainId"], 412_346, "{answer}");
    assert_eq!(
        value["data"]["_meta"]["isReady"], true,
        "{answer}; log:\n{log}"
    );
    let deployment =
        std::fs::read_to_string(dir.join("deployments/devnode.json")).expect("deployment file");
    assert!(deployment.contains("\"chainId\": 412346"));
    let _ = std::fs::remove_dir_all(&dir);
}
