//! How Pond's contracts call each other, plus the Arbitrum precompile the
//! block-hash beacon reads.
//!
//! Outcome codes travel as `uint8` so the ABI stays plain; their meanings are
//! the constants in [`outcome`].

use alloc::vec::Vec;

#[allow(deprecated)]
use stylus_sdk::call::Error as CallError;

pub use calls::*;

/// The generated call wrappers (their methods mirror the Solidity names).
#[allow(missing_docs, non_snake_case, clippy::too_many_arguments)]
mod calls {
    use alloc::vec;

    use stylus_sdk::prelude::*;

    sol_interface! {
        /// The escrow's functions reserved to the protocol's own contracts.
        interface IVault {
            function lock(address account, uint256 amount) external;
            function unlock(address account, uint256 amount) external;
            function transferLocked(address from, address to, uint256 amount) external;
            function slash(address from, address to, uint256 amount) external;
            function depositWithPermit(address owner, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
            function treasury() external view returns (address);
        }

        /// What the market and mediation ask of the registry.
        interface IRegistry {
            function providerHardware(address provider) external view returns (bool, uint32, uint32, uint32, uint32, uint32);
            function recordProviderOutcome(address provider, uint8 outcome, uint256 amount) external;
            function requestDraw() external;
            function drawValidators(bytes32 seed, uint256 count, address excludeA, address excludeB) external returns (address[] memory);
            function releaseValidator(address validator, uint8 outcome, uint256 earned) external;
            function slashValidator(address validator, uint256 bps) external returns (uint256);
        }

        /// The offer book, as the market (reserve) and the deal book (release) use it.
        interface IOfferBook {
            function reserve(uint256 offerId, uint32 minGpuCount, uint32 minGpuMemoryGb, uint32 minCpuCores, uint32 minRamGb, uint32 minDiskGb, uint256 maxPrice, uint64 maxDuration) external returns (address, uint256);
            function release(uint256 offerId) external;
        }

        /// The deal book, as the market and mediation use it.
        interface IDeals {
            function openDeal(uint256 jobId, uint256 offerId, address creator, address provider, uint256 price, uint256 resultsCollateral, uint256 timeoutCollateral, uint64 maxDuration) external returns (uint256);
            function settleMediation(uint256 dealId, uint8 outcome, uint256 collateralToValidators) external;
        }

        /// The market as the job relay (posting) and the offer book (pause) use it.
        interface IMarket {
            function paused() external view returns (bool);
            function postRelayedJob(address creator, address relayer, (bytes32,string,bytes32,string,(uint32,uint32,uint32,uint32,uint32),uint64,uint256,uint64,uint64,uint256) spec) external returns (uint256);
        }

        /// The mediation entry point used by the deal book.
        interface IMediation {
            function openCase(uint256 dealId, address provider, address creator, bytes32 providerResult, uint256 resultsCollateral) external returns (uint256);
        }

        /// A source of randomness in rounds: request a round now, read it once
        /// it is ready. A VRF can implement the same interface.
        interface IRandomnessBeacon {
            function requestRandomness() external returns (uint256);
            function randomness(uint256 round) external view returns (bytes32);
        }

        /// The payment token's functions the vault needs beyond transfers.
        interface IPaymentToken {
            function balanceOf(address account) external view returns (uint256);
            function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
        }

        /// Arbitrum's ArbSys precompile at `0x64`.
        interface IArbSys {
            function arbBlockNumber() external view returns (uint256);
            function arbBlockHash(uint256 arbBlockNum) external view returns (bytes32);
            function arbOSVersion() external view returns (uint256);
        }
    }
}

/// Outcome codes exchanged between the contracts.
pub mod outcome {
    /// Provider: a deal completed and was paid.
    pub const PROVIDER_COMPLETED: u8 = 0;
    /// Provider: a deal timed out (no commit or no reveal).
    pub const PROVIDER_FAILED: u8 = 1;
    /// Provider: mediation found the result right (and the deal was paid).
    pub const PROVIDER_DISPUTE_WON: u8 = 2;
    /// Provider: mediation found the result wrong.
    pub const PROVIDER_DISPUTE_LOST: u8 = 3;

    /// Validator: voted with the majority.
    pub const VALIDATOR_WITH_MAJORITY: u8 = 0;
    /// Validator: voted against the majority.
    pub const VALIDATOR_AGAINST_MAJORITY: u8 = 1;
    /// Validator: did not reveal a vote.
    pub const VALIDATOR_NO_SHOW: u8 = 2;
    /// Validator: revealed, but the case found no majority.
    pub const VALIDATOR_UNDECIDED: u8 = 3;

    /// Mediation: the majority agrees with the provider's result.
    pub const MEDIATION_PROVIDER_RIGHT: u8 = 0;
    /// Mediation: the majority disagrees with the provider's result.
    pub const MEDIATION_PROVIDER_WRONG: u8 = 1;
    /// Mediation: no majority after the redraw (or too few validators): the
    /// provider was not shown wrong and is paid as if accepted.
    pub const MEDIATION_NO_DECISION: u8 = 2;
}

/// Address of Arbitrum's ArbSys precompile.
pub const ARB_SYS: alloy_primitives::Address =
    alloy_primitives::address!("0000000000000000000000000000000000000064");

/// Arbitrum's EIP-2935 block-hash history contract (ArbOS 40 and later):
/// called with a 32-byte Arbitrum block number, it returns that block's
/// hash for the last [`HISTORY_SERVE_WINDOW`] blocks, and reverts outside
/// them.
pub const HISTORY_STORAGE: alloy_primitives::Address =
    alloy_primitives::address!("0000F90827F1C53a10cb7A02335B175320002935");

/// How many block hashes Arbitrum's history contract keeps (its ring
/// buffer; Ethereum's keeps 8 191).
pub const HISTORY_SERVE_WINDOW: u64 = 393_168;

/// The first ArbOS version with the history contract (ArbOS 40), as ArbSys
/// `arbOSVersion` reports it (55 + the version): before it, whatever code
/// sits at [`HISTORY_STORAGE`] is not Arbitrum's.
pub const HISTORY_ARBOS_VERSION: u64 = 55 + 40;

/// A contract error, or the revert data of a call into another Pond
/// contract, passed through unchanged so clients decode the callee's own
/// custom error (as Solidity's bubbling does).
#[derive(Debug)]
pub enum Revert<E> {
    /// An error of the contract that was called.
    Own(E),
    /// Revert data returned by a nested call.
    Bubbled(Vec<u8>),
}

impl<E> From<E> for Revert<E> {
    fn from(error: E) -> Self {
        Revert::Own(error)
    }
}

impl<E: Into<Vec<u8>>> From<Revert<E>> for Vec<u8> {
    fn from(error: Revert<E>) -> Self {
        match error {
            Revert::Own(own) => own.into(),
            Revert::Bubbled(data) => data,
        }
    }
}

#[cfg(feature = "export-abi")]
impl<E: stylus_sdk::abi::export::internal::InnerTypes> stylus_sdk::abi::export::internal::InnerTypes
    for Revert<E>
{
    fn inner_types() -> Vec<stylus_sdk::abi::export::internal::InnerType> {
        E::inner_types()
    }
}

/// Turns a failed nested call into a [`Revert::Bubbled`].
#[allow(deprecated)]
pub fn bubble<E>(error: CallError) -> Revert<E> {
    match error {
        CallError::Revert(data) => Revert::Bubbled(data),
        // The callee answered with bytes that do not decode: pass nothing
        // rather than guess.
        CallError::AbiDecodingFailed(_) => Revert::Bubbled(Vec::new()),
    }
}
