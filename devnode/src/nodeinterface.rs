//! NodeInterface (`0x…c8`): the virtual contract Arbitrum nodes answer in
//! `eth_call` and `eth_estimateGas` only.
//!
//! Nothing lives at the address (no code): a transaction or a contract
//! calling it reaches an empty account, as on Nitro. Only a top-level call
//! whose `to` is [`NODE_INTERFACE`] is answered here. devnode has no L1,
//! so the L1 part of every estimate is zero, the L1 block of an L2 block is
//! its own number (devnode's `NUMBER` is the L2 number), and what needs L1
//! batches or retryable tickets (`findBatchContainingBlock`,
//! `getL1Confirmations`, `constructOutboxProof`,
//! `legacyLookupMessageBatchProof`, `estimateRetryableTicket`) reverts.
//! Every failure is a bare "execution reverted" without data, as Nitro
//! drops the data of the virtual contract's errors.

use alloy_primitives::{address, Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

use crate::chain::ChainError;

/// Address of NodeInterface.
pub const NODE_INTERFACE: Address = address!("00000000000000000000000000000000000000c8");
/// Address of NodeInterfaceDebug (retryables' details, "not meant for
/// public consumption" on Nitro), whose every call devnode refuses.
pub const NODE_INTERFACE_DEBUG: Address = address!("00000000000000000000000000000000000000c9");

sol! {
    /// NodeInterface's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface INodeInterface {
        function estimateRetryableTicket(address sender, uint256 deposit, address to, uint256 l2CallValue, address excessFeeRefundAddress, address callValueRefundAddress, bytes calldata data) external;
        function constructOutboxProof(uint64 size, uint64 leaf) external view returns (bytes32 send, bytes32 root, bytes32[] memory proof);
        function findBatchContainingBlock(uint64 blockNum) external view returns (uint64 batch);
        function getL1Confirmations(bytes32 blockHash) external view returns (uint64 confirmations);
        function gasEstimateComponents(address to, bool contractCreation, bytes calldata data) external payable returns (uint64 gasEstimate, uint64 gasEstimateForL1, uint256 baseFee, uint256 l1BaseFeeEstimate);
        function gasEstimateL1Component(address to, bool contractCreation, bytes calldata data) external payable returns (uint64 gasEstimateForL1, uint256 baseFee, uint256 l1BaseFeeEstimate);
        function legacyLookupMessageBatchProof(uint256 batchNum, uint64 index) external view returns (bytes32[] memory proof, uint256 path, address l2Sender, address l1Dest, uint256 l2Block, uint256 l1Block, uint256 timestamp, uint256 amount, bytes memory calldataForL1);
        function nitroGenesisBlock() external pure returns (uint256 number);
        function blockL1Num(uint64 l2BlockNum) external view returns (uint64 l1BlockNum);
        function l2BlockRangeForL1(uint64 blockNum) external view returns (uint64 firstBlock, uint64 lastBlock);
    }
}

/// What NodeInterface answers from: the block the call runs in and a way
/// to estimate another call like it.
pub trait NodeFacts {
    /// The number of the block the call runs in.
    fn block_number(&self) -> u64;
    /// That block's base fee, wei per gas.
    fn base_fee(&self) -> U256;
    /// `eth_estimateGas` of the same call (same sender, value and block)
    /// sent to `to` (a creation if `None`) with `data`.
    ///
    /// # Errors
    /// The estimate's own.
    fn estimate(&self, to: Option<Address>, data: Bytes) -> Result<u64, ChainError>;
}

