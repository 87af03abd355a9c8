//! `JobRelay`: gasless job posting.
//!
//! A hosted front end (the relayer) pays the gas; the job creator only
//! signs. The creator's EIP-712 signature covers the whole job spec, its
//! nonce and a deadline, in a domain bound to this contract and chain. An
//! optional EIP-2612 permit moves the job's funds from the creator's wallet
//! into the vault in the same transaction; otherwise they come from the
//! creator's vault balance. The relay then posts the job in the market on
//! the creator's behalf.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::SolValue;
use openzeppelin_stylus::utils::{
    cryptography::{ecdsa, eip712::IEip712},
    nonces::{INonces, Nonces},
};
use pond_common::{
    clock,
    interfaces::{bubble, IMarket, IVault, Revert},
    types::{Hardware, JobSpec, PermitData},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool},
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IJobRelayEvents::*;

/// EIP-712 domain name of relayed jobs.
pub const DOMAIN_NAME: &str = "Pond Job Relay";
/// EIP-712 domain version of relayed jobs.
pub const DOMAIN_VERSION: &str = "1";
/// EIP-712 type of a relayed job; referenced struct types follow in name order.
pub const JOB_REQUEST_TYPE: &str = "JobRequest(address creator,JobSpec spec,uint256 nonce,uint256 deadline)Hardware(uint32 gpuCount,uint32 gpuMemoryGb,uint32 cpuCores,uint32 ramGb,uint32 diskGb)JobSpec(bytes32 moduleHash,string moduleUri,bytes32 inputHash,string inputUri,Hardware minHardware,uint64 maxDuration,uint256 maxPrice,uint64 matchDeadline,uint64 biddingWindow,uint256 offerId)";
/// EIP-712 type of a [`JobSpec`].
pub const JOB_SPEC_TYPE: &str = "JobSpec(bytes32 moduleHash,string moduleUri,bytes32 inputHash,string inputUri,Hardware minHardware,uint64 maxDuration,uint256 maxPrice,uint64 matchDeadline,uint64 biddingWindow,uint256 offerId)Hardware(uint32 gpuCount,uint32 gpuMemoryGb,uint32 cpuCores,uint32 ramGb,uint32 diskGb)";
/// EIP-712 type of a [`Hardware`].
pub const HARDWARE_TYPE: &str =
    "Hardware(uint32 gpuCount,uint32 gpuMemoryGb,uint32 cpuCores,uint32 ramGb,uint32 diskGb)";

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error SignatureExpired(uint256 deadline);
        /// The signature is malformed or was not made by the creator.
        #[derive(Debug)]
        error InvalidSignature();
        /// The signed nonce is not the creator's next nonce (e.g. a replay).
        #[derive(Debug)]
        error InvalidNonce(uint256 expected);
    }
}
pub use errors::*;
pub use pond_common::errors::{AlreadyInitialized, UnauthorizedCaller, ZeroAddress};

/// Everything the relay can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum RelayError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    UnauthorizedCaller(UnauthorizedCaller),
    SignatureExpired(SignatureExpired),
    InvalidSignature(InvalidSignature),
    InvalidNonce(InvalidNonce),
}

/// The relay's result type: its own errors or the vault's or market's revert data.
pub type RelayResult<T> = Result<T, Revert<RelayError>>;

fn own<T>(error: impl Into<RelayError>) -> RelayResult<T> {
    Err(Revert::Own(error.into()))
}

/// The relay's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct JobRelay {
    initialized: StorageBool,
    market: StorageAddress,
    vault: StorageAddress,
    nonces: Nonces,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for JobRelay {}

/// EIP-712 domain of relayed jobs: name, version, chain id and this contract.
pub struct RelayDomain;

impl IEip712 for RelayDomain {
    const NAME: &'static str = DOMAIN_NAME;
    const VERSION: &'static str = DOMAIN_VERSION;
}

#[public]
#[implements(INonces)]
impl JobRelay {
    /// Wires the relay to the market and the vault. Runs once.
    ///
    /// # Errors
    /// Second call, or a zero address.
    pub fn initialize(&mut self, market: Address, vault: Address) -> RelayResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if market.is_zero() || vault.is_zero() {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.market.set(market);
        self.vault.set(vault);
        log(self.vm(), JobRelayInitialized { market, vault });
        Ok(())
    }

