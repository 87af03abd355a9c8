//! The registry: provider registration, validator staking and unbonding,
//! stake-weighted draws, and access control.

use std::collections::HashMap;

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use pond_common::{interfaces::Revert, types::Hardware};
use pond_contract_tests::{advance, machine, own_error, tokens, Protocol, MIN_STAKE};
use pond_registry::{ProviderRegistered, ProviderUpdated, RegistryError, MAX_DRAW};

const PROVIDER: Address = Address::repeat_byte(0xa1);
const STRANGER: Address = Address::repeat_byte(0x99);

#[test]
fn providers_register_once_and_update_afterwards() {
    let p = Protocol::deploy();
    let err = own_error(
        p.registry
            .sender(PROVIDER)
            .register_provider(Hardware::default(), "x".into()),
    );
    assert!(matches!(err, RegistryError::EmptyHardware(_)));
    let err = own_error(
        p.registry
            .sender(PROVIDER)
            .update_provider(machine(1), "x".into()),
    );
    assert!(matches!(err, RegistryError::ProviderNotRegistered(_)));
    p.registry
        .sender(PROVIDER)
        .register_provider(machine(1), "ipfs://a".into())
        .motsu_unwrap();
    p.registry.assert_emitted(&ProviderRegistered {
        provider: PROVIDER,
        gpuCount: 1,
        gpuMemoryGb: 24,
        cpuCores: 16,
        ramGb: 64,
        diskGb: 500,
        metadataUri: "ipfs://a".into(),
    });
    let err = own_error(
        p.registry
            .sender(PROVIDER)
            .register_provider(machine(1), "x".into()),
    );
    assert!(matches!(err, RegistryError::ProviderAlreadyRegistered(_)));
    p.registry
        .sender(PROVIDER)
        .update_provider(machine(3), "ipfs://b".into())
        .motsu_unwrap();
    p.registry.assert_emitted(&ProviderUpdated {
        provider: PROVIDER,
        gpuCount: 3,
        gpuMemoryGb: 24,
        cpuCores: 16,
        ramGb: 64,
        diskGb: 500,
        metadataUri: "ipfs://b".into(),
    });
    assert_eq!(
        p.registry.sender(STRANGER).provider_hardware(PROVIDER),
        (true, 3, 24, 16, 64, 500)
    );
    assert!(!p.registry.sender(STRANGER).provider_hardware(STRANGER).0);
}

#[test]
fn staking_locks_vault_funds_and_unbonding_waits_for_the_delay() {
    let p = Protocol::deploy();
    let v = Address::repeat_byte(0x41);
    p.fund(v, tokens(500));
    assert!(matches!(
        own_error(p.registry.sender(v).stake(U256::ZERO)),
        RegistryError::ZeroAmount(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(v).stake(tokens(99))),
        RegistryError::StakeBelowMinimum(_)
    ));
    p.registry.sender(v).stake(tokens(300)).motsu_unwrap();
    assert_eq!(p.balances(v), (tokens(200), tokens(300)));
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), tokens(300));
    // More than available: the vault refuses, nothing changes.
    let err = p.registry.sender(v).stake(tokens(201)).motsu_unwrap_err();
    assert!(matches!(err, Revert::Bubbled(_)));
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(v).2,
        tokens(300)
    );

    assert!(matches!(
        own_error(p.registry.sender(v).request_unbond(tokens(301))),
        RegistryError::InsufficientStake(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(v).request_unbond(tokens(250))),
        RegistryError::StakeBelowMinimum(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(v).withdraw_unbonded()),
        RegistryError::NothingUnbonding(_)
    ));
    p.registry
        .sender(v)
        .request_unbond(tokens(100))
        .motsu_unwrap();
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), tokens(200));
    assert!(matches!(
        own_error(p.registry.sender(v).withdraw_unbonded()),
        RegistryError::UnbondingNotReady(_)
    ));
    advance(7 * 86_400);
    p.registry.sender(v).withdraw_unbonded().motsu_unwrap();
    assert_eq!(p.balances(v), (tokens(300), tokens(200)));
    // Leaving entirely frees the slot for the next validator.
    p.registry
        .sender(v)
        .request_unbond(tokens(200))
        .motsu_unwrap();
    advance(7 * 86_400);
    p.registry.sender(v).withdraw_unbonded().motsu_unwrap();
    assert_eq!(p.balances(v), (tokens(500), U256::ZERO));
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(v),
        (0, 0, U256::ZERO, U256::ZERO, p.now())
    );
    let w = Address::repeat_byte(0x42);
    p.stake_validator(w, tokens(100));
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(w).0,
        1,
        "slot 1 reused"
    );
    p.assert_vault_invariant();
}

