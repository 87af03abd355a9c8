//! The deal lifecycle after matching: commit, reveal, accept, finalize and
//! timeouts, with every balance checked to the unit.

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use pond_common::{commitment::result_commitment, interfaces::Revert};
use pond_contract_tests::{advance, tokens, Protocol};
use pond_deals::{completion, deal_state, DealCompleted, DealTimedOut, DealsError, ResultRevealed};

const CREATOR: Address = Address::repeat_byte(0xc1);
const PROVIDER: Address = Address::repeat_byte(0xa1);
const STRANGER: Address = Address::repeat_byte(0x99);

/// Creator funded with 1 000, provider with 500; a direct match of a job
/// (max 80) with an offer at 80: provider locks 160 + 40 collateral.
fn matched() -> (Protocol, U256) {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    let deal = p.direct_deal(CREATOR, PROVIDER, tokens(80), tokens(80));
    assert_eq!(p.balances(CREATOR), (tokens(920), tokens(80)));
    assert_eq!(p.balances(PROVIDER), (tokens(300), tokens(200)));
    (p, deal)
}

/// After completion: creator 920 free, provider 578 (300 + 78 + 200 collateral), treasury 2.
fn assert_completed(p: &Protocol, deal: U256, how: u8) {
    assert_eq!(p.balances(CREATOR), (tokens(920), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    assert_eq!(p.balances(p.treasury), (tokens(2), U256::ZERO));
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    p.deals.assert_emitted(&DealCompleted {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        how,
        paid: tokens(78),
        fee: tokens(2),
    });
    p.assert_vault_invariant();
}

#[test]
fn accept_pays_price_minus_fee_and_releases_collateral() {
    let (p, deal) = matched();
    p.deliver(PROVIDER, deal, B256::repeat_byte(0xee));
    assert_eq!(p.deal_state(deal), deal_state::REVEALED);
    p.deals.sender(CREATOR).accept_result(deal).motsu_unwrap();
    // Fee: 2.5 % of 80 = 2.
    assert_completed(&p, deal, completion::ACCEPTED);
    let record = p.registry.sender(STRANGER).provider_record(PROVIDER);
    assert_eq!((record.0, record.1, record.4), (1, 0, tokens(78)));
}

#[test]
fn finalize_after_judge_window_pays_like_accept() {
    let (p, deal) = matched();
    p.deliver(PROVIDER, deal, B256::repeat_byte(0xee));
    let err = p
        .deals
        .sender(STRANGER)
        .finalize_deal(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlineNotPassed(_))));
    advance(24 * 3600 + 1);
    // The creator can no longer judge.
    let err = p
        .deals
        .sender(CREATOR)
        .accept_result(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlinePassed(_))));
    let err = p
        .deals
        .sender(CREATOR)
        .challenge_result(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlinePassed(_))));
    p.deals.sender(STRANGER).finalize_deal(deal).motsu_unwrap();
    assert_completed(&p, deal, completion::FINALIZED);
    // Terminal: nothing more can happen.
    let err = p
        .deals
        .sender(STRANGER)
        .finalize_deal(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    let err = p
        .deals
        .sender(STRANGER)
        .claim_timeout(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    p.assert_vault_invariant();
}

#[test]
fn no_commit_by_execution_deadline_times_out() {
    let (p, deal) = matched();
    let err = p
        .deals
        .sender(STRANGER)
        .claim_timeout(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlineNotPassed(_))));
    advance(3600 + 1);
    let commitment = result_commitment(deal, PROVIDER, B256::repeat_byte(1), B256::repeat_byte(2));
    let err = p
        .deals
        .sender(PROVIDER)
        .commit_result(deal, commitment)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlinePassed(_))));
    p.deals.sender(STRANGER).claim_timeout(deal).motsu_unwrap();
    // Creator: price back plus the 40 timeout collateral.
    assert_eq!(p.balances(CREATOR), (tokens(1_040), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(460), U256::ZERO));
    assert_eq!(p.balances(p.treasury), (U256::ZERO, U256::ZERO));
    assert_eq!(p.deal_state(deal), deal_state::TIMED_OUT);
    p.deals.assert_emitted(&DealTimedOut {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        stage: 0,
        compensation: tokens(40),
    });
    let record = p.registry.sender(STRANGER).provider_record(PROVIDER);
    assert_eq!((record.1, record.5), (1, tokens(40)));
    // The offer's slot is free again.
    assert_eq!(p.offers.sender(STRANGER).offer(U256::from(1)).6, 0);
    p.assert_vault_invariant();
}

#[test]
fn no_reveal_by_reveal_deadline_times_out() {
    let (p, deal) = matched();
    let salt = B256::repeat_byte(9);
    let result = B256::repeat_byte(0xee);
    p.deals
        .sender(PROVIDER)
        .commit_result(deal, result_commitment(deal, PROVIDER, result, salt))
        .motsu_unwrap();
    advance(3600 + 1);
    let err = p
        .deals
        .sender(PROVIDER)
        .reveal_result(deal, result, "ipfs://late".into(), salt)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DeadlinePassed(_))));
    p.deals.sender(STRANGER).claim_timeout(deal).motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(1_040), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(460), U256::ZERO));
    p.deals.assert_emitted(&DealTimedOut {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        stage: 1,
        compensation: tokens(40),
    });
    p.assert_vault_invariant();
}

