//! Reads survive a blip of the RPC endpoint: a JSON-RPC server on loopback
//! that drops the first connections of every `eth_call` answers the third
//! try, and the read succeeds; one that never answers fails with a
//! retryable transport error after the bounded tries, not a hang.

use pond_bindings::{Contracts, Deployment};
use pond_client::Client;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Serves JSON-RPC on loopback: `eth_chainId` is 1; the first `drops`
/// `eth_call`s are cut off unanswered, later ones return 7. Returns the URL
/// and the count of `eth_call`s seen.
fn flaky_rpc(drops: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let result = match request["method"].as_str() {
                Some("eth_chainId") => "0x1".to_owned(),
                Some("eth_call") => {
                    if seen.fetch_add(1, Ordering::SeqCst) < drops {
                        continue; // dropped: the connection closes unanswered
                    }
                    format!("0x{:064x}", 7)
                }
                _ => "0x0".to_owned(),
            };
            let answer =
                serde_json::json!({ "jsonrpc": "2.0", "id": request["id"], "result": result })
                    .to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, calls)
}

fn deployment() -> Deployment {
    Deployment {
        network: "test".into(),
        chain_id: 1,
        deployment_block: 0,
        token: Default::default(),
        owner: Default::default(),
        treasury: Default::default(),
        contracts: Contracts::default(),
    }
}

#[tokio::test]
async fn a_read_is_tried_again_while_the_endpoint_blips() {
    let (url, calls) = flaky_rpc(2);
    let client = Client::connect(&url, deployment(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let count = client.offer_count().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count, alloy::primitives::U256::from(7));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "two dropped, the third answered"
    );

    let (url, calls) = flaky_rpc(usize::MAX);
    let client = Client::connect(&url, deployment(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = client.offer_count().await;
    assert!(
        failed
            .as_ref()
            .is_err_and(pond_client::ClientError::is_retryable),
        "{failed:?}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "four tries, then a typed error"
    );
}
