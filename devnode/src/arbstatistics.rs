//! The ArbStatistics precompile (`0x…6f`): Nitro answers the block number
//! and zeros for the pre-Nitro ("Classic") counters it once reported.

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

use crate::precompile::{Answer, Refusal};

/// Address of the ArbStatistics precompile.
pub const ARB_STATISTICS: Address = address!("000000000000000000000000000000000000006f");

sol! {
    /// ArbStatistics's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbStatistics {
        function getStats() external view returns (uint256, uint256, uint256, uint256, uint256, uint256);
    }
}

/// Handles a call to ArbStatistics in block `number`.
///
/// # Errors
/// [`Refusal::Invalid`] for an unknown selector.
pub fn call(number: u64, input: &[u8]) -> Answer {
    use IArbStatistics::IArbStatisticsCalls as Call;
    match Call::abi_decode(input).map_err(|_| Refusal::Invalid)? {
        Call::getStats(_) => Ok(IArbStatistics::getStatsCall::abi_encode_returns_tuple(&(
            U256::from(number),
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
        ))),
    }
}
