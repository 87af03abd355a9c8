//! `pond-bindings`: what every Pond client shares.
//!
//! - one module per contract ([`token`], [`vault`], …): the alloy bindings
//!   generated from the interfaces in `contracts/abi/`;
//! - [`Deployment`]: the `deployments/<network>.json` file (chain, first
//!   block, every contract's address);
//! - [`commitment`]: the commit-reveal hashes of results and votes;
//! - [`states`]: the names of the contracts' job and deal states;
//! - [`PondRevert`]: any Pond revert decoded into the named custom error of
//!   the contract that declares it, with its arguments, also when it was
//!   bubbled up through a nested call.
//!
//! It depends on alloy and serde only, so the indexer, the GraphQL API and
//! the clients link no chain simulator and no contract build.

pub mod abi;
pub mod commitment;
mod deployment;
mod revert;
pub mod states;

pub use abi::*;
pub use deployment::{Contracts, Deployment, DeploymentFileError};
pub use revert::{PondRevert, RevertArg};

/// The shortest job duration an offer or a job may name, seconds (the
/// contracts' `MIN_JOB_DURATION`; `deploy/tests/lifecycle.rs` checks the
/// contracts refuse one second less).
pub const MIN_JOB_DURATION: u64 = 5 * 60;

/// The longest period (job duration, offer lifetime, match window) the
/// contracts accept, seconds (their `MAX_PERIOD`; checked likewise).
pub const MAX_PERIOD: u64 = 30 * 24 * 60 * 60;

/// One token unit (the token has 6 decimals).
pub const TOKEN_UNIT: u64 = 1_000_000;
