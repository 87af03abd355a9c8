//! The ArbOwnerPublic precompile (`0x…6b`): what anyone may read about the
//! chain's owners and fee accounts, as a fresh ArbOS 40 chain answers.
//!
//! The chain owner is the Nitro dev key's account ([`CHAIN_OWNER`], devnode's
//! first account), which Nitro's dev node also makes owner and network fee
//! account. Methods Arbitrum added after ArbOS 40 (the native-token and
//! transaction-filtering readers, `getParentGasFloorPerToken`,
//! `getMaxStylusContractFragments`) are unknown selectors at devnode's
//! version, as on Nitro at ArbOS 40.

use alloy_primitives::{address, Address};
use alloy_sol_types::{sol, SolCall, SolInterface};

pub use crate::accounts::CHAIN_OWNER;
use crate::precompile::{Answer, Refusal};

/// Address of the ArbOwnerPublic precompile.
pub const ARB_OWNER_PUBLIC: Address = address!("000000000000000000000000000000000000006b");

/// The Brotli level ArbOS 20 and later compress with.
const BROTLI_COMPRESSION_LEVEL: u64 = 1;

sol! {
    /// ArbOwnerPublic's interface, as of ArbOS 40.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbOwnerPublic {
        function isChainOwner(address addr) external view returns (bool);
        function rectifyChainOwner(address ownerToRectify) external;
        function getAllChainOwners() external view returns (address[] memory);
        function getNetworkFeeAccount() external view returns (address);
        function getInfraFeeAccount() external view returns (address);
        function getBrotliCompressionLevel() external view returns (uint64);
        function getScheduledUpgrade() external view returns (uint64 arbosVersion, uint64 scheduledForTimestamp);
        function isCalldataPriceIncreaseEnabled() external view returns (bool);
    }
}

/// Handles a call to ArbOwnerPublic.
///
/// # Errors
/// [`Refusal::Invalid`] for an unknown selector or bad arguments; a plain
/// revert for `rectifyChainOwner` (the owner mapping of a fresh chain needs
/// no repair).
pub fn call(input: &[u8]) -> Answer {
    use IArbOwnerPublic::IArbOwnerPublicCalls as Call;
    Ok(
        match Call::abi_decode(input).map_err(|_| Refusal::Invalid)? {
            Call::isChainOwner(c) => {
                IArbOwnerPublic::isChainOwnerCall::abi_encode_returns(&(c.addr == CHAIN_OWNER))
            }
            Call::getAllChainOwners(_) => {
                IArbOwnerPublic::getAllChainOwnersCall::abi_encode_returns(&vec![CHAIN_OWNER])
            }
            Call::getNetworkFeeAccount(_) => {
                IArbOwnerPublic::getNetworkFeeAccountCall::abi_encode_returns(&CHAIN_OWNER)
            }
            Call::getInfraFeeAccount(_) => {
                IArbOwnerPublic::getInfraFeeAccountCall::abi_encode_returns(&Address::ZERO)
            }
            Call::getBrotliCompressionLevel(_) => {
                IArbOwnerPublic::getBrotliCompressionLevelCall::abi_encode_returns(
                    &BROTLI_COMPRESSION_LEVEL,
                )
            }
            Call::getScheduledUpgrade(_) => {
                IArbOwnerPublic::getScheduledUpgradeCall::abi_encode_returns(
                    &IArbOwnerPublic::getScheduledUpgradeReturn {
                        arbosVersion: 0,
                        scheduledForTimestamp: 0,
                    },
                )
            }
            Call::isCalldataPriceIncreaseEnabled(_) => {
                IArbOwnerPublic::isCalldataPriceIncreaseEnabledCall::abi_encode_returns(&false)
            }
            Call::rectifyChainOwner(_) => return Err(Refusal::Revert(Vec::new())),
        },
    )
}
