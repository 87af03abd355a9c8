//! `Timelock`: Pond's governance delay.
//!
//! The timelock is the governor of every contract that has parameters
//! (vault, registry, market, deals, mediation): they accept parameter
//! changes from it alone. Its admin schedules a call — any governor-only
//! function with its arguments — and anyone executes it once the delay has
//! passed; the admin may cancel it until then. So every parameter change
//! is public for at least [`MIN_DELAY`] before it takes effect: long enough
//! for a validator to stop being drawn (it may start unbonding at any time,
//! even while it serves) and for everyone to see what is coming. Running
//! deals and cases keep the parameters they opened with, so a change never
//! reaches them at all.
//!
//! One call skips the delay: `emergencyPause(target)` calls `pause()`,
//! which stops new jobs, bids and offers and never touches money or stake.
//! The delay itself and the admin change only through scheduled calls to
//! the timelock; a new admin accepts before it rules.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{keccak256, Address, B256, U64};
use alloy_sol_types::SolValue;
use pond_common::{
    clock, errors as shared,
    interfaces::{bubble, Revert},
};
use stylus_sdk::{
    abi::Bytes,
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU64},
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::ITimelockEvents::*;

/// Shortest delay: 2 days.
pub const MIN_DELAY: u64 = 2 * 24 * 60 * 60;
/// Longest delay: 30 days.
pub const MAX_DELAY: u64 = 30 * 24 * 60 * 60;
/// `pause()`.
pub const PAUSE: [u8; 4] = [0x84, 0x56, 0xcb, 0x59];

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// No call with this id is scheduled.
        #[derive(Debug)]
        error NotScheduled(bytes32 id);
        /// The same call (target, data and salt) is already scheduled.
        #[derive(Debug)]
        error AlreadyScheduled(bytes32 id);
        /// The call's delay has not passed yet.
        #[derive(Debug)]
        error NotReady(uint64 readyAt, uint64 now);
    }
}
pub use errors::*;
pub use pond_common::errors::{
    AlreadyInitialized, ParameterOutOfBounds, UnauthorizedCaller, ZeroAddress,
};

/// Everything the timelock can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum TimelockError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    UnauthorizedCaller(UnauthorizedCaller),
    ParameterOutOfBounds(ParameterOutOfBounds),
    NotScheduled(NotScheduled),
    AlreadyScheduled(AlreadyScheduled),
    NotReady(NotReady),
}

/// The timelock's result type: its own errors or a called contract's revert data.
pub type TimelockResult<T> = Result<T, Revert<TimelockError>>;

fn own<T>(error: impl Into<TimelockError>) -> TimelockResult<T> {
    Err(Revert::Own(error.into()))
}

/// The timelock's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Timelock {
    initialized: StorageBool,
    admin: StorageAddress,
    pending_admin: StorageAddress,
    delay: StorageU64,
    /// When each scheduled call may run (0: not scheduled).
    ready_at: StorageMap<B256, StorageU64>,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Timelock {}

