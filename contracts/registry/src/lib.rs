//! `Registry`: who takes part in Pond and how they have behaved.
//!
//! - **Providers** register their hardware and a metadata URI. The deal
//!   book records each deal's outcome here (completed, failed, disputes won
//!   and lost, total earned and slashed).
//! - **Validators** stake tokens held in the vault. Stake leaves only after
//!   an unbonding delay, and not while the validator serves on a case.
//!   Mediation draws validators stake-weighted through a sum tree over at
//!   most [`MAX_VALIDATORS`] slots, so a draw costs O(log n) per validator.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{string::String, vec, vec::Vec};

use alloy_primitives::{keccak256, Address, B256, U128, U256, U32, U64};
use pond_common::{
    clock, errors as shared,
    interfaces::{bubble, outcome, IVault, Revert},
    math::bps_of,
    types::{Hardware, StoredHardware},
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageBool, StorageMap, StorageU128, StorageU256, StorageU32, StorageU64,
        StorageVec,
    },
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IRegistryEvents::*;

/// Most validators that can hold stake at once (sum-tree leaves).
pub const MAX_VALIDATORS: u32 = 1024;
/// Most validators one draw may return.
pub const MAX_DRAW: u32 = 9;
/// Shortest unbonding delay the governor may set.
pub const MIN_UNBONDING_DELAY: u64 = 60 * 60;
/// Longest unbonding delay the governor may set.
pub const MAX_UNBONDING_DELAY: u64 = 30 * 24 * 60 * 60;
/// Unbonding delay at initialization.
pub const DEFAULT_UNBONDING_DELAY: u64 = 7 * 24 * 60 * 60;
/// Largest slash mediation may ask for, in basis points of stake.
pub const MAX_SLASH_BPS: u64 = 10_000;
/// Depth of the sum tree: `2^TREE_DEPTH == MAX_VALIDATORS`.
const TREE_DEPTH: u32 = 10;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error ZeroAmount();
        #[derive(Debug)]
        error ProviderAlreadyRegistered(address provider);
        #[derive(Debug)]
        error ProviderNotRegistered(address provider);
        /// A provider must declare at least one resource.
        #[derive(Debug)]
        error EmptyHardware();
        /// Stake after the call would be below the minimum (and not zero).
        #[derive(Debug)]
        error StakeBelowMinimum(uint256 stake, uint256 minimum);
        #[derive(Debug)]
        error InsufficientStake(uint256 requested, uint256 stake);
        /// Every validator slot is taken.
        #[derive(Debug)]
        error ValidatorSetFull(uint32 capacity);
        /// The validator serves on an open case and cannot unbond.
        #[derive(Debug)]
        error ValidatorBusy(address validator, uint32 activeCases);
        #[derive(Debug)]
        error NothingUnbonding(address validator);
        #[derive(Debug)]
        error UnbondingNotReady(uint64 readyAt, uint64 now);
        #[derive(Debug)]
        error ValidatorNotServing(address validator);
        #[derive(Debug)]
        error UnknownOutcome(uint8 outcome);
        /// A committee draw is pending: stake cannot change until it is
        /// drawn (anyone can draw once its randomness is ready).
        #[derive(Debug)]
        error DrawPending(uint32 pendingDraws);
    }
}
pub use errors::*;
pub use pond_common::errors::{
    check_uri, AlreadyInitialized, ArithmeticOverflow, ParameterOutOfBounds, UnauthorizedCaller,
    UriTooLong, ZeroAddress,
};

/// Everything the registry can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum RegistryError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    ZeroAmount(ZeroAmount),
    UnauthorizedCaller(UnauthorizedCaller),
    ProviderAlreadyRegistered(ProviderAlreadyRegistered),
    ProviderNotRegistered(ProviderNotRegistered),
    EmptyHardware(EmptyHardware),
    StakeBelowMinimum(StakeBelowMinimum),
    InsufficientStake(InsufficientStake),
    ValidatorSetFull(ValidatorSetFull),
    ValidatorBusy(ValidatorBusy),
    NothingUnbonding(NothingUnbonding),
    UnbondingNotReady(UnbondingNotReady),
    ValidatorNotServing(ValidatorNotServing),
    ParameterOutOfBounds(ParameterOutOfBounds),
    UnknownOutcome(UnknownOutcome),
    DrawPending(DrawPending),
    ArithmeticOverflow(ArithmeticOverflow),
    UriTooLong(UriTooLong),
}