#[test]
fn draws_are_distinct_exclude_parties_and_follow_stake() {
    let p = Protocol::deploy();
    // Stakes 100, 200, 300, 400 (×MIN_STAKE/100 tokens).
    let vs: Vec<Address> = (1..=4).map(|i| Address::repeat_byte(0x40 + i)).collect();
    for (i, v) in vs.iter().enumerate() {
        p.stake_validator(*v, U256::from(MIN_STAKE) * U256::from(i + 1));
    }
    let mut counts: HashMap<Address, u32> = HashMap::new();
    let rounds = 2_000u32;
    for seed in 0..rounds {
        let seed = B256::from(U256::from(seed));
        let drawn = p
            .registry
            .sender(p.mediation.address())
            .draw_validators(seed, U256::from(1), Address::ZERO, Address::ZERO)
            .motsu_unwrap();
        assert_eq!(drawn.len(), 1);
        *counts.entry(drawn[0]).or_default() += 1;
    }
    // Expected shares 10 %, 20 %, 30 %, 40 %; allow ±4 points over 2 000 draws.
    for (i, v) in vs.iter().enumerate() {
        let share = f64::from(counts[v]) / f64::from(rounds);
        let expected = (i + 1) as f64 / 10.0;
        assert!(
            (share - expected).abs() < 0.04,
            "validator {i}: {share} vs {expected}"
        );
    }
    for seed in 0..200u32 {
        let seed = B256::from(U256::from(seed));
        let drawn = p
            .registry
            .sender(p.mediation.address())
            .draw_validators(seed, U256::from(3), vs[3], vs[0])
            .motsu_unwrap();
        assert_eq!(drawn.len(), 2, "only two eligible validators remain");
        assert!(!drawn.contains(&vs[3]) && !drawn.contains(&vs[0]));
        assert_ne!(drawn[0], drawn[1]);
    }
    let all = p
        .registry
        .sender(p.mediation.address())
        .draw_validators(B256::ZERO, U256::from(9), Address::ZERO, Address::ZERO)
        .motsu_unwrap();
    assert_eq!(all.len(), 4);
}

#[test]
fn protocol_hooks_are_reserved() {
    let p = Protocol::deploy();
    let v = Address::repeat_byte(0x41);
    assert!(matches!(
        own_error(
            p.registry
                .sender(STRANGER)
                .record_provider_outcome(PROVIDER, 0, tokens(1))
        ),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(
            p.registry
                .sender(p.market.address())
                .record_provider_outcome(PROVIDER, 0, tokens(1))
        ),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(STRANGER).request_draw()),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(STRANGER).draw_validators(
            B256::ZERO,
            U256::from(1),
            Address::ZERO,
            Address::ZERO
        )),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(
            p.registry
                .sender(STRANGER)
                .release_validator(v, 0, U256::ZERO)
        ),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(
            p.registry
                .sender(STRANGER)
                .slash_validator(v, U256::from(1))
        ),
        RegistryError::UnauthorizedCaller(_)
    ));
    let deals = p.deals.address();
    assert!(matches!(
        own_error(
            p.registry
                .sender(deals)
                .record_provider_outcome(PROVIDER, 9, tokens(1))
        ),
        RegistryError::UnknownOutcome(_)
    ));
    let mediation = p.mediation.address();
    assert!(matches!(
        own_error(
            p.registry
                .sender(mediation)
                .release_validator(v, 0, U256::ZERO)
        ),
        RegistryError::ValidatorNotServing(_)
    ));
    let err = own_error(
        p.registry
            .sender(mediation)
            .slash_validator(v, U256::from(10_001)),
    );
    assert!(matches!(err, RegistryError::ParameterOutOfBounds(_)));
}

#[test]
fn parameters_are_owner_only_and_bounded() {
    let p = Protocol::deploy();
    assert!(matches!(
        own_error(p.registry.sender(STRANGER).set_parameters(tokens(1), 3_600)),
        RegistryError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(p.registry.sender(p.owner).set_parameters(U256::ZERO, 3_600)),
        RegistryError::ZeroAmount(_)
    ));
    for delay in [3_599, 30 * 86_400 + 1] {
        assert!(matches!(
            own_error(p.registry.sender(p.owner).set_parameters(tokens(1), delay)),
            RegistryError::ParameterOutOfBounds(_)
        ));
    }
    p.registry
        .sender(p.owner)
        .set_parameters(tokens(1), 3_600)
        .motsu_unwrap();
    assert_eq!(p.registry.sender(STRANGER).parameters(), (tokens(1), 3_600));
    let err = own_error(p.registry.sender(p.owner).initialize(
        p.vault.address(),
        p.deals.address(),
        p.mediation.address(),
        tokens(1),
        p.owner,
    ));
    assert!(matches!(err, RegistryError::AlreadyInitialized(_)));
}

