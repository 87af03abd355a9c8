//! The ArbRetryableTx precompile (`0x…6e`): retryable tickets, the L1 → L2
//! messages that can be redeemed later.
//!
//! Tickets are created only by messages from L1, and devnode has no L1, so
//! no ticket ever exists: every lookup reverts with `NoTicketWithID()`,
//! exactly what Nitro answers on a chain that received none, and
//! `submitRetryable` reverts with `NotCallable()` as it always does.

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};

use crate::precompile::{revert, Answer, Refusal};

/// Address of the ArbRetryableTx precompile.
pub const ARB_RETRYABLE_TX: Address = address!("000000000000000000000000000000000000006e");

/// How long a ticket lives before it must be kept alive: one week.
pub const LIFETIME_SECONDS: u64 = 7 * 24 * 3600;

sol! {
    /// ArbRetryableTx's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbRetryableTx {
        function redeem(bytes32 ticketId) external returns (bytes32);
        function getLifetime() external view returns (uint256);
        function getTimeout(bytes32 ticketId) external view returns (uint256);
        function keepalive(bytes32 ticketId) external returns (uint256);
        function getBeneficiary(bytes32 ticketId) external view returns (address);
        function cancel(bytes32 ticketId) external;
        function getCurrentRedeemer() external view returns (address);
        function submitRetryable(bytes32 requestId, uint256 l1BaseFee, uint256 deposit, uint256 callvalue, uint256 gasFeeCap, uint64 gasLimit, uint256 maxSubmissionFee, address feeRefundAddress, address beneficiary, address retryTo, bytes calldata retryData) external;

        /// No ticket with this id exists (devnode has none: no L1).
        error NoTicketWithID();
        /// The method exists only to describe the transaction type.
        error NotCallable();
    }
}

/// Handles a call to ArbRetryableTx.
///
/// # Errors
/// [`Refusal::Invalid`] for an unknown selector or bad arguments;
/// `NoTicketWithID()` for any ticket; `NotCallable()` for
/// `submitRetryable`.
pub fn call(input: &[u8]) -> Answer {
    use IArbRetryableTx::IArbRetryableTxCalls as Call;
    match Call::abi_decode(input).map_err(|_| Refusal::Invalid)? {
        Call::getLifetime(_) => Ok(IArbRetryableTx::getLifetimeCall::abi_encode_returns(
            &U256::from(LIFETIME_SECONDS),
        )),
        // Nobody is redeeming a ticket outside a retry transaction.
        Call::getCurrentRedeemer(_) => Ok(
            IArbRetryableTx::getCurrentRedeemerCall::abi_encode_returns(&Address::ZERO),
        ),
        Call::submitRetryable(_) => Err(revert(&IArbRetryableTx::NotCallable {})),
        Call::redeem(_)
        | Call::getTimeout(_)
        | Call::keepalive(_)
        | Call::getBeneficiary(_)
        | Call::cancel(_) => Err(revert(&IArbRetryableTx::NoTicketWithID {})),
    }
}