/// The registry's result type: its own errors or the vault's revert data.
pub type RegistryResult<T> = Result<T, Revert<RegistryError>>;

fn own<T>(error: impl Into<RegistryError>) -> RegistryResult<T> {
    Err(Revert::Own(error.into()))
}

fn overflow() -> Revert<RegistryError> {
    Revert::Own(ArithmeticOverflow {}.into())
}

/// A provider's registration and record.
#[storage]
pub struct ProviderRecord {
    registered: StorageBool,
    hardware: StoredHardware,
    completed: StorageU64,
    failed: StorageU64,
    disputes_won: StorageU64,
    disputes_lost: StorageU64,
    total_earned: StorageU256,
    total_slashed: StorageU256,
}

/// A validator's stake and record.
#[storage]
pub struct ValidatorRecord {
    /// 1-based sum-tree slot; 0 when the validator holds none.
    slot: StorageU32,
    active_cases: StorageU32,
    unbonding_ready_at: StorageU64,
    stake: StorageU256,
    unbonding: StorageU256,
    votes_with_majority: StorageU64,
    votes_against_majority: StorageU64,
    no_shows: StorageU64,
    total_earned: StorageU256,
    total_slashed: StorageU256,
}

/// The registry's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Registry {
    initialized: StorageBool,
    vault: StorageAddress,
    deals: StorageAddress,
    mediation: StorageAddress,
    min_validator_stake: StorageU256,
    unbonding_delay: StorageU64,
    providers: StorageMap<Address, ProviderRecord>,
    validators: StorageMap<Address, ValidatorRecord>,
    /// Sum tree, heap-ordered: node 1 is the root, leaves are
    /// `MAX_VALIDATORS + slot - 1`. Each node holds the weight below it.
    tree: StorageMap<u32, StorageU128>,
    slot_owner: StorageMap<u32, StorageAddress>,
    slots_used: StorageU32,
    free_slots: StorageVec<StorageU32>,
    /// Committee draws requested and not yet drawn. While any is pending
    /// the sum tree is frozen: stakes and unbonds are refused and slashes
    /// reach the tree later ([`Registry::sync_validator`]), so a committee
    /// depends only on stake fixed before its randomness was requested.
    pending_draws: StorageU32,
    /// The governance timelock: the only account that sets parameters.
    governor: StorageAddress,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Registry {}

#[public]
impl Registry {
    /// The governance timelock, the only account that sets parameters.
    pub fn governor(&self) -> Address {
        self.governor.get()
    }

