//! The ArbGasInfo precompile (`0x…6c`): the gas prices Arbitrum tools and
//! contracts read (fee estimation in the Arbitrum SDK, wallets, contracts
//! pricing their own calls).
//!
//! devnode has no parent chain, so every L1 price is zero, and its L2 gas
//! price is the block's base fee, which never moves by congestion (only by
//! `anvil_setNextBlockBaseFeePerGas`). The rest follows Nitro's formulas
//! and ArbOS's initial parameters.

use alloy_primitives::{address, Address, I256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

/// Address of the ArbGasInfo precompile.
pub const ARB_GAS_INFO: Address = address!("000000000000000000000000000000000000006c");
/// Gas charged for writing a new storage slot, in ArbGas (Nitro's
/// `StorageWriteCost`).
const STORAGE_WRITE_COST: u64 = 20_000;
/// ArbOS's initial L2 speed limit, gas per second.
const SPEED_LIMIT_PER_SECOND: u64 = 7_000_000;
/// ArbOS's initial L2 pricing inertia and backlog tolerance.
const PRICING_INERTIA: u64 = 102;
const BACKLOG_TOLERANCE: u64 = 10;
/// The L1 base fee estimate, wei per L1 gas: devnode has no parent chain.
pub const L1_BASE_FEE_ESTIMATE: U256 = U256::ZERO;
/// ArbOS's initial L1 base fee estimate inertia.
const L1_INERTIA: u64 = 10;

sol! {
    /// ArbGasInfo's interface (the part devnode serves).
    #[derive(Debug, PartialEq, Eq)]
    interface IArbGasInfo {
        function getPricesInWeiWithAggregator(address aggregator) external view returns (uint256, uint256, uint256, uint256, uint256, uint256);
        function getPricesInWei() external view returns (uint256, uint256, uint256, uint256, uint256, uint256);
        function getPricesInArbGasWithAggregator(address aggregator) external view returns (uint256, uint256, uint256);
        function getPricesInArbGas() external view returns (uint256, uint256, uint256);
        function getGasAccountingParams() external view returns (uint256, uint256, uint256);
        function getMinimumGasPrice() external view returns (uint256);
        function getL1BaseFeeEstimate() external view returns (uint256);
        function getL1GasPriceEstimate() external view returns (uint256);
        function getL1BaseFeeEstimateInertia() external view returns (uint64);
        function getCurrentTxL1GasFees() external view returns (uint256);
        function getGasBacklog() external view returns (uint64);
        function getPricingInertia() external view returns (uint64);
        function getGasBacklogTolerance() external view returns (uint64);
        function getL1PricingSurplus() external view returns (int256);
        function getL1RewardRate() external view returns (uint64);
        function getL1RewardRecipient() external view returns (address);
    }
}

/// The prices ArbGasInfo answers from.
#[derive(Clone, Copy, Debug)]
pub struct GasPrices {
    /// The block's base fee, wei per gas.
    pub base_fee: u64,
    /// The lowest base fee (ArbOS's minimum, devnode's starting fee).
    pub minimum: u64,
    /// The most gas one block's transactions may use.
    pub block_gas_limit: u64,
}

/// Handles a call to ArbGasInfo; `Err` carries revert data (empty for an
/// unknown selector or bad input, as Nitro).
///
/// # Errors
/// Unknown selector or bad input.
pub fn call(prices: GasPrices, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    use IArbGasInfo::IArbGasInfoCalls as Call;
    let call = Call::abi_decode(input).map_err(|_| Vec::new())?;
    let base_fee = U256::from(prices.base_fee);
    let minimum = U256::from(prices.minimum);
    // No parent chain: nothing is charged for L1 data.
    let in_wei = (
        U256::ZERO,
        U256::ZERO,
        base_fee * U256::from(STORAGE_WRITE_COST),
        minimum.min(base_fee),
        base_fee.saturating_sub(minimum),
        base_fee,
    );
    let in_arb_gas = (U256::ZERO, U256::ZERO, U256::from(STORAGE_WRITE_COST));
    let limit = U256::from(prices.block_gas_limit);
    Ok(match call {
        Call::getPricesInWeiWithAggregator(_) => {
            IArbGasInfo::getPricesInWeiWithAggregatorCall::abi_encode_returns_tuple(&in_wei)
        }
        Call::getPricesInWei(_) => {
            IArbGasInfo::getPricesInWeiCall::abi_encode_returns_tuple(&in_wei)
        }
        Call::getPricesInArbGasWithAggregator(_) => {
            IArbGasInfo::getPricesInArbGasWithAggregatorCall::abi_encode_returns_tuple(&in_arb_gas)
        }
        Call::getPricesInArbGas(_) => {
            IArbGasInfo::getPricesInArbGasCall::abi_encode_returns_tuple(&in_arb_gas)
        }
        Call::getGasAccountingParams(_) => {
            IArbGasInfo::getGasAccountingParamsCall::abi_encode_returns_tuple(&(
                U256::from(SPEED_LIMIT_PER_SECOND),
                limit,
                limit,
            ))
        }
        Call::getMinimumGasPrice(_) => {
            IArbGasInfo::getMinimumGasPriceCall::abi_encode_returns(&minimum)
        }
        Call::getL1BaseFeeEstimate(_) => {
            IArbGasInfo::getL1BaseFeeEstimateCall::abi_encode_returns(&L1_BASE_FEE_ESTIMATE)
        }
        Call::getL1GasPriceEstimate(_) => {
            IArbGasInfo::getL1GasPriceEstimateCall::abi_encode_returns(&U256::ZERO)
        }
        Call::getL1BaseFeeEstimateInertia(_) => {
            IArbGasInfo::getL1BaseFeeEstimateInertiaCall::abi_encode_returns(&L1_INERTIA)
        }
        Call::getCurrentTxL1GasFees(_) => {
            IArbGasInfo::getCurrentTxL1GasFeesCall::abi_encode_returns(&U256::ZERO)
        }
        Call::getGasBacklog(_) => IArbGasInfo::getGasBacklogCall::abi_encode_returns(&0),
        Call::getPricingInertia(_) => {
            IArbGasInfo::getPricingInertiaCall::abi_encode_returns(&PRICING_INERTIA)
        }
        Call::getGasBacklogTolerance(_) => {
            IArbGasInfo::getGasBacklogToleranceCall::abi_encode_returns(&BACKLOG_TOLERANCE)
        }
        Call::getL1PricingSurplus(_) => {
            IArbGasInfo::getL1PricingSurplusCall::abi_encode_returns(&I256::ZERO)
        }
        Call::getL1RewardRate(_) => IArbGasInfo::getL1RewardRateCall::abi_encode_returns(&0),
        Call::getL1RewardRecipient(_) => {
            IArbGasInfo::getL1RewardRecipientCall::abi_encode_returns(&Address::ZERO)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICES: GasPrices = GasPrices {
        base_fee: 150_000_000,
        minimum: 100_000_000,
        block_gas_limit: 32_000_000,
    };

    #[test]
    fn prices_follow_the_base_fee_with_nothing_for_l1() {
        let out = call(PRICES, &IArbGasInfo::getPricesInWeiCall {}.abi_encode()).unwrap();
        let prices = IArbGasInfo::getPricesInWeiCall::abi_decode_returns(&out).unwrap();
        assert_eq!(prices._0, U256::ZERO, "per L2 transaction");
        assert_eq!(prices._1, U256::ZERO, "per L1 calldata byte");
        assert_eq!(prices._2, U256::from(150_000_000u64 * 20_000));
        assert_eq!(prices._3, U256::from(100_000_000));
        assert_eq!(prices._4, U256::from(50_000_000));
        assert_eq!(prices._5, U256::from(150_000_000));
        let out = call(PRICES, &IArbGasInfo::getMinimumGasPriceCall {}.abi_encode()).unwrap();
        assert_eq!(
            IArbGasInfo::getMinimumGasPriceCall::abi_decode_returns(&out).unwrap(),
            U256::from(100_000_000)
        );
    }

    #[test]
    fn an_unknown_selector_reverts_without_data() {
        assert_eq!(call(PRICES, &[0xde, 0xad, 0xbe, 0xef]), Err(Vec::new()));
        assert_eq!(call(PRICES, &[]), Err(Vec::new()));
    }
}
