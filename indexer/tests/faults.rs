//! A faulty RPC in front of devnode: range-limit errors with hints, 429
//! with `Retry-After`, dropped connections and slow answers. The indexer
//! must lose nothing and duplicate nothing: its result equals a fresh
//! index through a healthy endpoint.

use pond_indexer::testkit;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use alloy::providers::Provider;
use pond_deploy::testkit::{tokens, Stack};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::watch,
};

/// Largest `eth_getLogs` range the proxy lets through.
const RANGE_LIMIT: u64 = 7;

#[derive(Default)]
struct Faults {
    requests: AtomicU64,
    range_errors: AtomicU64,
    throttled: AtomicU64,
    dropped: AtomicU64,
    slowed: AtomicU64,
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let lower = l.to_lowercase();
                    lower
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(buffer[end + 4..end + 4 + length].to_vec());
            }
        }
    }
}

async fn respond(socket: &mut tokio::net::TcpStream, status: &str, headers: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Serves a faulty proxy to `upstream`; returns its URL.
async fn faulty_proxy(upstream: String, faults: Arc<Faults>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let client = alloy::transports::http::reqwest::Client::new();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (client, upstream, faults) = (client.clone(), upstream.clone(), faults.clone());
            tokio::spawn(async move {
                let Some(body) = read_request(&mut socket).await else {
                    return;
                };
                let n = faults.requests.fetch_add(1, Ordering::SeqCst);
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if request["method"] == "eth_getLogs" {
                    let filter = &request["params"][0];
                    let hex = |v: &Value| {
                        u64::from_str_radix(
                            v.as_str().unwrap_or("0x0").trim_start_matches("0x"),
                            16,
                        )
                        .unwrap_or(0)
                    };
                    let (from, to) = (hex(&filter["fromBlock"]), hex(&filter["toBlock"]));
                    if to >= from + RANGE_LIMIT {
                        faults.range_errors.fetch_add(1, Ordering::SeqCst);
                        let hint_end = from + RANGE_LIMIT - 1;
                        let message = format!(
                            "query returned more than 10000 results. Try with this block range [{from:#x}, {hint_end:#x}]."
                        );
                        let answer = json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32005, "message": message}});
                        respond(&mut socket, "200 OK", "", &answer.to_string()).await;
                        return;
                    }
                }
                match n % 7 {
                    2 => {
                        faults.throttled.fetch_add(1, Ordering::SeqCst);
                        respond(
                            &mut socket,
                            "429 Too Many Requests",
                            "Retry-After: 0.05\r\n",
                            "{}",
                        )
                        .await;
                        return;
                    }
                    4 => {
                        // Drop the connection without an answer.
                        faults.dropped.fetch_add(1, Ordering::SeqCst);
                        drop(socket);
                        return;
                    }
                    6 => {
                        faults.slowed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    _ => {}
                }
                let Ok(answer) = client
                    .post(&upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                else {
                    return;
                };
                let text = answer.text().await.unwrap_or_default();
                respond(&mut socket, "200 OK", "", &text).await;
            });
        }
    });
    url
}

async fn index(stack: &Stack, rpc_url: &str) -> (Store, u64) {
    let store = Store::open(&testkit::sqlite_url()).await.expect("store");
    let mut config = IndexerConfig::new(rpc_url, stack.deployment.clone());
    config.initial_range = 64;
    config.poll_interval = Duration::from_millis(50);
    let indexer = Indexer::new(store.clone(), config);
    let retries = indexer.rpc().stats.clone();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(indexer.run(stopped));
    let head = stack.provider.get_block_number().await.expect("head");
    for _ in 0..1_200 {
        if store
            .checkpoint()
            .await
            .expect("cp")
            .is_some_and(|cp| cp.number == head)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    task.await
        .expect("task")
        .expect("indexer survived the faults");
    (store, retries.retries.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_endpoint_loses_nothing_and_duplicates_nothing() {
    let stack = Stack::start().await;
    let provider = stack.accounts[2];
    stack.fund(provider, tokens(500)).await;
    stack.register_provider(provider, 2).await;
    for i in 0..12 {
        stack.post_offer(provider, tokens(1 + i)).await;
    }
    let faults = Arc::new(Faults::default());
    let proxy = faulty_proxy(stack.node.http_url(), faults.clone()).await;
    let (faulty, retries) = index(&stack, &proxy).await;
    let (healthy, _) = index(&stack, &stack.node.http_url()).await;

    // Same rows and events: none lost, none twice.
    let events = testkit::assert_same_index(&faulty, &healthy).await;
    assert_eq!(
        events.iter().filter(|e| e.name == "OfferPosted").count(),
        12
    );
    // Every kind of fault actually happened and was retried.
    assert!(
        faults.range_errors.load(Ordering::SeqCst) > 0,
        "range errors"
    );
    assert!(faults.throttled.load(Ordering::SeqCst) > 0, "429s");
    assert!(
        faults.dropped.load(Ordering::SeqCst) > 0,
        "dropped connections"
    );
    assert!(faults.slowed.load(Ordering::SeqCst) > 0, "slow answers");
    assert!(retries > 0);
}