    /// Wires the registry to the vault, deals and mediation, sets the
    /// minimum validator stake and the governor (the timelock). Runs once.
    ///
    /// # Errors
    /// Second call, a zero address or a zero minimum stake.
    pub fn initialize(
        &mut self,
        vault: Address,
        deals: Address,
        mediation: Address,
        min_validator_stake: U256,
        governor: Address,
    ) -> RegistryResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if [vault, deals, mediation, governor]
            .iter()
            .any(|a| a.is_zero())
        {
            return own(ZeroAddress {});
        }
        if min_validator_stake.is_zero() {
            return own(ZeroAmount {});
        }
        self.initialized.set(true);
        self.vault.set(vault);
        self.deals.set(deals);
        self.mediation.set(mediation);
        self.min_validator_stake.set(min_validator_stake);
        self.unbonding_delay.set(U64::from(DEFAULT_UNBONDING_DELAY));
        self.governor.set(governor);
        log(
            self.vm(),
            RegistryInitialized {
                vault,
                deals,
                mediation,
                minValidatorStake: min_validator_stake,
                unbondingDelay: DEFAULT_UNBONDING_DELAY,
            },
        );
        Ok(())
    }

    /// Registers the caller as a provider with its hardware and metadata URI.
    ///
    /// # Errors
    /// Already registered, hardware that declares nothing, or a URI longer
    /// than `MAX_URI_BYTES`.
    pub fn register_provider(
        &mut self,
        hardware: Hardware,
        metadata_uri: String,
    ) -> RegistryResult<()> {
        check_uri(&metadata_uri).or_else(own)?;
        let provider = self.vm().msg_sender();
        if self.providers.get(provider).registered.get() {
            return own(ProviderAlreadyRegistered { provider });
        }
        self.store_provider(provider, &hardware)?;
        log(
            self.vm(),
            ProviderRegistered {
                provider,
                gpuCount: hardware.gpuCount,
                gpuMemoryGb: hardware.gpuMemoryGb,
                cpuCores: hardware.cpuCores,
                ramGb: hardware.ramGb,
                diskGb: hardware.diskGb,
                metadataUri: metadata_uri,
            },
        );
        Ok(())
    }

    /// Replaces the caller's hardware and metadata URI. Standing offers
    /// keep the hardware they committed.
    ///
    /// # Errors
    /// Not registered, hardware that declares nothing, or a URI longer
    /// than `MAX_URI_BYTES`.
    pub fn update_provider(
        &mut self,
        hardware: Hardware,
        metadata_uri: String,
    ) -> RegistryResult<()> {
        check_uri(&metadata_uri).or_else(own)?;
        let provider = self.vm().msg_sender();
        if !self.providers.get(provider).registered.get() {
            return own(ProviderNotRegistered { provider });
        }
        self.store_provider(provider, &hardware)?;
        log(
            self.vm(),
            ProviderUpdated {
                provider,
                gpuCount: hardware.gpuCount,
                gpuMemoryGb: hardware.gpuMemoryGb,
                cpuCores: hardware.cpuCores,
                ramGb: hardware.ramGb,
                diskGb: hardware.diskGb,
                metadataUri: metadata_uri,
            },
        );
        Ok(())
    }

    /// Whether `provider` is registered, and its hardware.
    pub fn provider_hardware(&self, provider: Address) -> (bool, u32, u32, u32, u32, u32) {
        let record = self.providers.get(provider);
        let hw = record.hardware.read();
        (
            record.registered.get(),
            hw.gpuCount,
            hw.gpuMemoryGb,
            hw.cpuCores,
            hw.ramGb,
            hw.diskGb,
        )
    }

    /// A provider's record: completed, failed, disputes won, disputes lost,
    /// total earned, total slashed.
    pub fn provider_record(&self, provider: Address) -> (u64, u64, u64, u64, U256, U256) {
        let r = self.providers.get(provider);
        (
            r.completed.get().to(),
            r.failed.get().to(),
            r.disputes_won.get().to(),
            r.disputes_lost.get().to(),
            r.total_earned.get(),
            r.total_slashed.get(),
        )
    }

    /// Records a deal's outcome for `provider`. Deal book only.
    ///
    /// # Errors
    /// Unauthorized caller, an unknown outcome, or a counter overflow.
    pub fn record_provider_outcome(
        &mut self,
        provider: Address,
        outcome: u8,
        amount: U256,
    ) -> RegistryResult<()> {
        self.only(self.deals.get())?;
        let mut record = self.providers.setter(provider);
        match outcome {
            outcome::PROVIDER_COMPLETED | outcome::PROVIDER_DISPUTE_WON => {
                let earned = record
                    .total_earned
                    .get()
                    .checked_add(amount)
                    .ok_or_else(overflow)?;
                record.total_earned.set(earned);
                let counter = if outcome == outcome::PROVIDER_COMPLETED {
                    &mut record.completed
                } else {
                    &mut record.disputes_won
                };
                increment(counter)?;
            }
            outcome::PROVIDER_FAILED | outcome::PROVIDER_DISPUTE_LOST => {
                let slashed = record
                    .total_slashed
                    .get()
                    .checked_add(amount)
                    .ok_or_else(overflow)?;
                record.total_slashed.set(slashed);
                let counter = if outcome == outcome::PROVIDER_FAILED {
                    &mut record.failed
                } else {
                    &mut record.disputes_lost
                };
                increment(counter)?;
            }
            other => return own(UnknownOutcome { outcome: other }),
        }
        log(
            self.vm(),
            ProviderOutcomeRecorded {
                provider,
                outcome,
                amount,
            },
        );
        Ok(())
    }

    /// Adds `amount` of the caller's available vault balance to its
    /// validator stake (locking it in the vault).
    ///
    /// # Errors
    /// Zero amount, resulting stake below the minimum, a full validator
    /// set, or the vault's error when the balance is insufficient.
    pub fn stake(&mut self, amount: U256) -> RegistryResult<()> {
        if amount.is_zero() {
            return own(ZeroAmount {});
        }
        self.not_drawing()?;
        let validator = self.vm().msg_sender();
        let stake = self
            .validators
            .get(validator)
            .stake
            .get()
            .checked_add(amount)
            .ok_or_else(overflow)?;
        let minimum = self.min_validator_stake.get();
        if stake < minimum {
            return own(StakeBelowMinimum { stake, minimum });
        }
        let slot = self.ensure_slot(validator)?;
        self.validators.setter(validator).stake.set(stake);
        self.set_weight(slot, stake)?;
        IVault::new(self.vault.get())
            .lock(&mut *self, validator, amount)
            .map_err(bubble)?;
        log(
            self.vm(),
            ValidatorStaked {
                validator,
                amount,
                stake,
                slot,
            },
        );
        Ok(())
    }

    /// Joins a full validator set by taking the place of `smaller`, a
    /// validator whose stake is below `amount`: `smaller`'s whole stake
    /// starts unbonding (withdrawable after the delay, slashable meanwhile,
    /// as if it had asked) and the caller stakes `amount` in its slot. So
    /// filling every slot at the minimum cannot lock serious validators out.
    ///
    /// # Errors
    /// A draw pending, the caller already holding a slot or the set not
    /// full ([`Registry::stake`] applies), `amount` below the minimum or
    /// not above `smaller`'s stake, or the vault's error.
    pub fn stake_replacing(&mut self, amount: U256, smaller: Address) -> RegistryResult<()> {
        self.not_drawing()?;
        let validator = self.vm().msg_sender();
        let slot: u32 = self.validators.get(smaller).slot.get().to();
        let full = self.free_slots.is_empty() && self.slots_used.get() >= U32::from(MAX_VALIDATORS);
        if !full || slot == 0 || self.validators.get(validator).slot.get() != U32::ZERO {
            return self.stake(amount);
        }
        // `stake` below checks the minimum.
        let record = self.validators.get(smaller);
        let displaced = record.stake.get();
        if amount <= displaced {
            return own(InsufficientStake {
                requested: amount,
                stake: displaced,
            });
        }
        let unbonding = record
            .unbonding
            .get()
            .checked_add(displaced)
            .ok_or_else(overflow)?;
        let ready_at = clock::now(self.vm())
            .checked_add(self.unbonding_delay.get().to())
            .ok_or_else(overflow)?;
        let mut record = self.validators.setter(smaller);
        record.stake.set(U256::ZERO);
        record.slot.set(U32::ZERO);
        record.unbonding.set(unbonding);
        record.unbonding_ready_at.set(U64::from(ready_at));
        log(
            self.vm(),
            UnbondRequested {
                validator: smaller,
                amount: displaced,
                stake: U256::ZERO,
                readyAt: ready_at,
            },
        );
        self.validators.setter(validator).slot.set(U32::from(slot));
        self.slot_owner.setter(slot).set(validator);
        self.stake(amount)
    }

    /// Starts unbonding `amount` of the caller's stake: it stops counting
    /// for draws now and can be withdrawn after the unbonding delay, once
    /// the validator serves on no case (until then it can still be
    /// slashed). A new request adds to what is unbonding and restarts the
    /// delay. Allowed while serving, so a validator can always stop being
    /// drawn before a parameter change takes effect.
    ///
    /// # Errors
    /// Zero amount, a draw pending, more than the stake, or a remaining
    /// stake that is neither zero nor at least the minimum.
    pub fn request_unbond(&mut self, amount: U256) -> RegistryResult<()> {
        if amount.is_zero() {
            return own(ZeroAmount {});
        }
        self.not_drawing()?;
        let validator = self.vm().msg_sender();
        let now = clock::now(self.vm());
        let delay: u64 = self.unbonding_delay.get().to();
        let minimum = self.min_validator_stake.get();
        let record = self.validators.get(validator);
        let stake = record.stake.get();
        let Some(remaining) = stake.checked_sub(amount) else {
            return own(InsufficientStake {
                requested: amount,
                stake,
            });
        };
        if !remaining.is_zero() && remaining < minimum {
            return own(StakeBelowMinimum {
                stake: remaining,
                minimum,
            });
        }
        let unbonding = record
            .unbonding
            .get()
            .checked_add(amount)
            .ok_or_else(overflow)?;
        let slot: u32 = record.slot.get().to();
        let ready_at = now.checked_add(delay).ok_or_else(overflow)?;
        let mut record = self.validators.setter(validator);
        record.stake.set(remaining);
        record.unbonding.set(unbonding);
        record.unbonding_ready_at.set(U64::from(ready_at));
        self.set_weight(slot, remaining)?;
        log(
            self.vm(),
            UnbondRequested {
                validator,
                amount,
                stake: remaining,
                readyAt: ready_at,
            },
        );
        Ok(())
    }

    /// Returns the caller's unbonded stake to its available vault balance
    /// once the delay has passed. A validator left with no stake frees its slot.
    ///
    /// # Errors
    /// Nothing unbonding, the delay has not passed, or the validator still
    /// serves on a case.
    pub fn withdraw_unbonded(&mut self) -> RegistryResult<()> {
        let validator = self.vm().msg_sender();
        let now = clock::now(self.vm());
        let record = self.validators.get(validator);
        let amount = record.unbonding.get();
        if amount.is_zero() {
            return own(NothingUnbonding { validator });
        }
        let ready_at: u64 = record.unbonding_ready_at.get().to();
        if now < ready_at {
            return own(UnbondingNotReady {
                readyAt: ready_at,
                now,
            });
        }
        // Unbonding stake answers for the cases the validator still serves.
        let active_cases: u32 = record.active_cases.get().to();
        if active_cases > 0 {
            return own(ValidatorBusy {
                validator,
                activeCases: active_cases,
            });
        }
        let release_slot = record.stake.get().is_zero();
        let slot: u32 = record.slot.get().to();
        let mut record = self.validators.setter(validator);
        record.unbonding.set(U256::ZERO);
        if release_slot && slot != 0 {
            record.slot.set(U32::ZERO);
            self.slot_owner.setter(slot).set(Address::ZERO);
            self.free_slots.push(U32::from(slot));
        }
        IVault::new(self.vault.get())
            .unlock(&mut *self, validator, amount)
            .map_err(bubble)?;
        log(self.vm(), UnbondWithdrawn { validator, amount });
        Ok(())
    }

    /// Counts one more committee draw as pending: until it is drawn the
    /// sum tree is frozen. Mediation only, when it requests randomness for
    /// a new committee.
    ///
    /// # Errors
    /// Unauthorized caller or a counter overflow.
    pub fn request_draw(&mut self) -> RegistryResult<()> {
        self.only(self.mediation.get())?;
        let pending = self
            .pending_draws
            .get()
            .to::<u32>()
            .checked_add(1)
            .ok_or_else(overflow)?;
        self.pending_draws.set(U32::from(pending));
        Ok(())
    }

    /// Draws a pending committee: up to `count` distinct validators,
    /// stake-weighted, from `seed`, never `exclude_a` or `exclude_b`. When
    /// all `count` are found each is marked serving; fewer are returned
    /// (and none marked) when fewer eligible validators hold stake. Ends
    /// one pending draw. Mediation only. O(count · log MAX_VALIDATORS).
    ///
    /// # Errors
    /// Unauthorized caller. At most [`MAX_DRAW`] are drawn, whatever `count`.
    pub fn draw_validators(
        &mut self,
        seed: B256,
        count: U256,
        exclude_a: Address,
        exclude_b: Address,
    ) -> RegistryResult<Vec<Address>> {
        self.only(self.mediation.get())?;
        // Mediation asks for at most 9 (its committee bound); never more
        // than MAX_DRAW are drawn whatever is asked.
        let count = count.min(U256::from(MAX_DRAW));
        let drawn = self.draw(seed, count.to(), exclude_a, exclude_b);
        let pending: u32 = self.pending_draws.get().to();
        self.pending_draws.set(U32::from(pending.saturating_sub(1)));
        if drawn.len() == count.to::<usize>() {
            for validator in &drawn {
                self.assign(*validator)?;
            }
        }
        Ok(drawn)
    }

    /// Committee draws requested and not yet drawn (stake is frozen while
    /// this is non-zero).
    pub fn pending_draws(&self) -> u32 {
        self.pending_draws.get().to()
    }

    /// Brings `validator`'s draw weight up to date with its stake after a
    /// slash that happened while a draw was pending. Anyone may call it.
    ///
    /// # Errors
    /// A draw is still pending.
    pub fn sync_validator(&mut self, validator: Address) -> RegistryResult<()> {
        self.not_drawing()?;
        let record = self.validators.get(validator);
        let (slot, stake) = (record.slot.get().to(), record.stake.get());
        self.set_weight(slot, stake)
    }

    /// Ends `validator`'s service on a case and records how it voted and
    /// what it earned. Mediation only.
    ///
    /// # Errors
    /// Unauthorized caller, not serving, an unknown outcome or an overflow.
    pub fn release_validator(
        &mut self,
        validator: Address,
        outcome: u8,
        earned: U256,
    ) -> RegistryResult<()> {
        self.only(self.mediation.get())?;
        let mut record = self.validators.setter(validator);
        let Some(cases) = record.active_cases.get().to::<u32>().checked_sub(1) else {
            return own(ValidatorNotServing { validator });
        };
        record.active_cases.set(U32::from(cases));
        match outcome {
            outcome::VALIDATOR_WITH_MAJORITY => increment(&mut record.votes_with_majority)?,
            outcome::VALIDATOR_AGAINST_MAJORITY => increment(&mut record.votes_against_majority)?,
            outcome::VALIDATOR_NO_SHOW => increment(&mut record.no_shows)?,
            outcome::VALIDATOR_UNDECIDED => {}
            other => return own(UnknownOutcome { outcome: other }),
        }
        let total = record
            .total_earned
            .get()
            .checked_add(earned)
            .ok_or_else(overflow)?;
        record.total_earned.set(total);
        log(
            self.vm(),
            ValidatorReleased {
                validator,
                outcome,
                earned,
                activeCases: cases,
            },
        );
        Ok(())
    }

    /// Takes `bps` basis points of `validator`'s stake to the treasury and
    /// returns the amount. Mediation only.
    ///
    /// # Errors
    /// Unauthorized caller, `bps` above 100 %, or the vault's error.
    pub fn slash_validator(&mut self, validator: Address, bps: U256) -> RegistryResult<U256> {
        self.only(self.mediation.get())?;
        if bps > U256::from(MAX_SLASH_BPS) {
            return own(ParameterOutOfBounds {
                value: bps,
                minimum: U256::ZERO,
                maximum: U256::from(MAX_SLASH_BPS),
            });
        }
        let record = self.validators.get(validator);
        let stake = record.stake.get();
        let unbonding = record.unbonding.get();
        let slot: u32 = record.slot.get().to();
        // Stake that is unbonding is still at risk: a validator may start
        // unbonding while it serves, but not shield that stake from a slash.
        let at_risk = stake.checked_add(unbonding).ok_or_else(overflow)?;
        let amount = bps_of(at_risk, bps.to()).ok_or_else(overflow)?;
        if amount.is_zero() {
            return Ok(U256::ZERO);
        }
        // amount ≤ stake + unbonding because bps ≤ 10 000: taken from the
        // bonded stake first, the rest from what is unbonding.
        let from_stake = amount.min(stake);
        let remaining = stake - from_stake;
        let slashed = record
            .total_slashed
            .get()
            .checked_add(amount)
            .ok_or_else(overflow)?;
        let mut record = self.validators.setter(validator);
        record.stake.set(remaining);
        record.unbonding.set(unbonding - (amount - from_stake));
        record.total_slashed.set(slashed);
        // While a draw is pending the tree keeps the weight the committee
        // is drawn from; `sync_validator` applies the slash afterwards.
        if self.pending_draws.get() == U32::ZERO {
            self.set_weight(slot, remaining)?;
        }
        let vault = IVault::new(self.vault.get());
        let treasury = vault.treasury(&*self).map_err(bubble)?;
        vault
            .slash(&mut *self, validator, treasury, amount)
            .map_err(bubble)?;
        log(
            self.vm(),
            ValidatorSlashed {
                validator,
                amount,
                stake: remaining,
            },
        );
        Ok(amount)
    }

    /// A validator's state: slot, active cases, stake, unbonding amount,
    /// unbonding ready time.
    pub fn validator_state(&self, validator: Address) -> (u32, u32, U256, U256, u64) {
        let r = self.validators.get(validator);
        (
            r.slot.get().to(),
            r.active_cases.get().to(),
            r.stake.get(),
            r.unbonding.get(),
            r.unbonding_ready_at.get().to(),
        )
    }

    /// A validator's record: votes with the majority, against it, no-shows,
    /// total earned, total slashed.
    pub fn validator_record(&self, validator: Address) -> (u64, u64, u64, U256, U256) {
        let r = self.validators.get(validator);
        (
            r.votes_with_majority.get().to(),
            r.votes_against_majority.get().to(),
            r.no_shows.get().to(),
            r.total_earned.get(),
            r.total_slashed.get(),
        )
    }

    /// Stake that currently counts for draws.
    pub fn total_draw_weight(&self) -> U256 {
        U256::from(self.tree.get(1))
    }

    /// Minimum validator stake and unbonding delay.
    pub fn parameters(&self) -> (U256, u64) {
        (
            self.min_validator_stake.get(),
            self.unbonding_delay.get().to(),
        )
    }

    /// Sets the minimum validator stake (non-zero) and the unbonding delay
    /// (within bounds). Existing stakes below a raised minimum keep their
    /// weight until they change. Governor only.
    ///
    /// # Errors
    /// Not the governor, or a value out of bounds.
    pub fn set_parameters(
        &mut self,
        min_validator_stake: U256,
        unbonding_delay: u64,
    ) -> RegistryResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.governor.get())
            .map_err(|e| Revert::Own(e.into()))?;
        if min_validator_stake.is_zero() {
            return own(ZeroAmount {});
        }
        shared::check_bounds(unbonding_delay, MIN_UNBONDING_DELAY, MAX_UNBONDING_DELAY)
            .map_err(|e| Revert::Own(e.into()))?;
        self.min_validator_stake.set(min_validator_stake);
        self.unbonding_delay.set(U64::from(unbonding_delay));
        log(
            self.vm(),
            RegistryParametersUpdated {
                minValidatorStake: min_validator_stake,
                unbondingDelay: unbonding_delay,
            },
        );
        Ok(())
    }
}

