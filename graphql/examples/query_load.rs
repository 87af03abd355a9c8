//! GraphQL under a constant arrival rate (results in docs/benchmarks.md).
//!
//! `cargo run --release -p pond-graphql --example query_load [-- RATE SECONDS [whole]]`
//!
//! A database of 1 000 000 Pond events is built once through the real
//! projections (500 000 jobs posted; every other one matched with its deal
//! opened) and kept in `target/bench/api-1m.db`. The API serves it on
//! loopback, and requests are sent open-loop: each is scheduled at its
//! slot of the arrival rate (500/s by default) whether or not earlier ones
//! have answered, and its latency counts from that slot, so a slow server
//! cannot hide queueing by slowing the load (no coordinated omission).
//! Three workloads run one after the other: single-job lookups by random
//! id, filtered 50-row pages at random cursors, and lists of random shape
//! (each filter of `jobs`, `deals` and `events` present or not, every
//! order in both directions, with or without a cursor), reported per
//! shape. With `whole`, the pages also ask for `minHardware`, a nested
//! field, so the server reads whole rows instead of only the columns
//! asked for. With `postgres`, the same database is built and served on
//! PostgreSQL (`POND_TEST_POSTGRES`'s server, database `pond_bench_api_1m`).

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolEvent,
    transports::http::reqwest,
};
use pond_bindings::{deals::IDeals, market::IMarket};
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    events::PondEvent,
    follow::Progress,
    project::{self, Meta},
    store::{BlockRecord, EventRecord, Store},
};

const JOBS: u64 = 500_000;
const JOBS_PER_BLOCK: u64 = 10;
const BLOCKS_PER_BATCH: u64 = 200;
const START: u64 = 1_760_000_000;

fn db_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/api-1m.db")
}

fn record(
    block: &BlockRecord,
    log_index: u64,
    address: Address,
    name: &str,
    log: &alloy::primitives::LogData,
) -> EventRecord {
    let topics: Vec<String> = log.topics().iter().map(|t| format!("{t:#x}")).collect();
    EventRecord {
        block_number: block.number,
        log_index,
        block_hash: block.hash.clone(),
        tx_hash: format!(
            "{:#x}",
            B256::from(U256::from(block.number * 1_000 + log_index))
        ),
        address: format!("{address:#x}"),
        contract: if name == "DealOpened" {
            "Deals"
        } else {
            "Market"
        }
        .to_owned(),
        name: name.to_owned(),
        topics: serde_json::to_string(&topics).unwrap_or_default(),
        data: format!("{}", log.data),
        timestamp: block.timestamp,
    }
}

