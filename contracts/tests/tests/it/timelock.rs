//! The governance timelock: every parameter change waits out the delay in
//! public, anyone executes it, the admin may cancel it; only `pause()` is
//! immediate; the delay and the admin change through the timelock itself.

use alloy_primitives::{Address, B256};
use alloy_sol_types::SolCall;
use motsu::prelude::*;
use openzeppelin_stylus::utils::pausable::IPausable;
use pond_common::interfaces::Revert;
use pond_contract_tests::{advance, own_error, tokens, Protocol};
use pond_mediation::MediationError;
use pond_timelock::{call_id, TimelockError, MAX_DELAY, MIN_DELAY};
use stylus_sdk::abi::Bytes;

const STRANGER: Address = Address::repeat_byte(0x99);
const SALT: B256 = B256::ZERO;

alloy_sol_types::sol! {
    function setParameters(uint256 mediationFee, uint8 validatorsPerCase, uint64 commitWindow, uint64 revealWindow, uint64 validatorRewardBps, uint64 slashBps);
    function setDelay(uint64 delay);
    function transferAdmin(address pendingAdmin);
}

/// Mediation parameters that would turn stake into treasury income.
fn hostile_parameters() -> Bytes {
    Bytes::from(
        setParametersCall {
            mediationFee: tokens(10),
            validatorsPerCase: 3,
            commitWindow: 60,
            revealWindow: 60,
            validatorRewardBps: 0,
            slashBps: 5_000,
        }
        .abi_encode(),
    )
}

#[test]
fn the_timelock_governs_every_parameterized_contract() {
    let p = Protocol::deploy_governed(MIN_DELAY);
    let timelock = p.timelock.address();
    assert_eq!(p.vault.sender(STRANGER).governor(), timelock);
    assert_eq!(p.registry.sender(STRANGER).governor(), timelock);
    assert_eq!(p.market.sender(STRANGER).governor(), timelock);
    assert_eq!(p.deals.sender(STRANGER).governor(), timelock);
    assert_eq!(p.mediation.sender(STRANGER).governor(), timelock);
    // The timelock's admin cannot change anything directly.
    assert!(matches!(
        own_error(
            p.mediation
                .sender(p.owner)
                .set_parameters(tokens(10), 3, 60, 60, 0, 5_000)
        ),
        MediationError::UnauthorizedCaller(_)
    ));
    // A second initialization is refused.
    let err = p
        .timelock
        .sender(STRANGER)
        .initialize(STRANGER, MIN_DELAY)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::AlreadyInitialized(_))
    ));
}

#[test]
fn a_parameter_change_waits_out_the_delay_in_public_and_runs_once() {
    let p = Protocol::deploy_governed(MIN_DELAY);
    let target = p.mediation.address();
    let data = hostile_parameters();
    // Only the admin schedules.
    let err = p
        .timelock
        .sender(STRANGER)
        .schedule(target, data.clone(), SALT)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::UnauthorizedCaller(_))
    ));
    let id = p
        .timelock
        .sender(p.owner)
        .schedule(target, data.clone(), SALT)
        .motsu_unwrap();
    assert_eq!(id, call_id(target, &data, SALT));
    assert_eq!(
        p.timelock.sender(STRANGER).ready_at(id),
        p.now() + MIN_DELAY
    );
    // Before the delay nobody can run it, not even the admin.
    advance(MIN_DELAY - 1);
    let err = p
        .timelock
        .sender(p.owner)
        .execute(target, data.clone(), SALT)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(TimelockError::NotReady(_))));
    assert_eq!(p.mediation.sender(STRANGER).parameters().5, 1_000);
    // After it, anyone runs it, once.
    advance(1);
    p.timelock
        .sender(STRANGER)
        .execute(target, data.clone(), SALT)
        .motsu_unwrap();
    assert_eq!(p.mediation.sender(STRANGER).parameters().5, 5_000);
    let err = p
        .timelock
        .sender(STRANGER)
        .execute(target, data, SALT)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(TimelockError::NotScheduled(_))));
}

