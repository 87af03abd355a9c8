//! `pond-agents`: the programs that take part in Pond by themselves once
//! started.
//!
//! - [`provider`]: a provider agent — keeps the machine registered and an
//!   offer posted, takes jobs, runs them, commits, reveals, gets paid;
//! - [`journal`]: the crash-safe SQLite journal an agent writes before
//!   each transaction that depends on it;
//! - [`execute`]: a job run from the chain's description of it (fetched,
//!   verified, executed, kept), shared by every role that runs jobs.

pub mod execute;
pub mod journal;
pub mod provider;