impl Registry {
    fn only(&self, allowed: Address) -> RegistryResult<()> {
        shared::only_caller(self.vm().msg_sender(), allowed).map_err(|e| Revert::Own(e.into()))
    }

    fn not_drawing(&self) -> RegistryResult<()> {
        let pending: u32 = self.pending_draws.get().to();
        if pending != 0 {
            return own(DrawPending {
                pendingDraws: pending,
            });
        }
        Ok(())
    }

    /// Marks `validator` as serving on one more case.
    fn assign(&mut self, validator: Address) -> RegistryResult<()> {
        let mut record = self.validators.setter(validator);
        let cases: u32 = record
            .active_cases
            .get()
            .to::<u32>()
            .checked_add(1)
            .ok_or_else(overflow)?;
        record.active_cases.set(U32::from(cases));
        log(
            self.vm(),
            ValidatorAssigned {
                validator,
                activeCases: cases,
            },
        );
        Ok(())
    }

    /// Draws up to `count` distinct validators (see [`Registry::draw_validators`]).
    fn draw(&self, seed: B256, count: u32, exclude_a: Address, exclude_b: Address) -> Vec<Address> {
        // Weight taken out of the tree for this draw only (excluded and
        // already drawn validators), per node: nothing is written.
        let mut removed: Vec<(u32, u128)> = Vec::new();
        for excluded in [exclude_a, exclude_b] {
            let slot: u32 = self.validators.get(excluded).slot.get().to();
            if slot != 0 {
                self.remove_leaf(&mut removed, slot);
            }
        }
        let mut drawn = Vec::new();
        for round in 0..count {
            let total = self.node_weight(&removed, 1);
            if total == 0 {
                break;
            }
            // 128 random bits modulo the total weight: the bias is at most
            // total / 2^128, negligible for any real token supply.
            let hash = keccak256([seed.as_slice(), &round.to_be_bytes()].concat());
            let mut random = [0u8; 16];
            random.copy_from_slice(&hash[16..]);
            let mut target = u128::from_be_bytes(random) % total;
            let mut node = 1u32;
            while node < MAX_VALIDATORS {
                let left = node * 2;
                let left_weight = self.node_weight(&removed, left);
                if target < left_weight {
                    node = left;
                } else {
                    target -= left_weight;
                    node = left + 1;
                }
            }
            let slot = node - MAX_VALIDATORS + 1;
            drawn.push(self.slot_owner.get(slot));
            self.remove_leaf(&mut removed, slot);
        }
        drawn
    }

