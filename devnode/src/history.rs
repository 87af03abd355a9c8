//! Arbitrum's EIP-2935 block-hash history (ArbOS 40 and later).
//!
//! Every block's hash is recorded in the storage of the history contract at [`HISTORY_STORAGE`], a ring of
//! [`HISTORY_SERVE_WINDOW`] slots keyed by Arbitrum block number. Anyone
//! reads it by calling the contract with a 32-byte block number: it answers
//! that block's hash for the last 393 168 blocks and reverts outside them.
//! Arbitrum widened Ethereum's ring (8 191 slots) and keys it by the L2
//! block number from ArbSys, because `NUMBER` is the L1 block number there.
//!
//! Nitro writes a block's hash with a system call at the start of the next
//! block; devnode writes the slot directly (EIP-2935 allows either) as the
//! block's last change (see `Chain::record_block_hash` for why readers see
//! no difference), and runs [`HISTORY_CODE`], its own bytecode with the same
//! behaviour, for reads.

use alloy_primitives::{address, Address, U256};

/// Address of the history contract (as on Ethereum).
pub const HISTORY_STORAGE: Address = address!("0000F90827F1C53a10cb7A02335B175320002935");

/// Slots in Arbitrum's ring: how many past block hashes it answers for.
pub const HISTORY_SERVE_WINDOW: u64 = 393_168;

/// The system address Nitro writes the ring from.
pub const SYSTEM_ADDRESS: Address = address!("fffffffffffffffffffffffffffffffffffffffe");

/// The history contract's code (126 bytes), assembled by hand:
///
/// - called by [`SYSTEM_ADDRESS`]: `n = ArbSys.arbBlockNumber()`, then
///   `sstore((n - 1) % W, calldata[0..32])`;
/// - otherwise: revert unless the input is exactly 32 bytes `x` with
///   `x < n` and `n - x <= W`; return `sload(x % W)`.
///
/// `W` is [`HISTORY_SERVE_WINDOW`]; the ArbSys call is a subroutine both
/// paths jump to. Every failure reverts with empty data, as Nitro's does.
pub const HISTORY_CODE: [u8; 126] = alloy_primitives::hex!(
    "3373fffffffffffffffffffffffffffffffffffffffe146049573660201415607a57"
    "6027605f565b5f3581811015607a578082036205ffd010607a576205ffd09006545f"
    "5260205ff35b604f605f565b600190036205ffd090065f359055005b63a3b1b31d5f"
    "5260205f6004601c60645afa15607a575f5190565b5f5ffd"
);

/// The ring slot that holds block `number`'s hash.
#[must_use]
pub fn slot(number: u64) -> U256 {
    U256::from(number % HISTORY_SERVE_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_names_the_window_and_arbsys() {
        let code = alloy_primitives::hex::encode(HISTORY_CODE);
        let window = format!("62{:06x}", HISTORY_SERVE_WINDOW);
        assert_eq!(code.matches(&window).count(), 3, "every use of W");
        assert!(code.contains("63a3b1b31d"), "arbBlockNumber()");
        assert!(code.contains("6064"), "ArbSys at 0x64");
        assert!(code.contains(&alloy_primitives::hex::encode(SYSTEM_ADDRESS)));
    }

    #[test]
    fn slots_wrap_at_the_window() {
        assert_eq!(slot(5), U256::from(5));
        assert_eq!(slot(HISTORY_SERVE_WINDOW), U256::ZERO);
        assert_eq!(slot(HISTORY_SERVE_WINDOW + 7), U256::from(7));
    }
}
