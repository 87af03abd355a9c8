//! `pond-indexer`: Pond's events as rows.
//!
//! - [`follow`]: the indexer (backfill in adaptive ranges, live mode,
//!   reorgs, exactly-once batches);
//! - [`feed`]: updates for subscribers, across processes via PostgreSQL
//!   LISTEN/NOTIFY;
//! - [`store`]: SQLite and PostgreSQL behind one [`store::Store`];
//! - [`project`]: what each event does to the rows;
//! - [`events`]: decoding with the bindings generated from the ABI export;
//! - [`rpc`]: the JSON-RPC client (retries, `Retry-After`, range hints);
//! - [`amount`]: how uint256 values are stored;
//! - `testkit` (feature): fresh stores and snapshots for tests.

pub mod amount;
pub mod events;
pub mod feed;
pub mod follow;
pub mod project;
pub mod rpc;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