    fn store_provider(&mut self, provider: Address, hardware: &Hardware) -> RegistryResult<()> {
        if hardware.is_empty() {
            return own(EmptyHardware {});
        }
        let mut record = self.providers.setter(provider);
        record.registered.set(true);
        record.hardware.write(hardware);
        Ok(())
    }

    /// The validator's slot, taking a free one if it has none.
    fn ensure_slot(&mut self, validator: Address) -> RegistryResult<u32> {
        let slot: u32 = self.validators.get(validator).slot.get().to();
        if slot != 0 {
            return Ok(slot);
        }
        let slot = match self.free_slots.pop() {
            Some(free) => free.to(),
            None => {
                let used: u32 = self.slots_used.get().to();
                if used >= MAX_VALIDATORS {
                    return own(ValidatorSetFull {
                        capacity: MAX_VALIDATORS,
                    });
                }
                self.slots_used.set(U32::from(used + 1));
                used + 1
            }
        };
        self.validators.setter(validator).slot.set(U32::from(slot));
        self.slot_owner.setter(slot).set(validator);
        Ok(slot)
    }

    /// Sets a slot's draw weight to `stake` and updates its ancestors.
    /// Weights are 128-bit: a stake above `u128::MAX` is refused.
    fn set_weight(&mut self, slot: u32, stake: U256) -> RegistryResult<()> {
        if slot == 0 {
            return Ok(());
        }
        let stake = u128::try_from(stake).map_err(|_| overflow())?;
        let mut node = MAX_VALIDATORS + slot - 1;
        let old: u128 = self.tree.get(node).to();

        for _ in 0..=TREE_DEPTH {
            // Every ancestor's weight includes `old`, so the subtraction cannot underflow.
            let current: u128 = self.tree.get(node).to();
            let updated = (current - old).checked_add(stake).ok_or_else(overflow)?;
            self.tree.setter(node).set(U128::from(updated));
            node /= 2;
        }
        Ok(())
    }

    fn node_weight(&self, removed: &[(u32, u128)], node: u32) -> u128 {
        let taken: u128 = removed
            .iter()
            .filter(|(n, _)| *n == node)
            .map(|(_, w)| *w)
            .sum();
        self.tree.get(node).to::<u128>().saturating_sub(taken)
    }

    fn remove_leaf(&self, removed: &mut Vec<(u32, u128)>, slot: u32) {
        let mut node = MAX_VALIDATORS + slot - 1;
        let weight = self.node_weight(removed, node);
        if weight == 0 {
            return;
        }
        for _ in 0..=TREE_DEPTH {
            removed.push((node, weight));
            node /= 2;
        }
    }
}

fn increment(counter: &mut StorageU64) -> RegistryResult<()> {
    let next = counter
        .get()
        .checked_add(U64::from(1))
        .ok_or_else(overflow)?;
    counter.set(next);
    Ok(())
}
