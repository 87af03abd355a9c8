//! The GraphQL reader against broken or hostile APIs: a server that says
//! there is always another page at the same cursor, and one that sends an
//! endless answer, end in a typed error instead of a loop or exhausted
//! memory; a well-behaved paged answer is read whole.

mod common;

use pond_client::graphql::GraphqlReader;
use pond_client::ClientError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn offer(id: usize) -> serde_json::Value {
    serde_json::json!({ "node": {
        "id": id.to_string(), "provider": format!("0x{:040x}", 1), "price": "5",
        "minDuration": 0, "maxDuration": 3600, "maxConcurrent": 1, "expiry": 9_999_999_999u64,
        "activeDeals": 0, "cancelled": false,
        "hardware": { "gpuCount": 1, "gpuMemoryGb": 24, "cpuCores": 8, "ramGb": 32, "diskGb": 100 } } })
}

#[tokio::test]
async fn pages_are_followed_and_a_stuck_cursor_is_an_error() {
    // Two honest pages.
    let url = common::serve_json(|request| {
        let after = request["variables"]["after"].as_str().map(str::to_owned);
        let (edges, more, cursor) = match after.as_deref() {
            None => (vec![offer(1), offer(2)], true, "c2"),
            _ => (vec![offer(3)], false, "c3"),
        };
        Some(serde_json::json!({ "data": { "offers": {
            "edges": edges, "pageInfo": { "hasNextPage": more, "endCursor": cursor } } } }))
    });
    let api = GraphqlReader::new(&url).unwrap_or_else(|e| panic!("{e}"));
    let offers = api
        .offers(None, false, u64::MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = offers.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(ids, ["1", "2", "3"]);

    // Always "one more page", always the same cursor.
    let asked = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&asked);
    let url = common::serve_json(move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        Some(serde_json::json!({ "data": { "offers": {
            "edges": [offer(1)], "pageInfo": { "hasNextPage": true, "endCursor": "same" } } } }))
    });
    let api = GraphqlReader::new(&url).unwrap_or_else(|e| panic!("{e}"));
    let stuck = api.offers(None, false, u64::MAX).await;
    assert!(
        matches!(stuck, Err(ClientError::ApiAnswer { .. })),
        "{stuck:?}"
    );
    assert!(!stuck.as_ref().is_err_and(ClientError::is_retryable));
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "stopped at the first repeat"
    );

    // An answer larger than any page.
    let url = common::serve_json(|_| {
        Some(serde_json::json!({ "data": { "junk": "x".repeat(20 << 20) } }))
    });
    let api = GraphqlReader::new(&url).unwrap_or_else(|e| panic!("{e}"));
    let huge = api.offers(None, false, 10).await;
    assert!(
        huge.as_ref()
            .is_err_and(|e| e.to_string().contains("bytes")),
        "{huge:?}"
    );
}
