//! `kill -9` at random moments: `pond up --rpc` indexing a live devnode
//! into PostgreSQL is killed (SIGKILL) 20 times while transactions land,
//! then restarted to catch up. The database must equal a fresh,
//! uninterrupted index of the same chain: no gap, no duplicate. A
//! read-only `pond serve` on the same database then answers from it.

mod common;

use std::time::Duration;

use common::{free_port, post, Pond};
use pond_deploy::testkit::{tokens, Stack};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
    testkit,
};
use tokio::sync::watch;

/// Waits until `store`'s checkpoint is the chain's head; panics with
/// `log()` when that takes over two minutes.
async fn caught_up(stack: &Stack, store: &Store, log: impl Fn() -> String) {
    testkit::caught_up(&stack.provider, store, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}; log:\n{}", log()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_leaves_no_gap_and_no_duplicate() {
    let s = Stack::start().await;
    let provider = s.accounts[2];
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let dir = std::env::temp_dir().join(testkit::unique("pond-restart"));
    std::fs::create_dir_all(&dir).expect("dir");
    let deployment_file = dir.join("deployment.json");
    s.deployment
        .save(&deployment_file)
        .expect("deployment file");
    let database = testkit::postgres_url().await;
    let (http, ws) = (s.node.http_url(), s.node.ws_url());
    let deployment = deployment_file.display().to_string();
    let up = |round: u64| {
        let listen = format!("127.0.0.1:{}", free_port());
        Pond::start(
            &dir,
            &format!("up-{round}.log"),
            &[
                "up",
                "--rpc",
                &http,
                "--ws",
                &ws,
                "--deployment",
                &deployment,
                "--database-url",
                &database,
                "--listen",
                &listen,
            ],
        )
    };

    let store = Store::open(&database).await.expect("open");
    let checkpoint = || async {
        store
            .checkpoint()
            .await
            .expect("checkpoint")
            .map_or(0, |c| c.number)
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut offers = 0;
    let mut advanced = 0;
    for round in 0..20u64 {
        let before = checkpoint().await;
        let pond = up(round);
        // Transactions land while it runs: each round adds blocks to index.
        for _ in 0..2 {
            s.post_offer(provider, tokens(1 + round)).await;
            offers += 1;
        }
        // SIGKILL at a pseudo-random moment: during start-up, mid-batch or
        // idle; whatever transaction was open is lost with the process.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 600)).await;
        pond.kill();
        if checkpoint().await > before {
            advanced += 1;
        }
    }
    // The kills must have hit working processes, not only starting ones.
    assert!(
        advanced >= 5,
        "only {advanced} of 20 killed runs indexed anything"
    );
    let mut pond = up(20);
    caught_up(&s, &store, || pond.log()).await;
    pond.assert_running();
    pond.kill();

    // A fresh, uninterrupted index of the same chain.
    let fresh = Store::open(&testkit::sqlite_url()).await.expect("open");
    let mut config = IndexerConfig::new(&http, s.deployment.clone());
    config.poll_interval = Duration::from_millis(50);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(Indexer::new(fresh.clone(), config).run(stopped));
    caught_up(&s, &fresh, String::new).await;
    let _ = stop.send(true);
    task.await.expect("task").expect("indexer");

    let events = testkit::assert_same_index(&store, &fresh).await;
    let posted = events.iter().filter(|e| e.name == "OfferPosted").count();
    assert_eq!(posted, offers, "every offer exactly once");

    // A read-only server over the same database answers from it.
    let listen = format!("127.0.0.1:{}", free_port());
    let mut serve = Pond::start(
        &dir,
        "serve.log",
        &["serve", "--database-url", &database, "--listen", &listen],
    );
    let url = serve.printed("GraphQL", Duration::from_secs(60));
    serve.assert_running();
    let answer = post(
        &url,
        r#"{"query":"{ offers(first: 1000) { edges { node { id } } } }"}"#,
    )
    .unwrap_or_else(|| panic!("pond serve answers; log:\n{}", serve.log()));
    serve.kill();
    let value: serde_json::Value = serde_json::from_str(&answer).expect("json");
    let listed = value["data"]["offers"]["edges"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, offers, "{answer}");
    let _ = std::fs::remove_dir_all(&dir);
}