#[test]
fn reveal_must_match_commitment_and_only_the_provider_acts() {
    let (p, deal) = matched();
    let result = B256::repeat_byte(0xee);
    let salt = B256::repeat_byte(0x5a);
    let commitment = result_commitment(deal, PROVIDER, result, salt);
    let err = p
        .deals
        .sender(STRANGER)
        .commit_result(deal, commitment)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::NotDealProvider(_))));
    let err = p
        .deals
        .sender(PROVIDER)
        .commit_result(deal, B256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::ZeroCommitment(_))));
    let err = p
        .deals
        .sender(PROVIDER)
        .commit_result(U256::from(77), commitment)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DealNotFound(_))));
    p.deals
        .sender(PROVIDER)
        .commit_result(deal, commitment)
        .motsu_unwrap();
    let err = p
        .deals
        .sender(PROVIDER)
        .commit_result(deal, commitment)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    for (hash, salt_used) in [
        (B256::repeat_byte(0xef), salt),
        (result, B256::repeat_byte(1)),
    ] {
        let err = p
            .deals
            .sender(PROVIDER)
            .reveal_result(deal, hash, "ipfs://x".into(), salt_used)
            .motsu_unwrap_err();
        assert!(matches!(
            err,
            Revert::Own(DealsError::CommitmentMismatch(_))
        ));
    }
    let err = p
        .deals
        .sender(CREATOR)
        .accept_result(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    p.deals
        .sender(PROVIDER)
        .reveal_result(deal, result, "ipfs://result".into(), salt)
        .motsu_unwrap();
    assert!(p.deals.emitted(&ResultRevealed {
        dealId: deal,
        provider: PROVIDER,
        resultHash: result,
        resultUri: "ipfs://result".into(),
        judgeDeadline: p.now() + 24 * 3600,
    }));
    let err = p
        .deals
        .sender(STRANGER)
        .accept_result(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::NotDealCreator(_))));
    // Balances untouched by every refusal.
    assert_eq!(p.balances(CREATOR), (tokens(920), tokens(80)));
    assert_eq!(p.balances(PROVIDER), (tokens(300), tokens(200)));
    p.assert_vault_invariant();
}

#[test]
fn only_market_opens_and_only_mediation_settles() {
    let (p, deal) = matched();
    let err = p
        .deals
        .sender(STRANGER)
        .open_deal(
            U256::from(1),
            U256::ZERO,
            CREATOR,
            STRANGER,
            tokens(1),
            U256::ZERO,
            U256::ZERO,
            60,
        )
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(DealsError::UnauthorizedCaller(_))
    ));
    let err = p
        .deals
        .sender(CREATOR)
        .settle_mediation(deal, 0, U256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(DealsError::UnauthorizedCaller(_))
    ));
}

#[test]
fn parameters_are_owner_only_and_bounded() {
    let p = Protocol::deploy();
    let err = p
        .deals
        .sender(STRANGER)
        .set_parameters(100, 600, 600)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(DealsError::UnauthorizedCaller(_))
    ));
    for (fee, reveal, judge) in [(1_001, 600, 600), (100, 59, 600), (100, 600, 8 * 24 * 3600)] {
        let err = p
            .deals
            .sender(p.owner)
            .set_parameters(fee, reveal, judge)
            .motsu_unwrap_err();
        assert!(matches!(
            err,
            Revert::Own(DealsError::ParameterOutOfBounds(_))
        ));
    }
    p.deals
        .sender(p.owner)
        .set_parameters(1_000, 60, 60)
        .motsu_unwrap();
    assert_eq!(p.deals.sender(STRANGER).parameters(), (1_000, 60, 60));
    let err = p
        .deals
        .sender(p.owner)
        .initialize(
            p.vault.address(),
            p.registry.address(),
            p.market.address(),
            p.offers.address(),
            p.mediation.address(),
            p.owner,
        )
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(DealsError::AlreadyInitialized(_))
    ));
}

#[test]
fn mediation_settlement_is_checked_even_from_mediation() {
    let (p, deal) = matched();
    let mediation = p.mediation.address();
    // Not challenged yet.
    let err = p
        .deals
        .sender(mediation)
        .settle_mediation(deal, 0, U256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    let err = p
        .deals
        .sender(mediation)
        .settle_mediation(U256::from(9), 0, U256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DealNotFound(_))));
    let err = p
        .deals
        .sender(STRANGER)
        .claim_timeout(U256::from(9))
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::DealNotFound(_))));
    p.deliver(PROVIDER, deal, B256::repeat_byte(0xee));
    p.fund(CREATOR, tokens(10));
    p.deals
        .sender(CREATOR)
        .challenge_result(deal)
        .motsu_unwrap();
    let err = p
        .deals
        .sender(mediation)
        .settle_mediation(deal, 7, U256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::UnknownOutcome(_))));
    let err = p
        .deals
        .sender(mediation)
        .settle_mediation(deal, 1, tokens(161))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(DealsError::CollateralExceeded(_))
    ));
    // A challenged deal has no timeout and cannot be judged again.
    advance(30 * 86_400);
    let err = p
        .deals
        .sender(STRANGER)
        .claim_timeout(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    let err = p
        .deals
        .sender(STRANGER)
        .finalize_deal(deal)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(DealsError::WrongDealState(_))));
    assert_eq!(p.deal_state(deal), deal_state::CHALLENGED);
    p.assert_vault_invariant();
}
