//! `BlockHashBeacon`: randomness from the hash of a later block.
//!
//! `requestRandomness` names the next Arbitrum block as the round; once that
//! block exists its hash (mixed with the round number) is the round's
//! randomness. ArbSys answers for the last 256 blocks and Arbitrum's
//! EIP-2935 history contract for the last 393 168 (about 27 hours at four
//! blocks a second), so a round keeps the same randomness however late it
//! is read within that window: nobody can re-roll a draw by letting it wait
//! a few minutes. Only a round older than the whole history (or, on a chain
//! without the history contract, older than 256 blocks) has no randomness
//! any more: `randomness` returns zero and the caller requests a new round.
//! The contract keeps no state. Any contract with the same two functions —
//! a VRF, for instance — can replace it.
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

use alloy_primitives::{b256, keccak256, B256, U256};
use alloy_sol_types::SolValue;
use pond_common::interfaces::{
    bubble, IArbSys, Revert, ARB_SYS, HISTORY_ARBOS_VERSION, HISTORY_SERVE_WINDOW, HISTORY_STORAGE,
};
use stylus_sdk::prelude::*;

/// Blocks between a request and its round.
pub const ROUND_DELAY: u64 = 1;
/// The code hash of an account without code.
const KECCAK_EMPTY: B256 =
    b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// How far back ArbSys answers for block hashes.
pub const HASH_HISTORY: u64 = 256;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// The round's block does not exist yet.
        #[derive(Debug)]
        error RandomnessNotReady(uint256 round, uint256 currentBlock);
        /// The history contract failed to answer for a round inside its
        /// window (out of gas, say): the draw must not fall back to a new
        /// round because of it.
        #[derive(Debug)]
        error HistoryUnreadable(uint256 round);
    }
}
pub use errors::*;

/// Everything the beacon can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum BeaconError {
    RandomnessNotReady(RandomnessNotReady),
    HistoryUnreadable(HistoryUnreadable),
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
    /// or zero when no block hash of the round can be read any more: older
    /// than [`HISTORY_SERVE_WINDOW`] blocks, or older than [`HASH_HISTORY`]
    /// on a chain without the history contract.
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
        let age = current - round;
        let hash = if age <= U256::from(HASH_HISTORY) {
            IArbSys::new(ARB_SYS)
                .arb_block_hash(self, round)
                .map_err(bubble)?
        } else if age <= U256::from(HISTORY_SERVE_WINDOW) {
            self.historic_hash(round)?
        } else {
            B256::ZERO
        };
        if hash.is_zero() {
            return Ok(B256::ZERO);
        }
        Ok(keccak256((hash, round).abi_encode()))
    }
}

impl BlockHashBeacon {
    fn current_block(&self) -> BeaconResult<U256> {
        IArbSys::new(ARB_SYS).arb_block_number(self).map_err(bubble)
    }

    /// The round's hash from the EIP-2935 history contract, or zero where
    /// the chain has none (before ArbOS 40, or no code there) or the ring
    /// never held it (a block before the contract existed).
    ///
    /// The ArbOS version is checked, not only the code: on an older chain
    /// anyone could put Ethereum's history contract at that address (it is
    /// deployed keylessly), which reverts for Arbitrum block numbers and
    /// would turn every late draw into a failure instead of a new round.
    /// Any failure of Arbitrum's contract reverts instead of reading as
    /// "expired": otherwise a caller that limits the gas it gives the
    /// beacon could starve the inner call (it gets 63/64 of what is left)
    /// and so re-roll the draw.
    fn historic_hash(&self, round: U256) -> BeaconResult<B256> {
        let version = IArbSys::new(ARB_SYS).arb_os_version(self).map_err(bubble)?;
        let code_hash = self.vm().code_hash(HISTORY_STORAGE);
        if version < U256::from(HISTORY_ARBOS_VERSION)
            || code_hash.is_zero()
            || code_hash == KECCAK_EMPTY
        {
            return Ok(B256::ZERO);
        }
        match self
            .vm()
            .static_call(&self, HISTORY_STORAGE, &round.to_be_bytes::<32>())
        {
            Ok(answer) if answer.len() == 32 => Ok(B256::from_slice(&answer)),
            _ => Err(Revert::Own(HistoryUnreadable { round }.into())),
        }
    }
}
