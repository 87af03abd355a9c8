//! How an ArbOS precompile refuses a call, shared by the small precompiles.
//!
//! Nitro tells two failures apart: a call it cannot dispatch (unknown or
//! not yet active selector, arguments that do not decode, value sent to a
//! method that takes none, a delegate call) reverts with empty data and
//! consumes all the gas it was given; a method that runs and fails (a
//! custom error, or a plain failure such as "not the chain owner") reverts
//! with its data and charges only the gas used.

/// Why a precompile call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not dispatchable: empty revert data, all gas consumed.
    Invalid,
    /// The method failed: this revert data (empty for a plain failure),
    /// only the gas used is charged.
    Revert(Vec<u8>),
}

/// A precompile's answer: the ABI-encoded output, or the refusal.
pub type Answer = Result<Vec<u8>, Refusal>;

/// The custom error `error`, as revert data.
pub fn revert(error: &impl alloy_sol_types::SolError) -> Refusal {
    Refusal::Revert(error.abi_encode())
}
