//! `pond-indexer`: Pond's events as rows.
//!
//! - [`follow`]: the indexer (backfill in adaptive ranges, live mode,
//!   reorgs, exactly-once batches);
//! - [`store`]: SQLite and PostgreSQL behind one [`store::Store`];
//! - [`project`]: what each event does to the rows;
//! - [`events`]: decoding with the bindings generated from the ABI export;
//! - [`rpc`]: the JSON-RPC client (retries, `Retry-After`, range hints);
//! - [`amount`]: how uint256 values are stored.

pub mod amount;
pub mod events;
pub mod follow;
pub mod project;
pub mod rpc;
pub mod store;
