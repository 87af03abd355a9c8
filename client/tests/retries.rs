//! Reads survive a blip of the RPC endpoint: a JSON-RPC server on loopback
//! that drops the first connections of every `eth_call` answers the third
//! try, and the read succeeds; one that never answers fails with a
//! retryable transport error after the bounded tries, not a hang.

use pond_client::Client;
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Serves JSON-RPC on loopback: `eth_chainId` is 1; the first `drops`
/// `eth_call`s are cut off unanswered, later ones return 7. Returns the URL
/// and the count of `eth_call`s seen.
fn flaky_rpc(drops: usize) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let url = common::serve_json(move |request| {
        let result = match request["method"].as_str() {
            Some("eth_chainId") => "0x1".to_owned(),
            Some("eth_call") => {
                if seen.fetch_add(1, Ordering::SeqCst) < drops {
                    return None; // dropped: the connection closes unanswered
                }
                format!("0x{:064x}", 7)
            }
            _ => "0x0".to_owned(),
        };
        Some(serde_json::json!({ "jsonrpc": "2.0", "id": request["id"], "result": result }))
    });
    (url, calls)
}

#[tokio::test]
async fn a_read_is_tried_again_while_the_endpoint_blips() {
    let (url, calls) = flaky_rpc(2);
    let client = Client::connect(&url, common::fake_deployment(), None)
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
    let client = Client::connect(&url, common::fake_deployment(), None)
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