/// Writes the synthetic market through the projections.
async fn build(store: &Store) {
    let market = Address::repeat_byte(0x0a);
    let deals = Address::repeat_byte(0x0d);
    let creators: Vec<Address> = (1..=50u8).map(Address::repeat_byte).collect();
    let providers: Vec<Address> = (100..=149u8).map(Address::repeat_byte).collect();
    let blocks = JOBS / JOBS_PER_BLOCK;
    let started = Instant::now();
    let mut job = 0u64;
    let mut deal = 0u64;
    for first in (1..=blocks).step_by(usize::try_from(BLOCKS_PER_BATCH).unwrap_or(1)) {
        let mut batch = store.begin(412_346).await.expect("batch");
        // As the indexer does: only the last 64 blocks can be reorged away,
        // so only they are journaled.
        batch.journal_from(blocks.saturating_sub(64));
        let mut last = None;
        for number in first..(first + BLOCKS_PER_BATCH).min(blocks + 1) {
            let block = BlockRecord {
                number,
                hash: format!("{:#x}", B256::from(U256::from(number))),
                parent_hash: format!("{:#x}", B256::from(U256::from(number - 1))),
                timestamp: START + number * 2,
            };
            batch.block(&block).await.expect("block");
            let mut log_index = 0;
            for _ in 0..JOBS_PER_BLOCK {
                job += 1;
                let creator = creators[usize::try_from(job % 50).unwrap_or(0)];
                let memory = [8u32, 16, 24, 48, 80][usize::try_from(job % 5).unwrap_or(0)];
                let max_price = U256::from(1_000_000 + (job * 7_919) % 100_000_000);
                let posted = IMarket::JobPosted {
                    jobId: U256::from(job),
                    creator,
                    relayer: Address::ZERO,
                    moduleHash: B256::from(U256::from(job)),
                    moduleUri: format!("oci://pond/model-{}", job % 97),
                    inputHash: B256::from(U256::from(job + 1)),
                    inputUri: format!("ipfs://inputs/{job}"),
                    minGpuCount: 1 + u32::try_from(job % 4).unwrap_or(0),
                    minGpuMemoryGb: memory,
                    minCpuCores: 8,
                    minRamGb: 32,
                    minDiskGb: 100,
                    maxDuration: 3_600,
                    maxPrice: max_price,
                    matchDeadline: block.timestamp + 86_400,
                    biddingEnd: 0,
                };
                let mut events = vec![(
                    market,
                    "JobPosted",
                    posted.encode_log_data(),
                    PondEvent::Market(IMarket::IMarketEvents::JobPosted(posted)),
                )];
                if job.is_multiple_of(2) {
                    deal += 1;
                    let provider = providers[usize::try_from(deal % 50).unwrap_or(0)];
                    let price = max_price * U256::from(9) / U256::from(10);
                    let matched = IMarket::JobMatched {
                        jobId: U256::from(job),
                        dealId: U256::from(deal),
                        provider,
                        offerId: U256::from(deal % 1_000 + 1),
                        mode: 0,
                        price,
                        refunded: max_price - price,
                    };
                    let opened = IDeals::DealOpened {
                        dealId: U256::from(deal),
                        jobId: U256::from(job),
                        provider,
                        creator,
                        offerId: U256::from(deal % 1_000 + 1),
                        price,
                        resultsCollateral: price * U256::from(2),
                        timeoutCollateral: price / U256::from(2),
                        executionDeadline: block.timestamp + 3_600,
                    };
                    events.push((
                        market,
                        "JobMatched",
                        matched.encode_log_data(),
                        PondEvent::Market(IMarket::IMarketEvents::JobMatched(matched)),
                    ));
                    events.push((
                        deals,
                        "DealOpened",
                        opened.encode_log_data(),
                        PondEvent::Deals(IDeals::IDealsEvents::DealOpened(opened)),
                    ));
                }
                for (address, name, log, event) in events {
                    let raw = record(&block, log_index, address, name, &log);
                    assert!(batch.event(&raw).await.expect("event"), "new event");
                    let meta = Meta {
                        block: number,
                        log_index,
                        tx_hash: B256::from(U256::from(number * 1_000 + log_index)),
                        timestamp: block.timestamp,
                    };
                    project::apply(&mut batch, &meta, &event)
                        .await
                        .expect("project");
                    log_index += 1;
                }
            }
            last = Some(block);
        }
        batch.commit(&last.expect("a block")).await.expect("commit");
        if first % 5_000 == 1 {
            eprintln!(
                "built {job} jobs in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Latency percentiles of one run.
struct Summary {
    sent: usize,
    errors: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    achieved: f64,
}

/// Sends `rate` requests per second for `seconds`, open loop; `body(i)` is
/// the i-th request's JSON body.
async fn run(url: &str, rate: u64, seconds: u64, body: impl Fn(u64) -> String) -> Summary {
    let (latencies, errors, achieved) = send(url, rate, seconds, body).await;
    summarize(latencies, errors, achieved)
}

fn summarize(mut latencies: Vec<f64>, errors: usize, achieved: f64) -> Summary {
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Summary {
        sent: latencies.len(),
        errors,
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: latencies[latencies.len() - 1],
        achieved,
    }
}

/// Each request's latency (ms, in order), how many failed, and the
/// achieved rate.
async fn send(
    url: &str,
    rate: u64,
    seconds: u64,
    body: impl Fn(u64) -> String,
) -> (Vec<f64>, usize, f64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1_024)
        .build()
        .expect("client");
    let total = rate * seconds;
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for i in 0..total {
        let slot = started + Duration::from_nanos(i * 1_000_000_000 / rate);
        tokio::time::sleep_until(slot).await;
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .body(body(i));
        tasks.push(tokio::spawn(async move {
            let ok = match request.send().await {
                Ok(response) if response.status().is_success() => match response.text().await {
                    Ok(text) if text.contains("\"errors\"") => {
                        report_first_error(&text);
                        false
                    }
                    Ok(_) => true,
                    Err(_) => false,
                },
                Ok(response) => {
                    report_first_error(&format!("HTTP {}", response.status()));
                    false
                }
                Err(error) => {
                    report_first_error(&error.to_string());
                    false
                }
            };
            (slot.elapsed().as_secs_f64() * 1_000.0, ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        let (ms, ok) = task.await.expect("task");
        if !ok {
            errors += 1;
        }
        latencies.push(ms);
    }
    let achieved = latencies.len() as f64 / started.elapsed().as_secs_f64();
    (latencies, errors, achieved)
}

/// Prints the first failure a run sees, so a count of errors comes with
/// its cause.
fn report_first_error(what: &str) {
    static REPORTED: std::sync::Once = std::sync::Once::new();
    REPORTED.call_once(|| eprintln!("first error: {}", &what[..what.len().min(400)]));
}

/// One list query of random shape: its shape's name and its JSON body.
fn random_list(i: u64) -> (String, String) {
    let r = random(i);
    let bit = |n: u32| (r >> n) & 1 == 1;
    let pick = |n: u32, of: u64| random(i ^ (u64::from(n) << 40)) % of;
    let mut filters = Vec::new();
    let mut shape = Vec::new();
    let cursor_for = |value: serde_json::Value, key: u64| -> String {
        serde_json::to_vec(&(value, format!("{key:078}")))
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let creator = |n: u64| {
        format!(
            "{:#x}",
            Address::repeat_byte(1 + u8::try_from(n % 50).unwrap_or(0))
        )
    };
    let (query, list) = match r % 4 {
        // jobs, the richest list: half the traffic.
        0 | 1 => {
            if bit(8) {
                let state = if bit(9) { "open" } else { "matched" };
                filters.push(format!(r#"state: \"{state}\""#));
                shape.push("state");
            }
            if bit(10) {
                filters.push(format!(r#"creator: \"{}\""#, creator(pick(1, 50))));
                shape.push("creator");
            }
            if bit(11) {
                let memory = [8, 16, 24, 48, 80][usize::try_from(pick(2, 5)).unwrap_or(0)];
                filters.push(format!("gpuMemoryGbAtLeast: {memory}"));
                shape.push("gpuMemory");
            }
            if bit(12) {
                filters.push(format!("gpuCountAtLeast: {}", 1 + pick(3, 4)));
                shape.push("gpuCount");
            }
            if bit(13) {
                let floor = 1_000_000 + pick(4, 100_000_000);
                filters.push(format!(r#"maxPriceGte: \"{floor}\""#));
                shape.push("maxPrice");
            }
            if bit(14) {
                let after = START + pick(5, JOBS / JOBS_PER_BLOCK * 2);
                filters.push(format!("postedAfter: {after}"));
                shape.push("postedAfter");
            }
            let orders = ["ID", "POSTED_AT", "MAX_PRICE", "MIN_GPU_MEMORY_GB"];
            let order = orders[usize::try_from(pick(6, 4)).unwrap_or(0)];
            let direction = if bit(15) { "DESC" } else { "ASC" };
            let key = pick(7, JOBS) + 1;
            let cursor = bit(16).then(|| match order {
                "POSTED_AT" => cursor_for(serde_json::json!(START + key / JOBS_PER_BLOCK * 2), key),
                "MAX_PRICE" => cursor_for(
                    serde_json::json!(format!("{:078}", 1_000_000 + (key * 7_919) % 100_000_000)),
                    key,
                ),
                "MIN_GPU_MEMORY_GB" => cursor_for(
                    serde_json::json!([8, 16, 24, 48, 80][usize::try_from(key % 5).unwrap_or(0)]),
                    key,
                ),
                _ => cursor_for(serde_json::json!(format!("{key:078}")), key),
            });
            let after = cursor
                .map(|c| format!(r#", after: \"{c}\""#))
                .unwrap_or_default();
            let name = format!(
                "jobs {} by {order}{}",
                if shape.is_empty() {
                    "-".to_owned()
                } else {
                    shape.join("+")
                },
                if after.is_empty() { "" } else { " after" }
            );
            (
                format!(
                    r#"jobs(first: 50, where: {{ {} }}, orderBy: {order}, direction: {direction}{after}) {{ edges {{ node {{ id maxPrice }} }} pageInfo {{ hasNextPage endCursor }} }}"#,
                    filters.join(", ")
                ),
                name,
            )
        }
        2 => {
            if bit(8) {
                filters.push(format!(r#"jobId: \"{}\""#, pick(1, JOBS) + 1));
                shape.push("jobId");
            }
            if bit(9) {
                filters.push(format!(
                    r#"provider: \"{:#x}\""#,
                    Address::repeat_byte(100 + u8::try_from(pick(2, 50)).unwrap_or(0))
                ));
                shape.push("provider");
            }
            if bit(10) {
                filters.push(format!(r#"creator: \"{}\""#, creator(pick(3, 50))));
                shape.push("creator");
            }
            if bit(11) {
                filters.push(r#"state: \"active\""#.to_owned());
                shape.push("state");
            }
            let direction = if bit(12) { "DESC" } else { "ASC" };
            let key = pick(4, JOBS / 2) + 1;
            let after = if bit(13) {
                let c = cursor_for(serde_json::json!(format!("{key:078}")), key);
                format!(r#", after: \"{c}\""#)
            } else {
                String::new()
            };
            let name = format!(
                "deals {}{}",
                if shape.is_empty() {
                    "-".to_owned()
                } else {
                    shape.join("+")
                },
                if after.is_empty() { "" } else { " after" }
            );
            (
                format!(
                    r#"deals(first: 50, where: {{ {} }}, direction: {direction}{after}) {{ edges {{ node {{ id price }} }} pageInfo {{ hasNextPage endCursor }} }}"#,
                    filters.join(", ")
                ),
                name,
            )
        }
        _ => {
            if bit(8) {
                let contract = if bit(9) { "Market" } else { "Deals" };
                filters.push(format!(r#"contract: \"{contract}\""#));
                shape.push("contract");
            }
            if bit(10) {
                let name = ["JobPosted", "JobMatched", "DealOpened"]
                    [usize::try_from(pick(1, 3)).unwrap_or(0)];
                filters.push(format!(r#"name: \"{name}\""#));
                shape.push("name");
            }
            let blocks = JOBS / JOBS_PER_BLOCK;
            let from = pick(2, blocks);
            if bit(11) {
                filters.push(format!("fromBlock: {from}"));
                shape.push("fromBlock");
            }
            if bit(12) {
                filters.push(format!("toBlock: {}", from + pick(3, blocks)));
                shape.push("toBlock");
            }
            let after = if bit(13) {
                format!(r#", after: \"{}:0\""#, pick(4, blocks))
            } else {
                String::new()
            };
            let name = format!(
                "events {}{}",
                if shape.is_empty() {
                    "-".to_owned()
                } else {
                    shape.join("+")
                },
                if after.is_empty() { "" } else { " after" }
            );
            (
                format!(
                    r#"events(first: 50, where: {{ {} }}{after}) {{ blockNumber logIndex name }}"#,
                    filters.join(", ")
                ),
                name,
            )
        }
    };
    (list, format!(r#"{{"query":"{{ {query} }}"}}"#))
}

/// The store's own cost of one filtered 51-row page (no HTTP, no
/// GraphQL), averaged over 500 sequential calls: the floor under the
/// page workload's latency.
async fn store_page_cost(store: &Store) -> f64 {
    use pond_indexer::store::{rows, Val};
    let started = Instant::now();
    for i in 0..500u64 {
        let after = format!("{:078}", random(i) % JOBS);
        let found = store
            .select(
                &rows::JOBS,
                &[
                    "state = $1".into(),
                    "min_gpu_memory_gb <= $2".into(),
                    "id > $3".into(),
                ],
                &[Val::Text("open".into()), Val::Int(24), Val::Text(after)],
                "id ASC",
                51,
            )
            .await
            .expect("select");
        assert!(!found.is_empty());
    }
    started.elapsed().as_secs_f64() * 1_000.0 / 500.0
}

/// A small deterministic generator (xorshift).
fn random(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rate = args.first().copied().unwrap_or(500);
    let seconds = args.get(1).copied().unwrap_or(20);
    let node_fields = if std::env::args().any(|a| a == "whole") {
        "id maxPrice creator minHardware { gpuCount }"
    } else {
        "id maxPrice creator"
    };
    let postgres = std::env::args().any(|a| a == "postgres");
    let path = db_path();
    let url = if postgres {
        let admin = pond_indexer::testkit::postgres_admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        format!("{base}/pond_bench_api_1m")
    } else {
        format!("sqlite://{}", path.display())
    };
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    if postgres {
        bench_database(false).await;
    }
    let store = Store::open(&url).await.expect("store");
    let events = store.event_count().await.expect("count");
    if events < 1_000_000 {
        drop(store);
        if postgres {
            bench_database(true).await;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = Store::open(&url).await.expect("store");
        let started = Instant::now();
        build(&store).await;
        if postgres {
            // What autovacuum would do soon on a live index.
            sqlx::query("ANALYZE")
                .execute(store.reader())
                .await
                .expect("analyze");
        }
        eprintln!(
            "built {} events in {:.0} s",
            store.event_count().await.expect("count"),
            started.elapsed().as_secs_f64()
        );
    }
    let store = Store::open(&url).await.expect("store");
    let events = store.event_count().await.expect("count");
    let checkpoint = store.checkpoint().await.expect("cp").expect("built");
    let select_ms = store_page_cost(&store).await;
    let progress = Arc::new(Progress::default());
    progress
        .indexed
        .store(checkpoint.number, std::sync::atomic::Ordering::Relaxed);
    progress
        .head
        .store(checkpoint.number, std::sync::atomic::Ordering::Relaxed);
    progress
        .ready
        .store(1, std::sync::atomic::Ordering::Relaxed);
    let (updates, _) = tokio::sync::broadcast::channel(16);
    let state = ApiState {
        store,
        updates,
        progress,
        chain_id: 412_346,
    };
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let url = server.url();
    println!("{events} events; {rate} requests/s for {seconds} s per workload, open loop");
    println!("store.select of one filtered 51-row page alone: {select_ms:.2} ms");
    println!(
        "| workload | requests | errors | achieved req/s | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let lookup = |i: u64| {
        let id = random(i) % JOBS + 1;
        format!(
            r#"{{"query":"{{ job(id: \"{id}\") {{ id state creator maxPrice price minHardware {{ gpuMemoryGb }} }} }}"}}"#
        )
    };
    let page = |i: u64| {
        let r = random(i);
        let state = if r.is_multiple_of(2) {
            "open"
        } else {
            "matched"
        };
        let memory = [16, 24, 48, 80][usize::try_from(r % 4).unwrap_or(0)];
        // A random starting point. A keyset cursor is the hex of the JSON
        // pair (ordering column's value, key); ordered by id, both are the
        // stored (zero-padded) id.
        let after = format!("{:078}", (r >> 8) % JOBS);
        let cursor: String = serde_json::to_vec(&(&after, &after))
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            r#"{{"query":"{{ jobs(first: 50, after: \"{cursor}\", where: {{ state: \"{state}\", gpuMemoryGbAtLeast: {memory} }}) {{ edges {{ node {{ {node_fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"}}"#
        )
    };
    let mut workloads = vec![
        ("job by id", run(&url, rate, seconds, lookup).await),
        ("filtered 50-row page", run(&url, rate, seconds, page).await),
    ];
    // Random shapes, three times as long: each shape needs its samples.
    let (latencies, errors, achieved) = send(&url, rate, seconds * 3, |i| random_list(i).1).await;
    let mut shapes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, ms) in (0u64..).zip(&latencies) {
        shapes.entry(random_list(i).0).or_default().push(*ms);
    }
    workloads.push((
        "lists of random shape",
        summarize(latencies, errors, achieved),
    ));
    for (name, summary) in workloads {
        println!(
            "| {name} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            summary.sent,
            summary.errors,
            summary.achieved,
            summary.p50,
            summary.p95,
            summary.p99,
            summary.max
        );
    }
    let mut per_shape: Vec<(String, Summary)> = shapes
        .into_iter()
        .map(|(shape, latencies)| (shape, summarize(latencies, 0, 0.0)))
        .collect();
    per_shape.sort_by(|a, b| b.1.p99.total_cmp(&a.1.p99));
    let over = per_shape.iter().filter(|(_, s)| s.p99 > 25.0).count();
    println!();
    println!(
        "{} shapes drawn; {over} with p99 over 25 ms; the 15 slowest by p99:",
        per_shape.len()
    );
    println!("| shape | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (shape, summary) in per_shape.iter().take(15) {
        println!(
            "| {shape} | {} | {:.1} | {:.1} | {:.1} |",
            summary.sent, summary.p50, summary.p99, summary.max
        );
    }
    server.stop();
}

/// Creates the PostgreSQL benchmark database if it is missing, or afresh
/// when `fresh`.
async fn bench_database(fresh: bool) {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(&pond_indexer::testkit::postgres_admin_url())
        .await
        .expect("PostgreSQL must run (POND_TEST_POSTGRES)");
    if fresh {
        sqlx::query("DROP DATABASE IF EXISTS pond_bench_api_1m")
            .execute(&mut admin)
            .await
            .expect("drop");
    }
    let exists: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = 'pond_bench_api_1m'")
            .fetch_optional(&mut admin)
            .await
            .expect("look");
    if exists.is_none() {
        sqlx::query("CREATE DATABASE pond_bench_api_1m")
            .execute(&mut admin)
            .await
            .expect("create");
    }
}