/// Answers a call to NodeInterface carrying `value`.
///
/// # Errors
/// [`ChainError::Reverted`] without data for an unknown selector, bad
/// arguments, value sent to a method that takes none, a block that does
/// not exist yet, or anything that needs L1; an estimate's own error.
pub fn call(facts: &dyn NodeFacts, value: U256, input: &[u8]) -> Result<Bytes, ChainError> {
    use INodeInterface::INodeInterfaceCalls as Call;
    let refused = || ChainError::Reverted(Bytes::new());
    let call = Call::abi_decode(input).map_err(|_| refused())?;
    let payable = matches!(
        call,
        Call::gasEstimateComponents(_) | Call::gasEstimateL1Component(_)
    );
    if !payable && !value.is_zero() {
        return Err(refused());
    }
    let number = facts.block_number();
    let base_fee = facts.base_fee();
    let l1_estimate = crate::arbgasinfo::L1_BASE_FEE_ESTIMATE;
    let output = match call {
        Call::gasEstimateComponents(c) => {
            let to = target(c.to, c.contractCreation)?;
            let gas = facts.estimate(to, c.data)?;
            INodeInterface::gasEstimateComponentsCall::abi_encode_returns(
                &INodeInterface::gasEstimateComponentsReturn {
                    gasEstimate: gas,
                    gasEstimateForL1: 0,
                    baseFee: base_fee,
                    l1BaseFeeEstimate: l1_estimate,
                },
            )
        }
        Call::gasEstimateL1Component(c) => {
            target(c.to, c.contractCreation)?;
            INodeInterface::gasEstimateL1ComponentCall::abi_encode_returns(
                &INodeInterface::gasEstimateL1ComponentReturn {
                    gasEstimateForL1: 0,
                    baseFee: base_fee,
                    l1BaseFeeEstimate: l1_estimate,
                },
            )
        }
        // A chain that started as Nitro.
        Call::nitroGenesisBlock(_) => {
            INodeInterface::nitroGenesisBlockCall::abi_encode_returns(&U256::ZERO)
        }
        Call::blockL1Num(c) if c.l2BlockNum <= number => {
            INodeInterface::blockL1NumCall::abi_encode_returns(&c.l2BlockNum)
        }
        Call::l2BlockRangeForL1(c) if c.blockNum <= number => {
            INodeInterface::l2BlockRangeForL1Call::abi_encode_returns(
                &INodeInterface::l2BlockRangeForL1Return {
                    firstBlock: c.blockNum,
                    lastBlock: c.blockNum,
                },
            )
        }
        Call::blockL1Num(_)
        | Call::l2BlockRangeForL1(_)
        | Call::estimateRetryableTicket(_)
        | Call::constructOutboxProof(_)
        | Call::findBatchContainingBlock(_)
        | Call::getL1Confirmations(_)
        | Call::legacyLookupMessageBatchProof(_) => return Err(refused()),
    };
    Ok(Bytes::from(output))
}

/// The estimated call's target; NodeInterface cannot estimate itself.
fn target(to: Address, creation: bool) -> Result<Option<Address>, ChainError> {
    if creation {
        return Ok(None);
    }
    if to == NODE_INTERFACE || to == NODE_INTERFACE_DEBUG {
        return Err(ChainError::Reverted(Bytes::new()));
    }
    Ok(Some(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts;

    impl NodeFacts for Facts {
        fn block_number(&self) -> u64 {
            7
        }
        fn base_fee(&self) -> U256 {
            U256::from(100_000_000u64)
        }
        fn estimate(&self, to: Option<Address>, data: Bytes) -> Result<u64, ChainError> {
            Ok(if to.is_none() { 53_000 } else { 21_000 } + data.len() as u64)
        }
    }

    fn components(
        to: Address,
        creation: bool,
    ) -> Result<INodeInterface::gasEstimateComponentsReturn, ChainError> {
        let input = INodeInterface::gasEstimateComponentsCall {
            to,
            contractCreation: creation,
            data: Bytes::from_static(&[1, 2, 3]),
        }
        .abi_encode();
        let output = call(&Facts, U256::from(5), &input)?;
        Ok(
            INodeInterface::gasEstimateComponentsCall::abi_decode_returns(&output)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn gas_estimate_components_are_the_estimate_with_no_l1_part() {
        let answer = components(Address::repeat_byte(1), false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (answer.gasEstimate, answer.gasEstimateForL1, answer.baseFee),
            (21_003, 0, U256::from(100_000_000u64))
        );
        let created = components(Address::ZERO, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.gasEstimate, 53_003);
        assert!(matches!(
            components(NODE_INTERFACE, false),
            Err(ChainError::Reverted(data)) if data.is_empty()
        ));
    }

    #[test]
    fn l1_readings_follow_the_l2_number_and_the_rest_reverts_without_data() {
        let ask = |input: Vec<u8>, value: u64| call(&Facts, U256::from(value), &input);
        let genesis = ask(INodeInterface::nitroGenesisBlockCall {}.abi_encode(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(U256::from_be_slice(&genesis), U256::ZERO);
        let l1 = ask(
            INodeInterface::blockL1NumCall { l2BlockNum: 7 }.abi_encode(),
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(U256::from_be_slice(&l1), U256::from(7));
        for refused in [
            ask(
                INodeInterface::blockL1NumCall { l2BlockNum: 8 }.abi_encode(),
                0,
            ),
            ask(INodeInterface::nitroGenesisBlockCall {}.abi_encode(), 1),
            ask(
                INodeInterface::findBatchContainingBlockCall { blockNum: 1 }.abi_encode(),
                0,
            ),
            ask(vec![0xde, 0xad, 0xbe, 0xef], 0),
            ask(Vec::new(), 0),
        ] {
            assert!(
                matches!(&refused, Err(ChainError::Reverted(data)) if data.is_empty()),
                "{refused:?}"
            );
        }
    }
}
