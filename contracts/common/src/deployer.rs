//! Who may initialize a contract: only the account that deployed it.
//!
//! Pond's contracts are initialized by a call after deployment and
//! activation (Stylus has no constructor in this SDK version), so between
//! the two anyone could call `initialize` first and, for instance, own the
//! vault. Pond's deployment init code (`pond_stylus_code::
//! init_code_recording_deployer`) stores its caller in [`DEPLOYER_SLOT`] in
//! the same transaction that creates the contract; `initialize` accepts
//! only that account. Deployment and the right to initialize are thus one
//! atomic step.

#[cfg(target_arch = "wasm32")]
use alloy_primitives::{Address, U256};
use stylus_sdk::stylus_core::Host;

use crate::errors::UnauthorizedCaller;

/// `keccak256("pond.deployer")`: the storage slot holding the deployer
/// (right-aligned, as Solidity stores an address).
pub const DEPLOYER_SLOT: [u8; 32] = stylus_sdk::keccak_const::Keccak256::new()
    .update(b"pond.deployer")
    .finalize();

/// Checks that the caller deployed this contract.
///
/// Natively (motsu tests) there is no deployment transaction, so the check
/// passes; the WebAssembly build always makes it.
///
/// # Errors
/// [`UnauthorizedCaller`] when the caller is not the recorded deployer (or
/// the contract was deployed without Pond's init code).
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_variables))]
pub fn only_deployer(vm: &dyn Host) -> Result<(), UnauthorizedCaller> {
    #[cfg(target_arch = "wasm32")]
    {
        let caller: Address = vm.msg_sender();
        let stored = vm.storage_load_bytes32(U256::from_be_bytes(DEPLOYER_SLOT));
        if Address::from_word(stored) != caller {
            return Err(UnauthorizedCaller { caller });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_is_the_keccak_of_pond_deployer() {
        assert_eq!(
            DEPLOYER_SLOT,
            alloy_primitives::keccak256(b"pond.deployer").0
        );
    }
}