#[test]
fn a_failing_call_passes_the_targets_error_through_and_stays_scheduled() {
    let p = Protocol::deploy_governed(MIN_DELAY);
    let target = p.mediation.address();
    // An even committee size is out of bounds.
    let data = Bytes::from(
        setParametersCall {
            mediationFee: tokens(10),
            validatorsPerCase: 4,
            commitWindow: 600,
            revealWindow: 600,
            validatorRewardBps: 0,
            slashBps: 0,
        }
        .abi_encode(),
    );
    p.timelock
        .sender(p.owner)
        .schedule(target, data.clone(), SALT)
        .motsu_unwrap();
    advance(MIN_DELAY);
    let err = p
        .timelock
        .sender(STRANGER)
        .execute(target, data.clone(), SALT)
        .motsu_unwrap_err();
    let Revert::Bubbled(revert) = err else {
        panic!("expected mediation's error")
    };
    assert_eq!(
        &revert[..4],
        &<pond_mediation::ParameterOutOfBounds as alloy_sol_types::SolError>::SELECTOR
    );
    // The failed call rolled back: it can be cancelled.
    let id = call_id(target, &data, SALT);
    p.timelock.sender(p.owner).cancel(id).motsu_unwrap();
    assert_eq!(p.timelock.sender(STRANGER).ready_at(id), 0);
}

#[test]
fn the_admin_cancels_and_pauses_at_once_but_changes_the_delay_only_through_the_delay() {
    let p = Protocol::deploy_governed(MIN_DELAY);
    let target = p.mediation.address();
    let data = hostile_parameters();
    let id = p
        .timelock
        .sender(p.owner)
        .schedule(target, data.clone(), SALT)
        .motsu_unwrap();
    let err = p.timelock.sender(STRANGER).cancel(id).motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::UnauthorizedCaller(_))
    ));
    p.timelock.sender(p.owner).cancel(id).motsu_unwrap();
    advance(MIN_DELAY);
    let err = p
        .timelock
        .sender(STRANGER)
        .execute(target, data, SALT)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(TimelockError::NotScheduled(_))));

    // Pausing is immediate, for the admin only.
    let err = p
        .timelock
        .sender(STRANGER)
        .emergency_pause(p.market.address())
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::UnauthorizedCaller(_))
    ));
    p.timelock
        .sender(p.owner)
        .emergency_pause(p.market.address())
        .motsu_unwrap();
    assert!(p.market.sender(STRANGER).paused());

    // The delay: not directly, not out of bounds, yes through the timelock.
    let err = p
        .timelock
        .sender(p.owner)
        .set_delay(MAX_DELAY)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::UnauthorizedCaller(_))
    ));
    let own_address = p.timelock.address();
    for (delay, ok) in [
        (MIN_DELAY - 1, false),
        (MAX_DELAY + 1, false),
        (MAX_DELAY, true),
    ] {
        let data = Bytes::from(setDelayCall { delay }.abi_encode());
        p.timelock
            .sender(p.owner)
            .schedule(own_address, data.clone(), SALT)
            .motsu_unwrap();
        advance(MIN_DELAY);
        let result = p
            .timelock
            .sender(STRANGER)
            .execute(own_address, data, SALT)
            .motsu_res();
        assert_eq!(result.is_ok(), ok, "delay {delay}");
    }
    assert_eq!(p.timelock.sender(STRANGER).delay(), MAX_DELAY);
}

#[test]
fn the_admin_moves_through_the_delay_and_an_acceptance() {
    let p = Protocol::deploy_governed(MIN_DELAY);
    let own_address = p.timelock.address();
    let data = Bytes::from(
        transferAdminCall {
            pendingAdmin: STRANGER,
        }
        .abi_encode(),
    );
    p.timelock
        .sender(p.owner)
        .schedule(own_address, data.clone(), SALT)
        .motsu_unwrap();
    advance(MIN_DELAY);
    p.timelock
        .sender(p.owner)
        .execute(own_address, data, SALT)
        .motsu_unwrap();
    assert_eq!(p.timelock.sender(STRANGER).admin(), p.owner);
    let err = p
        .timelock
        .sender(Address::repeat_byte(0x42))
        .accept_admin()
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(TimelockError::UnauthorizedCaller(_))
    ));
    p.timelock.sender(STRANGER).accept_admin().motsu_unwrap();
    assert_eq!(p.timelock.sender(STRANGER).admin(), STRANGER);
    assert_eq!(p.timelock.sender(STRANGER).pending_admin(), Address::ZERO);
}
