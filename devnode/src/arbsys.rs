//! The ArbSys precompile (`0x…64`): the chain facts Arbitrum contracts ask
//! for (block number and hashes, chain id, ArbOS version).

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

/// Address of the ArbSys precompile.
pub const ARB_SYS: Address = address!("0000000000000000000000000000000000000064");
/// ArbOS version reported by `arbOSVersion` (Nitro reports 55 + version).
pub const ARBOS_VERSION: u64 = 40;
/// How far back `arbBlockHash` answers, as on Arbitrum.
pub const BLOCK_HASH_WINDOW: u64 = 256;

sol! {
    /// ArbSys's interface (the part devnode serves).
    #[derive(Debug, PartialEq, Eq)]
    interface IArbSys {
        function arbBlockNumber() external view returns (uint256);
        function arbBlockHash(uint256 arbBlockNum) external view returns (bytes32);
        function arbChainID() external view returns (uint256);
        function arbOSVersion() external view returns (uint256);
        function isTopLevelCall() external view returns (bool);
        function wasMyCallersAddressAliased() external view returns (bool);

        /// The requested block is not among the last 256 (Nitro reverts too).
        error InvalidBlockNumber(uint256 requested, uint256 current);
    }
}

/// The chain facts ArbSys answers from.
pub trait ArbSysState {
    /// The current block number.
    fn block_number(&self) -> u64;
    /// The chain id.
    fn chain_id(&self) -> u64;
    /// The hash of an earlier block.
    fn block_hash(&mut self, number: u64) -> B256;
    /// Call depth of the caller (1: called by the transaction itself).
    fn caller_depth(&self) -> usize;
}

/// Handles a call to ArbSys; `Err` carries revert data.
///
/// # Errors
/// Unknown selector or bad input (empty revert data), or a block hash
/// outside the window ([`IArbSys::InvalidBlockNumber`]).
pub fn call(state: &mut dyn ArbSysState, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    use IArbSys::IArbSysCalls as Call;
    let call = Call::abi_decode(input).map_err(|_| Vec::new())?;
    let current = state.block_number();
    Ok(match call {
        Call::arbBlockNumber(_) => {
            IArbSys::arbBlockNumberCall::abi_encode_returns(&U256::from(current))
        }
        Call::arbBlockHash(c) => {
            let requested = c.arbBlockNum;
            let in_window = requested < U256::from(current)
                && U256::from(current) - requested <= U256::from(BLOCK_HASH_WINDOW);
            if !in_window {
                return Err(alloy_sol_types::SolError::abi_encode(
                    &IArbSys::InvalidBlockNumber {
                        requested,
                        current: U256::from(current),
                    },
                ));
            }
            let hash = state.block_hash(requested.to::<u64>());
            IArbSys::arbBlockHashCall::abi_encode_returns(&hash)
        }
        Call::arbChainID(_) => {
            IArbSys::arbChainIDCall::abi_encode_returns(&U256::from(state.chain_id()))
        }
        Call::arbOSVersion(_) => {
            IArbSys::arbOSVersionCall::abi_encode_returns(&U256::from(55 + ARBOS_VERSION))
        }
        Call::isTopLevelCall(_) => {
            IArbSys::isTopLevelCallCall::abi_encode_returns(&(state.caller_depth() <= 1))
        }
        Call::wasMyCallersAddressAliased(_) => {
            IArbSys::wasMyCallersAddressAliasedCall::abi_encode_returns(&false)
        }
    })
}