#[test]
fn the_validator_set_is_bounded_by_the_sum_tree() {
    let p = Protocol::deploy();
    let capacity = pond_registry::MAX_VALIDATORS;
    for i in 0..capacity {
        let v = Address::from_word(B256::from(U256::from(0x1_0000 + i)));
        p.stake_validator(v, U256::from(MIN_STAKE));
    }
    assert_eq!(
        p.registry.sender(STRANGER).total_draw_weight(),
        U256::from(MIN_STAKE) * U256::from(capacity)
    );
    let late = Address::repeat_byte(0x77);
    p.fund(late, U256::from(MIN_STAKE));
    assert!(matches!(
        own_error(p.registry.sender(late).stake(U256::from(MIN_STAKE))),
        RegistryError::ValidatorSetFull(_)
    ));
    // Draws stay well-formed at full capacity, and never exceed MAX_DRAW
    // whatever is asked.
    let drawn = p
        .registry
        .sender(p.mediation.address())
        .draw_validators(
            B256::repeat_byte(9),
            U256::from(MAX_DRAW + 5),
            Address::ZERO,
            Address::ZERO,
        )
        .motsu_unwrap();
    assert_eq!(drawn.len(), MAX_DRAW as usize);
    let unique: std::collections::HashSet<_> = drawn.iter().collect();
    assert_eq!(unique.len(), drawn.len());
    assert!(!drawn.contains(&Address::ZERO));

    // A full set stays open to larger stakes: a newcomer takes the place of
    // a smaller validator, whose stake starts unbonding.
    let smallest = Address::from_word(B256::from(U256::from(0x1_0000 + 17)));
    let serious = Address::repeat_byte(0x78);
    p.fund(serious, U256::from(MIN_STAKE) * U256::from(2));
    // Not more than the one it would replace: refused.
    assert!(matches!(
        own_error(
            p.registry
                .sender(late)
                .stake_replacing(U256::from(MIN_STAKE), smallest)
        ),
        RegistryError::InsufficientStake(_)
    ));
    let slot = p.registry.sender(STRANGER).validator_state(smallest).0;
    p.registry
        .sender(serious)
        .stake_replacing(U256::from(MIN_STAKE) * U256::from(2), smallest)
        .motsu_unwrap();
    let taken = p.registry.sender(STRANGER).validator_state(serious);
    assert_eq!(
        (taken.0, taken.2),
        (slot, U256::from(MIN_STAKE) * U256::from(2))
    );
    let left = p.registry.sender(STRANGER).validator_state(smallest);
    assert_eq!(
        (left.0, left.2, left.3),
        (0, U256::ZERO, U256::from(MIN_STAKE))
    );
    assert_eq!(
        p.registry.sender(STRANGER).total_draw_weight(),
        U256::from(MIN_STAKE) * U256::from(capacity + 1)
    );
    // The displaced validator withdraws after the unbonding delay.
    advance(pond_registry::DEFAULT_UNBONDING_DELAY);
    p.registry
        .sender(smallest)
        .withdraw_unbonded()
        .motsu_unwrap();
    assert_eq!(p.balances(smallest), (U256::from(MIN_STAKE), U256::ZERO));
    // The set is still full (the slot changed hands): an equal stake still
    // cannot get in.
    assert!(matches!(
        own_error(p.registry.sender(late).stake(U256::from(MIN_STAKE))),
        RegistryError::ValidatorSetFull(_)
    ));
    p.assert_vault_invariant();
}

#[test]
fn replacing_is_a_plain_stake_while_the_set_has_room() {
    let p = Protocol::deploy();
    let first = Address::repeat_byte(0x41);
    let second = Address::repeat_byte(0x42);
    p.stake_validator(first, U256::from(MIN_STAKE));
    p.fund(second, U256::from(MIN_STAKE) * U256::from(2));
    p.registry
        .sender(second)
        .stake_replacing(U256::from(MIN_STAKE) * U256::from(2), first)
        .motsu_unwrap();
    // Nobody was displaced: both hold their stake and a slot of their own.
    let (a, b) = (
        p.registry.sender(STRANGER).validator_state(first),
        p.registry.sender(STRANGER).validator_state(second),
    );
    assert_eq!(
        (a.2, b.2),
        (U256::from(MIN_STAKE), U256::from(MIN_STAKE) * U256::from(2))
    );
    assert_ne!(a.0, b.0);
    p.assert_vault_invariant();
}
