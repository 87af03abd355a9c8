//! The ArbInfo precompile (`0x…65`): an account's balance and code, as the
//! `BALANCE` and `EXTCODECOPY` opcodes give them (Nitro keeps it for old
//! contracts and marks it deprecated).

use alloy_primitives::{address, Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

use crate::precompile::{Answer, Refusal};

/// Address of the ArbInfo precompile.
pub const ARB_INFO: Address = address!("0000000000000000000000000000000000000065");

sol! {
    /// ArbInfo's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbInfo {
        function getBalance(address account) external view returns (uint256);
        function getCode(address account) external view returns (bytes memory);
    }
}

/// The account facts ArbInfo answers from.
pub trait AccountReader {
    /// The account's balance in wei.
    fn balance(&mut self, account: Address) -> U256;
    /// The account's code.
    fn code(&mut self, account: Address) -> Vec<u8>;
}

/// Handles a call to ArbInfo.
///
/// # Errors
/// [`Refusal::Invalid`] for an unknown selector or bad arguments.
pub fn call(state: &mut dyn AccountReader, input: &[u8]) -> Answer {
    use IArbInfo::IArbInfoCalls as Call;
    Ok(
        match Call::abi_decode(input).map_err(|_| Refusal::Invalid)? {
            Call::getBalance(c) => {
                IArbInfo::getBalanceCall::abi_encode_returns(&state.balance(c.account))
            }
            Call::getCode(c) => {
                IArbInfo::getCodeCall::abi_encode_returns(&Bytes::from(state.code(c.account)))
            }
        },
    )
}
