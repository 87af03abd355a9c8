//! Fan-out of one committed batch to many subscriptions on one WebSocket
//! (results in docs/benchmarks.md).
//!
//! `cargo run --release -p pond-graphql --example subscription_fanout [-- SUBSCRIPTIONS ROUNDS]`
//!
//! The API serves an empty index; batches are handed to it as the indexer
//! hands them over after a commit (its broadcast channel), so the figure is
//! the server's own fan-out: from the batch's hand-over to each
//! subscription's message reaching the client. One `graphql-transport-ws`
//! connection holds SUBSCRIPTIONS (2 000 by default) `events`
//! subscriptions; each round hands over one batch of one event, and every
//! subscription must see it. Reported: each message's latency (p50, p99,
//! max) and each round's spread (first to last message).

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Progress, Update},
    store::{EventRecord, Store},
    testkit,
};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

fn batch(round: u64) -> Update {
    Update::Indexed {
        to: round,
        events: vec![EventRecord {
            block_number: round,
            log_index: 0,
            block_hash: format!("0x{round:064x}"),
            tx_hash: format!("0x{round:064x}"),
            address: format!("0x{:040x}", 0xa),
            contract: "Market".to_owned(),
            name: "JobPosted".to_owned(),
            topics: "[]".to_owned(),
            data: "0x".to_owned(),
            timestamp: 1_760_000_000 + round,
        }],
        changed: Vec::new(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let subscriptions = args.first().copied().unwrap_or(2_000);
    let rounds = args.get(1).copied().unwrap_or(20);
    let store = Store::open(&testkit::sqlite_url()).await.expect("store");
    let (updates, _) = tokio::sync::broadcast::channel(1024);
    let state = ApiState {
        store,
        updates: updates.clone(),
        progress: std::sync::Arc::new(Progress::default()),
        chain_id: 412_346,
    };
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let mut request = server.ws_url().into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("ws");
    let (mut sink, mut stream) = socket.split();
    sink.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .expect("init");
    let _ack = stream.next().await.expect("ack").expect("ack");
    for id in 0..subscriptions {
        let message = json!({
            "id": id.to_string(),
            "type": "subscribe",
            "payload": {"query": "subscription { events { name blockNumber logIndex } }"},
        });
        sink.send(Message::Text(message.to_string().into()))
            .await
            .expect("subscribe");
    }

    // Until every subscription has heard a batch, they are not all
    // listening yet: hand over warm-up batches (block 0) meanwhile.
    let mut heard = HashSet::new();
    let started = Instant::now();
    while heard.len() < subscriptions {
        let _ = updates.send(batch(0));
        let deadline = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                message = stream.next() => {
                    let Some(Ok(Message::Text(text))) = message else { continue };
                    let value: Value = serde_json::from_str(&text).expect("json");
                    if let Some(id) = value["id"].as_str() {
                        heard.insert(id.to_owned());
                    }
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} of {subscriptions} subscriptions ever listened",
            heard.len()
        );
    }
    // Drain what the warm-up left in flight.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {}

    let mut latencies = Vec::new();
    let mut spreads = Vec::new();
    for round in 1..=rounds as u64 {
        let sent = Instant::now();
        updates.send(batch(round)).expect("handed over");
        let (mut first, mut last, mut got) = (None, Duration::ZERO, 0);
        while got < subscriptions {
            let message = tokio::time::timeout(Duration::from_secs(60), stream.next())
                .await
                .expect("messages in time")
                .expect("open")
                .expect("message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["payload"]["data"]["events"]["blockNumber"] != json!(round) {
                continue;
            }
            let at = sent.elapsed();
            first.get_or_insert(at);
            last = at;
            got += 1;
            latencies.push(at.as_secs_f64() * 1e3);
        }
        spreads.push((last - first.unwrap_or_default()).as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort_by(f64::total_cmp);
    spreads.sort_by(f64::total_cmp);
    println!("{subscriptions} subscriptions on one connection, {rounds} batches of one event");
    println!("| messages | p50 ms | p99 ms | max ms | round spread p50 ms | round spread max ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        percentile(&spreads, 0.5),
        percentile(&spreads, 1.0),
    );
}
