//! Latency from a block being mined to the subscription message reaching
//! a WebSocket client (results in docs/benchmarks.md).
//!
//! `cargo run --release -p pond-graphql --example subscription_latency [-- SAMPLES [SUBSCRIPTIONS]]`
//!
//! devnode runs Pond's real contracts; the indexer follows it over
//! WebSocket `newHeads` into SQLite and the API pushes `jobChanges` over
//! `graphql-transport-ws`, to SUBSCRIPTIONS subscriptions on one
//! connection (default 1). Each sample posts a job (devnode mines it at
//! once) and measures from just before the transaction is sent until each
//! subscription's message, so the figure includes mining and is an upper
//! bound; it reports every message and, per sample, the last one. Samples
//! are spaced by a random pause so they do not line up with any polling
//! period.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use pond_deploy::testkit::{tokens, Stack};
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
    testkit,
};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

#[tokio::main]
async fn main() {
    let samples: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let subscriptions: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1)
        .max(1);
    let stack = Stack::start().await;
    let creator = stack.accounts[1];
    stack.fund(creator, tokens(1_000_000)).await;
    let store = Store::open(&testkit::sqlite_url()).await.expect("store");
    let mut config = IndexerConfig::new(&stack.node.http_url(), stack.deployment.clone());
    config.ws_url = Some(stack.node.ws_url());
    let indexer = Indexer::new(store.clone(), config);
    let state = ApiState {
        store,
        updates: indexer.updates(),
        progress: indexer.progress.clone(),
        chain_id: stack.deployment.chain_id,
    };
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(indexer.run(stopped));
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");

    let mut request = server.ws_url().into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("ws");
    socket
        .send(Message::Text(
            json!({"type": "connection_init"}).to_string().into(),
        ))
        .await
        .expect("init");
    socket.next().await.expect("ack").expect("ack");
    for id in 0..subscriptions {
        let subscription = json!({"id": id.to_string(), "type": "subscribe", "payload": {"query": "subscription { jobChanges { id state } }"}});
        socket
            .send(Message::Text(subscription.to_string().into()))
            .await
            .expect("subscribe");
    }
    tokio::time::sleep(Duration::from_millis(300 + subscriptions as u64)).await;

    let spec = stack
        .job_spec(tokens(1), alloy::primitives::U256::ZERO, 0)
        .await;
    let mut latencies = Vec::with_capacity(samples * subscriptions);
    let mut lasts = Vec::with_capacity(samples);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..samples {
        let sent = Instant::now();
        // devnode mines on receipt of the transaction; the receipt is not
        // awaited, so nothing but the subscription is waited for.
        let _pending = stack
            .market()
            .postJob(spec.clone())
            .from(creator)
            .send()
            .await
            .expect("postJob");
        let mut heard = std::collections::HashSet::new();
        while heard.len() < subscriptions {
            let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("a message within 10 s")
                .expect("open")
                .expect("message");
            let value: Value =
                serde_json::from_str(message.to_text().expect("text")).expect("json");
            if value["type"] == "next" && heard.insert(value["id"].to_string()) {
                latencies.push(sent.elapsed().as_secs_f64() * 1_000.0);
            }
        }
        lasts.push(sent.elapsed().as_secs_f64() * 1_000.0);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(20 + seed % 80)).await;
    }
    let _ = stop.send(true);
    server.stop();
    println!(
        "| samples | subscriptions | measured | messages | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|");
    for (what, mut values) in [("every message", latencies), ("last of a sample", lasts)] {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() as f64 * q) as usize).min(values.len() - 1)];
        println!(
            "| {samples} | {subscriptions} | {what} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            values.len(),
            at(0.5),
            at(0.95),
            at(0.99),
            values[values.len() - 1]
        );
    }
}
