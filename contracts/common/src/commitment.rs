//! The commit-reveal scheme shared by providers (for deals) and validators
//! (for mediation votes).

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;

/// The commitment published before revealing a result:
/// `keccak256(abi.encode(id, account, resultHash, salt))`, where `id` is
/// the deal id (providers) or the case id (validators). Binding the id and
/// the account stops a commitment being copied to another deal or voter.
#[must_use]
pub fn result_commitment(id: U256, account: Address, result_hash: B256, salt: B256) -> B256 {
    keccak256((id, account, result_hash, salt).abi_encode())
}

/// A validator's vote commitment:
/// `keccak256(abi.encode(caseId, validator, resultHash, outputDigest, salt))`.
/// The output digest binds the vote to the outputs themselves (see
/// `docs/protocol.md`), so a vote cannot be copied from the public result hash.
#[must_use]
pub fn vote_commitment(
    case_id: U256,
    validator: Address,
    result_hash: B256,
    output_digest: B256,
    salt: B256,
) -> B256 {
    keccak256((case_id, validator, result_hash, output_digest, salt).abi_encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, b256};

    #[test]
    fn commitment_is_abi_encode_of_the_four_fields() {
        let account = address!("00000000000000000000000000000000000000aa");
        let result = b256!("1111111111111111111111111111111111111111111111111111111111111111");
        let salt = b256!("2222222222222222222222222222222222222222222222222222222222222222");
        let mut encoded = [0u8; 128];
        encoded[31] = 7;
        encoded[44..64].copy_from_slice(account.as_slice());
        encoded[64..96].copy_from_slice(result.as_slice());
        encoded[96..128].copy_from_slice(salt.as_slice());
        assert_eq!(
            result_commitment(U256::from(7), account, result, salt),
            keccak256(encoded)
        );
        assert_ne!(
            result_commitment(U256::from(8), account, result, salt),
            result_commitment(U256::from(7), account, result, salt)
        );
    }
}
