//! The memory attack of issue 16 item 6, measured: four parallel queries
//! for pages of jobs with 90 KB `moduleUri`s took the server from 118 MB
//! to more than 6 GB in 5 s. With each request's reads bounded, the
//! process's peak resident memory grows by a bounded amount. (Its own test
//! binary: the peak is the whole process's.)

mod common;

use alloy::transports::http::reqwest;
use pond_graphql::{router, Server};
use pond_indexer::testkit;

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_pages_of_long_uris_cannot_exhaust_memory() {
    let state = common::api_state_over(&testkit::sqlite_url()).await;
    // 1 000 jobs × 90 KB: 90 MB of URIs, as an index of a deployment from
    // before URIs were bounded on chain holds them.
    common::index_jobs(&state.store, 1_000, 90_000).await;
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let query = "{ jobs(first: 1000) { edges { node { id moduleUri inputUri } } } }";

    // Reset the peak to what the process holds now (Linux: "5" clears it).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak");
    let before = peak_kib();
    for _ in 0..3 {
        let queries: Vec<_> = (0..4)
            .map(|_| {
                let (client, url) = (client.clone(), server.url());
                tokio::spawn(async move { common::post(&client, &url, query).await.1 })
            })
            .collect();
        for q in queries {
            let answer = q.await.expect("query");
            let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("response too large"), "{answer:.300}");
        }
    }
    let grown_mib = peak_kib().saturating_sub(before) / 1024;
    eprintln!("peak resident memory grew by {grown_mib} MiB");
    assert!(grown_mib < 1024, "grew by {grown_mib} MiB");
}