#[public]
impl Timelock {
    /// Sets the admin and the delay. Runs once, by the deployer.
    ///
    /// # Errors
    /// Not the deployer, a second call, a zero admin or a delay out of bounds.
    pub fn initialize(&mut self, admin: Address, delay: u64) -> TimelockResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if admin.is_zero() {
            return own(ZeroAddress {});
        }
        check_delay(delay)?;
        self.initialized.set(true);
        self.admin.set(admin);
        self.delay.set(U64::from(delay));
        log(self.vm(), TimelockInitialized { admin, delay });
        Ok(())
    }

    /// Schedules `data` to be called on `target` once the delay has passed.
    /// `salt` tells apart two identical calls. Admin only. Returns the
    /// call's id, `keccak256(abi.encode(target, data, salt))`.
    ///
    /// # Errors
    /// Not the admin, or the same call already scheduled.
    pub fn schedule(&mut self, target: Address, data: Bytes, salt: B256) -> TimelockResult<B256> {
        self.only_admin()?;
        let id = call_id(target, &data, salt);
        if self.ready_at.get(id) != U64::ZERO {
            return own(AlreadyScheduled { id });
        }
        let ready_at = clock::now(self.vm()).saturating_add(self.delay.get().to());
        self.ready_at.setter(id).set(U64::from(ready_at));
        log(
            self.vm(),
            CallScheduled {
                id,
                target,
                data: data.to_vec().into(),
                salt,
                readyAt: ready_at,
            },
        );
        Ok(id)
    }

    /// Cancels a scheduled call. Admin only.
    ///
    /// # Errors
    /// Not the admin, or nothing scheduled under `id`.
    pub fn cancel(&mut self, id: B256) -> TimelockResult<()> {
        self.only_admin()?;
        if self.ready_at.get(id) == U64::ZERO {
            return own(NotScheduled { id });
        }
        self.ready_at.setter(id).set(U64::ZERO);
        log(self.vm(), CallCancelled { id });
        Ok(())
    }

    /// Runs a scheduled call whose delay has passed; anyone may. The call's
    /// revert data, if it fails, is passed through unchanged.
    ///
    /// # Errors
    /// Not scheduled, not ready yet, or the target's error.
    pub fn execute(&mut self, target: Address, data: Bytes, salt: B256) -> TimelockResult<()> {
        let id = call_id(target, &data, salt);
        let ready_at: u64 = self.ready_at.get(id).to();
        if ready_at == 0 {
            return own(NotScheduled { id });
        }
        let now = clock::now(self.vm());
        if now < ready_at {
            return own(NotReady {
                readyAt: ready_at,
                now,
            });
        }
        // Effects first: a call runs once.
        self.ready_at.setter(id).set(U64::ZERO);
        self.call(target, &data)?;
        log(self.vm(), CallExecuted { id, target });
        Ok(())
    }

    /// Calls `pause()` on `target` at once. Admin only. Pausing stops new
    /// jobs, bids and offers; it never moves money or stake.
    ///
    /// # Errors
    /// Not the admin, or the target's error.
    pub fn emergency_pause(&mut self, target: Address) -> TimelockResult<()> {
        self.only_admin()?;
        self.call(target, &PAUSE)?;
        log(self.vm(), EmergencyPause { target });
        Ok(())
    }

    /// Changes the delay. Only the timelock itself, through a scheduled call.
    ///
    /// # Errors
    /// Another caller, or a delay out of bounds.
    pub fn set_delay(&mut self, delay: u64) -> TimelockResult<()> {
        self.only_self()?;
        check_delay(delay)?;
        self.delay.set(U64::from(delay));
        log(self.vm(), DelayChanged { delay });
        Ok(())
    }

    /// Proposes a new admin, who must accept. Only the timelock itself,
    /// through a scheduled call.
    ///
    /// # Errors
    /// Another caller, or the zero address.
    pub fn transfer_admin(&mut self, pending_admin: Address) -> TimelockResult<()> {
        self.only_self()?;
        if pending_admin.is_zero() {
            return own(ZeroAddress {});
        }
        self.pending_admin.set(pending_admin);
        log(
            self.vm(),
            AdminProposed {
                pendingAdmin: pending_admin,
            },
        );
        Ok(())
    }

    /// The proposed admin takes over.
    ///
    /// # Errors
    /// The caller is not the proposed admin.
    pub fn accept_admin(&mut self) -> TimelockResult<()> {
        let caller = self.vm().msg_sender();
        shared::only_caller(caller, self.pending_admin.get()).map_err(|e| Revert::Own(e.into()))?;
        self.pending_admin.set(Address::ZERO);
        self.admin.set(caller);
        log(self.vm(), AdminChanged { admin: caller });
        Ok(())
    }

    /// The admin.
    pub fn admin(&self) -> Address {
        self.admin.get()
    }

    /// The proposed admin (zero when none).
    pub fn pending_admin(&self) -> Address {
        self.pending_admin.get()
    }

    /// The delay, in seconds.
    pub fn delay(&self) -> u64 {
        self.delay.get().to()
    }

    /// When the call `id` may run (0: not scheduled).
    pub fn ready_at(&self, id: B256) -> u64 {
        self.ready_at.get(id).to()
    }
}

impl Timelock {
    fn only_admin(&self) -> TimelockResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.admin.get())
            .map_err(|e| Revert::Own(e.into()))
    }

    fn only_self(&self) -> TimelockResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.vm().contract_address())
            .map_err(|e| Revert::Own(e.into()))
    }

    fn call(&mut self, target: Address, data: &[u8]) -> TimelockResult<()> {
        // The same call the SDK's generated interfaces make.
        #[allow(deprecated)]
        stylus_sdk::call::call(&mut *self, target, data)
            .map(|_| ())
            .map_err(bubble)
    }
}

/// A scheduled call's id: `keccak256(abi.encode(target, data, salt))`.
#[must_use]
pub fn call_id(target: Address, data: &[u8], salt: B256) -> B256 {
    keccak256((target, alloy_primitives::Bytes::copy_from_slice(data), salt).abi_encode())
}

fn check_delay(delay: u64) -> TimelockResult<()> {
    shared::check_bounds(delay, MIN_DELAY, MAX_DELAY).map_err(|e| Revert::Own(e.into()))
}
