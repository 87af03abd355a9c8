//! Stores for tests and benchmarks (feature `testkit`): a fresh SQLite
//! file, a fresh PostgreSQL database on the local server, and whole-store
//! snapshots and checksums for comparing two indexes. Test code: it panics
//! on any failure.

#![allow(clippy::missing_panics_doc)]

use std::sync::atomic::{AtomicU32, Ordering};

use alloy::primitives::keccak256;

use crate::store::{rows::TABLES, EventRecord, Row, Store};

/// Where the test PostgreSQL server is (`POND_TEST_POSTGRES`, else the
/// local server with trust auth on loopback).
#[must_use]
pub fn postgres_admin_url() -> String {
    std::env::var("POND_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test of any process uses.
#[must_use]
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A new SQLite database file URL in the temporary directory.
#[must_use]
pub fn sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!("{}.db", unique("pond_indexer")));
    format!("sqlite://{}", path.display())
}

/// A new, empty PostgreSQL database's URL. Its name starts with
/// `pond_test_`, which `scripts/test.sh` clears before each run.
pub async fn postgres_url() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = unique("pond_test");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must run for the tests (scripts/test.sh starts it)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base)
        .to_owned();
    format!("{base}/{name}")
}

/// Both backends, fresh.
pub async fn both() -> Vec<(&'static str, String)> {
    vec![("sqlite", sqlite_url()), ("postgres", postgres_url().await)]
}

/// Every projection table's rows, for comparing two stores.
pub async fn snapshot(store: &Store) -> Vec<(&'static str, Vec<Row>)> {
    let mut out = Vec::new();
    for table in TABLES {
        out.push((table.name, store.all_rows(table).await.expect("rows")));
    }
    out
}

/// keccak256 over every projection row and every raw event, in order: two
/// stores with the same checksum hold the same index.
pub async fn checksum(store: &Store) -> String {
    let mut text = String::new();
    for (_, rows) in snapshot(store).await {
        for row in rows {
            text.push_str(&serde_json::to_string(&row).expect("json"));
        }
    }
    let mut after = (0, 0);
    loop {
        let events = store.events_after(after, 10_000).await.expect("events");
        let Some(last) = events.last() else { break };
        after = (last.block_number, last.log_index);
        for e in &events {
            text.push_str(&serde_json::to_string(e).expect("json"));
        }
    }
    format!("{:#x}", keccak256(text.as_bytes()))
}

/// Asserts that `store` holds exactly the index `fresh` holds: every
/// projection row and every raw event. Returns the events.
pub async fn assert_same_index(store: &Store, fresh: &Store) -> Vec<EventRecord> {
    assert_eq!(snapshot(store).await, snapshot(fresh).await, "projections");
    let events = store.events_after((0, 0), 1_000_000).await.expect("events");
    assert_eq!(
        events,
        fresh.events_after((0, 0), 1_000_000).await.expect("events"),
        "raw events"
    );
    events
}

/// Waits until `store`'s checkpoint is the head block (number and hash) of
/// the chain behind `provider`, checking every 50 ms; after `within`, an
/// error saying what was last seen.
///
/// # Errors
/// The index did not reach the head in time.
pub async fn caught_up<P: alloy::providers::Provider>(
    provider: &P,
    store: &Store,
    within: std::time::Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let head = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("head block")
            .expect("a head block");
        let checkpoint = store.checkpoint().await.expect("checkpoint");
        let head_hash = format!("{:#x}", head.header.hash);
        if checkpoint
            .as_ref()
            .is_some_and(|cp| cp.number == head.header.number && cp.hash == head_hash)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the index did not reach head {} ({head_hash}) within {within:?}; its checkpoint: {checkpoint:?}",
                head.header.number
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