    /// Posts `spec` for `creator`, who signed `JobRequest(creator, spec,
    /// nonce, deadline)`. A non-empty `permit` first deposits that amount
    /// from the creator's wallet into the vault. Returns the job id.
    ///
    /// # Errors
    /// Expired or invalid signature, wrong nonce, a rejected permit deposit
    /// (the vault's error), or anything the market refuses.
    #[allow(clippy::too_many_arguments)]
    pub fn post_job_for(
        &mut self,
        spec: JobSpec,
        creator: Address,
        nonce: U256,
        deadline: U256,
        v: u8,
        r: B256,
        s: B256,
        permit: PermitData,
    ) -> RelayResult<U256> {
        if creator.is_zero() {
            return own(ZeroAddress {});
        }
        if U256::from(clock::now(self.vm())) > deadline {
            return own(SignatureExpired { deadline });
        }
        let digest =
            RelayDomain.hash_typed_data_v4(job_request_hash(creator, &spec, nonce, deadline));
        let signer = ecdsa::recover(&*self, digest, v, r, s)
            .map_err(|_| Revert::Own(InvalidSignature {}.into()))?;
        if signer != creator {
            return own(InvalidSignature {});
        }
        let expected = self.nonces.nonces(creator);
        if self.nonces.use_checked_nonce(creator, nonce).is_err() {
            return own(InvalidNonce { expected });
        }
        if !permit.amount.is_zero() {
            IVault::new(self.vault.get())
                .deposit_with_permit(
                    &mut *self,
                    creator,
                    permit.amount,
                    permit.deadline,
                    permit.v,
                    permit.r,
                    permit.s,
                )
                .map_err(bubble)?;
        }
        let relayer = self.vm().msg_sender();
        let hw = &spec.minHardware;
        let spec_tuple = (
            spec.moduleHash,
            spec.moduleUri.clone(),
            spec.inputHash,
            spec.inputUri.clone(),
            (
                hw.gpuCount,
                hw.gpuMemoryGb,
                hw.cpuCores,
                hw.ramGb,
                hw.diskGb,
            ),
            spec.maxDuration,
            spec.maxPrice,
            spec.matchDeadline,
            spec.biddingWindow,
            spec.offerId,
        );
        let job_id = IMarket::new(self.market.get())
            .post_relayed_job(&mut *self, creator, relayer, spec_tuple)
            .map_err(bubble)?;
        log(
            self.vm(),
            JobRelayed {
                jobId: job_id,
                creator,
                relayer,
                nonce,
                permitAmount: permit.amount,
            },
        );
        Ok(job_id)
    }

    /// The EIP-712 domain separator of relayed jobs.
    #[selector(name = "DOMAIN_SEPARATOR")]
    pub fn domain_separator(&self) -> B256 {
        RelayDomain.domain_separator_v4()
    }
}

#[public]
impl INonces for JobRelay {
    fn nonces(&self, owner: Address) -> U256 {
        self.nonces.nonces(owner)
    }
}

/// EIP-712 `hashStruct` of a [`Hardware`].
#[must_use]
pub fn hardware_hash(hw: &Hardware) -> B256 {
    keccak256(
        (
            keccak256(HARDWARE_TYPE),
            U256::from(hw.gpuCount),
            U256::from(hw.gpuMemoryGb),
            U256::from(hw.cpuCores),
            U256::from(hw.ramGb),
            U256::from(hw.diskGb),
        )
            .abi_encode(),
    )
}

/// EIP-712 `hashStruct` of a [`JobSpec`].
#[must_use]
pub fn job_spec_hash(spec: &JobSpec) -> B256 {
    keccak256(
        (
            keccak256(JOB_SPEC_TYPE),
            spec.moduleHash,
            keccak256(spec.moduleUri.as_bytes()),
            spec.inputHash,
            keccak256(spec.inputUri.as_bytes()),
            hardware_hash(&spec.minHardware),
            U256::from(spec.maxDuration),
            spec.maxPrice,
            U256::from(spec.matchDeadline),
            U256::from(spec.biddingWindow),
            spec.offerId,
        )
            .abi_encode(),
    )
}

/// EIP-712 `hashStruct` of a relayed job request.
#[must_use]
pub fn job_request_hash(creator: Address, spec: &JobSpec, nonce: U256, deadline: U256) -> B256 {
    keccak256(
        (
            keccak256(JOB_REQUEST_TYPE),
            creator,
            job_spec_hash(spec),
            nonce,
            deadline,
        )
            .abi_encode(),
    )
}
