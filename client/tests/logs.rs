//! Event reads against a node that caps `eth_getLogs` at 1 000 blocks (as
//! most public endpoints cap the range or the results): the client narrows
//! its window until the node answers, finds the event 23 000 blocks into
//! the chain, and starts the next read at the narrowed window; a node
//! that refuses even one block is an error, not a crawl.

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolEvent,
};
use pond_bindings::deals::IDeals;
use pond_client::Client;
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const HEAD: u64 = 25_000;
const CAP: u64 = 1_000;
const REVEALED_AT: u64 = 23_456;

fn number(value: &serde_json::Value) -> u64 {
    value
        .as_str()
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| panic!("not a block number: {value}"))
}

#[tokio::test]
async fn a_node_capping_log_ranges_is_read_in_windows_it_accepts() {
    let event = IDeals::ResultRevealed {
        dealId: U256::from(5),
        provider: Address::repeat_byte(2),
        resultHash: B256::repeat_byte(0xab),
        resultUri: "http://provider/blobs/ab".to_owned(),
        judgeDeadline: 99,
    };
    let data = event.encode_log_data();
    let (refused, answered) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (refusals, answers) = (Arc::clone(&refused), Arc::clone(&answered));
    let url = common::serve_json(move |request| {
        let result = match request["method"].as_str() {
            Some("eth_chainId") => serde_json::json!("0x1"),
            Some("eth_blockNumber") => serde_json::json!(format!("{HEAD:#x}")),
            Some("eth_getLogs") => {
                let filter = &request["params"][0];
                let (from, to) = (number(&filter["fromBlock"]), number(&filter["toBlock"]));
                if to - from + 1 > CAP {
                    refusals.fetch_add(1, Ordering::SeqCst);
                    return Some(serde_json::json!({
                        "jsonrpc": "2.0",
                        "id": request["id"],
                        "error": { "code": -32005, "message": "query exceeds max block range 1000" }
                    }));
                }
                answers.fetch_add(1, Ordering::SeqCst);
                if (from..=to).contains(&REVEALED_AT) {
                    serde_json::json!([{
                        "address": format!("{:#x}", Address::ZERO),
                        "topics": data.topics(),
                        "data": data.data,
                        "blockNumber": format!("{REVEALED_AT:#x}"),
                        "blockHash": B256::repeat_byte(1),
                        "transactionHash": B256::repeat_byte(3),
                        "transactionIndex": "0x0",
                        "logIndex": "0x0",
                        "removed": false
                    }])
                } else {
                    serde_json::json!([])
                }
            }
            _ => serde_json::json!("0x0"),
        };
        Some(serde_json::json!({ "jsonrpc": "2.0", "id": request["id"], "result": result }))
    });
    let client = Client::connect(&url, common::fake_deployment(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found = client
        .revealed_result(U256::from(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found,
        Some((
            B256::repeat_byte(0xab),
            "http://provider/blobs/ab".to_owned()
        ))
    );
    let first = refused.load(Ordering::SeqCst);
    assert!(first > 0, "the whole range was asked first");
    assert!(answered.load(Ordering::SeqCst) >= (HEAD + 1).div_ceil(CAP) as usize);
    // The next read starts at the window the node accepted: it only
    // probes a wider one now and then (one refusal per eight windows).
    let answered_first = answered.load(Ordering::SeqCst);
    let again = client.revealed_result(U256::from(5)).await;
    assert!(matches!(again, Ok(Some(_))), "{again:?}");
    let (refused_again, answered_again) = (
        refused.load(Ordering::SeqCst) - first,
        answered.load(Ordering::SeqCst) - answered_first,
    );
    assert!(
        refused_again <= answered_again / 8 + 1,
        "{refused_again} refusals for {answered_again} windows"
    );
    assert!(refused_again < first, "the accepted window was kept");
}

#[tokio::test]
async fn a_node_refusing_every_read_is_an_error_not_a_crawl() {
    let asked = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&asked);
    let url = common::serve_json(move |request| {
        let id = request["id"].clone();
        Some(match request["method"].as_str() {
            Some("eth_chainId") => {
                serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": "0x1" })
            }
            Some("eth_blockNumber") => {
                serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": format!("{HEAD:#x}") })
            }
            _ => {
                count.fetch_add(1, Ordering::SeqCst);
                serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32005, "message": "rate limited" } })
            }
        })
    });
    let client = Client::connect(&url, common::fake_deployment(), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(client.revealed_result(U256::from(5)).await.is_err());
    // Halving down to one block: about log2(25 000) reads, not 25 000.
    let first = asked.load(Ordering::SeqCst);
    assert!(first <= 20, "{first} reads");
    // The next read does not start at one block either.
    assert!(client.revealed_result(U256::from(5)).await.is_err());
    assert!(asked.load(Ordering::SeqCst) - first <= 20);
}
