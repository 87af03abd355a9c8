//! Stores for the tests: a fresh SQLite file, a fresh PostgreSQL database.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};

use pond_indexer::store::{rows::TABLES, Row, Store};

/// Where the test PostgreSQL server is (trust auth on loopback).
pub fn postgres_admin_url() -> String {
    std::env::var("POND_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A new SQLite database file URL.
pub fn sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!("{}.db", unique("pond_indexer")));
    format!("sqlite://{}", path.display())
}

/// A new, empty PostgreSQL database URL.
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
