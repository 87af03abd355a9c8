//! `pond-agents`: the programs that take part in Pond by themselves once
//! started.
//!
//! - [`provider`]: a provider agent — keeps the machine registered and an
//!   offer posted, takes jobs, runs them, commits, reveals, gets paid;
//! - [`validator`]: a validator agent — keeps its stake, re-runs the jobs
//!   of the cases it is drawn for, votes (commit, then reveal), and draws
//!   and resolves cases when due;
//! - [`journal`]: the crash-safe SQLite journal an agent writes before
//!   each transaction that depends on it;
//! - [`metrics`]: each agent's Prometheus metrics;
//! - [`execute`]: a job run from the chain's description of it (fetched,
//!   verified, executed, kept), shared by every role that runs jobs;
//! - [`wake`]: wake-ups from the GraphQL API's subscriptions, so an agent
//!   acts on a change at once instead of at its next poll.

mod chain;
pub mod execute;
pub mod journal;
pub mod metrics;
pub mod provider;
mod settings;
mod upkeep;
pub mod validator;
pub mod wake;

pub use chain::AgentError;
