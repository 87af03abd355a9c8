//! `pond-client`: what a person or an agent needs to take part in Pond.
//!
//! - [`Client`]: Pond on a chain for one account; every transaction is
//!   simulated first, so a refusal comes back as the contract's named
//!   error ([`ClientError::Revert`]) and nothing is sent; transport
//!   failures are told apart as retryable;
//! - [`salts`]: commit-reveal salts stored before each commitment;
//! - [`units`]: token amounts as people write them (`12.5`) and durations
//!   (`90m`, `2d`), parsed and printed exactly;
//! - [`hardware`]: the machine a provider offers, detected;
//! - [`matching`]: why an offer cannot serve a job, rule by rule;
//! - [`graphql`]: lists read through Pond's GraphQL API in a request per
//!   page instead of a call per item;
//! - [`keys`]: signing keys from an environment variable, a file, an
//!   encrypted JSON keystore or a BIP-39 mnemonic, and the keystore
//!   directory `pond wallet` manages.
//!
//! Keys and passwords are never printed, logged or put in an error.

mod client;
pub mod graphql;
pub mod hardware;
pub mod keys;
pub mod matching;
mod private_file;
pub mod salts;
pub mod units;

pub use client::{
    Balances, CaseInfo, Client, ClientError, DealInfo, JobData, JobInfo, JobRequest, Offer,
    OfferTerms, PostedJob, ProviderInfo, Relayed, SignedJob, SignedPermit, ValidatorInfo,
};
