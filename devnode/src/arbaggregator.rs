//! The ArbAggregator precompile (`0x…6d`): the batch posters that carry
//! the chain's data to L1, and their fee collectors.
//!
//! devnode has no L1, so its one batch poster is the one every fresh
//! Arbitrum chain starts with, the sequencer address, collecting its own
//! fees. The table cannot grow: `addBatchPoster` and `setFeeCollector`
//! refuse (a plain revert, as Nitro refuses a caller that may not change
//! it) instead of keeping posters that would never post.

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

use crate::precompile::{Answer, Refusal};

/// Address of the ArbAggregator precompile.
pub const ARB_AGGREGATOR: Address = address!("000000000000000000000000000000000000006d");

/// The batch poster of a fresh Arbitrum chain (ASCII "sequencer"); it is
/// also its own fee collector.
pub const BATCH_POSTER: Address = crate::chain::SEQUENCER;

sol! {
    /// ArbAggregator's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbAggregator {
        function getPreferredAggregator(address addr) external view returns (address, bool);
        function getDefaultAggregator() external view returns (address);
        function getBatchPosters() external view returns (address[] memory);
        function addBatchPoster(address newBatchPoster) external;
        function getFeeCollector(address batchPoster) external view returns (address);
        function setFeeCollector(address batchPoster, address newFeeCollector) external;
        function getTxBaseFee(address aggregator) external view returns (uint256);
        function setTxBaseFee(address aggregator, uint256 feeInL1Gas) external;
    }
}

/// Handles a call to ArbAggregator.
///
/// # Errors
/// [`Refusal::Invalid`] for an unknown selector or bad arguments; a plain
/// revert for an unknown batch poster or a change to the table.
pub fn call(input: &[u8]) -> Answer {
    use IArbAggregator::IArbAggregatorCalls as Call;
    Ok(
        match Call::abi_decode(input).map_err(|_| Refusal::Invalid)? {
            Call::getPreferredAggregator(_) => {
                IArbAggregator::getPreferredAggregatorCall::abi_encode_returns_tuple(&(
                    BATCH_POSTER,
                    true,
                ))
            }
            Call::getDefaultAggregator(_) => {
                IArbAggregator::getDefaultAggregatorCall::abi_encode_returns(&BATCH_POSTER)
            }
            Call::getBatchPosters(_) => {
                IArbAggregator::getBatchPostersCall::abi_encode_returns(&vec![BATCH_POSTER])
            }
            Call::getFeeCollector(c) if c.batchPoster == BATCH_POSTER => {
                IArbAggregator::getFeeCollectorCall::abi_encode_returns(&BATCH_POSTER)
            }
            Call::getTxBaseFee(_) => {
                IArbAggregator::getTxBaseFeeCall::abi_encode_returns(&U256::ZERO)
            }
            // Deprecated and ignored by Nitro, for anyone.
            Call::setTxBaseFee(_) => Vec::new(),
            Call::getFeeCollector(_) | Call::addBatchPoster(_) | Call::setFeeCollector(_) => {
                return Err(Refusal::Revert(Vec::new()))
            }
        },
    )
}
