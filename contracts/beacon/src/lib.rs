//! `BlockHashBeacon`: randomness from the hash of a later block.
//!
//! `requestRandomness` names the next Arbitrum block as the round; once that
//! block exists its hash (mixed with the round number) is the round's
//! randomness. Arbitrum keeps the last 256 block hashes readable through
//! ArbSys, so a round older than that has no randomness any more and
//! `randomness` returns zero: the caller requests a new round. The
//! contract keeps no state. Any contract with the same two functions — a
//! VRF, for instance — can replace it.
//!
//! What the sequencer could bias, and why it does not pay, is discussed in
//! `docs/protocol.md`.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{keccak256, B256, U256};
use alloy_sol_types::SolValue;
use pond_common::interfaces::{bubble, IArbSys, Revert, ARB_SYS};
use stylus_sdk::prelude::*;

/// Blocks between a request and its round.
pub const ROUND_DELAY: u64 = 1;
/// How far back block hashes stay readable.
pub const HASH_HISTORY: u64 = 256;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// The round's block does not exist yet.
        #[derive(Debug)]
        error RandomnessNotReady(uint256 round, uint256 currentBlock);
    }
}
pub use errors::*;

/// Everything the beacon can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum BeaconError {
    RandomnessNotReady(RandomnessNotReady),
}

/// The beacon's result type: its own errors or ArbSys's revert data.
pub type BeaconResult<T> = Result<T, Revert<BeaconError>>;

/// The beacon (stateless).
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct BlockHashBeacon;

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for BlockHashBeacon {}

#[public]
impl BlockHashBeacon {
    /// Returns the round to wait for: the next Arbitrum block.
    ///
    /// # Errors
    /// ArbSys's error.
    pub fn request_randomness(&mut self) -> BeaconResult<U256> {
        let current = self.current_block()?;
        Ok(current + U256::from(ROUND_DELAY))
    }

    /// The round's randomness: `keccak256(abi.encode(blockhash(round), round))`,
    /// or zero when the round is older than [`HASH_HISTORY`] blocks.
    ///
    /// # Errors
    /// [`RandomnessNotReady`] until the round's block is in the past.
    pub fn randomness(&self, round: U256) -> BeaconResult<B256> {
        let current = self.current_block()?;
        if current <= round {
            return Err(Revert::Own(
                RandomnessNotReady {
                    round,
                    currentBlock: current,
                }
                .into(),
            ));
        }
        if current - round > U256::from(HASH_HISTORY) {
            return Ok(B256::ZERO);
        }
        let hash = IArbSys::new(ARB_SYS)
            .arb_block_hash(self, round)
            .map_err(bubble)?;
        Ok(keccak256((hash, round).abi_encode()))
    }
}

impl BlockHashBeacon {
    fn current_block(&self) -> BeaconResult<U256> {
        IArbSys::new(ARB_SYS).arb_block_number(self).map_err(bubble)
    }
}
