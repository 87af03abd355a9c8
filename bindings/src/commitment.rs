//! The commit-reveal hashes, as the contracts compute them
//! (`pond_common::commitment`): what a provider commits for its result,
//! and what a validator commits for its vote.

use alloy::{
    primitives::{keccak256, Address, B256, U256},
    sol_types::SolValue,
};

/// A provider's commitment to `result` for deal `deal`:
/// `keccak256(abi.encode(deal, provider, result, salt))`.
#[must_use]
pub fn result_commitment(deal: U256, provider: Address, result: B256, salt: B256) -> B256 {
    keccak256((deal, provider, result, salt).abi_encode())
}

/// A validator's commitment to its vote in case `case`:
/// `keccak256(abi.encode(case, validator, result, outputDigest, salt))`.
#[must_use]
pub fn vote_commitment(
    case: U256,
    validator: Address,
    result: B256,
    output_digest: B256,
    salt: B256,
) -> B256 {
    keccak256((case, validator, result, output_digest, salt).abi_encode())
}
