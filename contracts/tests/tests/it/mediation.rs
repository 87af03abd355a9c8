//! Mediation: every outcome of a challenged deal, the redraw, unstaffed
//! cases, expired randomness, and the validators' errors.

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use pond_common::{commitment::vote_commitment, interfaces::Revert};
use pond_contract_tests::{advance, outputs_digest, tokens, Protocol, MEDIATION_FEE};
use pond_deals::{completion, deal_state, DealCompleted, DealRejected};
use pond_mediation::{case_state, CaseResolved, MediationError, RoundFailed};

const CREATOR: Address = Address::repeat_byte(0xc1);
const PROVIDER: Address = Address::repeat_byte(0xa1);
const STRANGER: Address = Address::repeat_byte(0x99);
const RESULT: B256 = B256::repeat_byte(0xee);
const OTHER: B256 = B256::repeat_byte(0xdd);

fn validators(n: u8) -> Vec<Address> {
    (1..=n).map(|i| Address::repeat_byte(0x40 + i)).collect()
}

/// A revealed deal (price 80, collateral 160 + 40), challenged; `n`
/// validators with 200 staked each. Returns the case id.
fn challenged(n: u8) -> (Protocol, U256, U256) {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    for v in validators(n) {
        p.stake_validator(v, tokens(200));
    }
    let deal = p.direct_deal(CREATOR, PROVIDER, tokens(80), tokens(80));
    p.deliver(PROVIDER, deal, RESULT);
    let case = p
        .deals
        .sender(CREATOR)
        .challenge_result(deal)
        .motsu_unwrap();
    assert_eq!(p.deal_state(deal), deal_state::CHALLENGED);
    // The mediation fee is locked from the creator.
    assert_eq!(p.balances(CREATOR), (tokens(910), tokens(90)));
    (p, deal, case)
}

fn drawn(p: &Protocol, case: U256) -> Vec<Address> {
    p.mediation.sender(STRANGER).case_validators(case)
}

fn vote_all(p: &Protocol, case: U256, votes: &[Option<B256>]) {
    let members = drawn(p, case);
    assert_eq!(members.len(), votes.len());
    for (v, vote) in members.iter().zip(votes) {
        if let Some(result) = vote {
            p.vote_commit(case, *v, *result);
        }
    }
    if votes.iter().any(Option::is_none) {
        advance(24 * 3600 + 1);
    }
    for (v, vote) in members.iter().zip(votes) {
        if let Some(result) = vote {
            p.vote_reveal(case, *v, *result);
        }
    }
    if votes.iter().any(Option::is_none) {
        advance(24 * 3600 + 1);
    }
}

fn stake_of(p: &Protocol, v: Address) -> U256 {
    p.registry.sender(STRANGER).validator_state(v).2
}

#[test]
fn majority_agreeing_completes_the_deal_and_pays_the_fee_to_the_majority() {
    let (p, deal, case) = challenged(5);
    p.draw(case, B256::repeat_byte(7));
    let members = drawn(&p, case);
    assert_eq!(members.len(), 3);
    assert!(!members.contains(&PROVIDER) && !members.contains(&CREATOR));
    vote_all(&p, case, &[Some(RESULT), Some(RESULT), Some(OTHER)]);
    p.mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap();

    // Deal completed: provider paid 78, fee 2 to the treasury.
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    // Mediation fee 10 000 000 split between two: 5 000 000 each, no dust.
    assert_eq!(p.balances(CREATOR), (tokens(910), U256::ZERO));
    for v in &members[..2] {
        assert_eq!(p.balances(*v), (tokens(5), tokens(200)));
        assert_eq!(
            p.registry.sender(STRANGER).validator_record(*v),
            (1, 0, 0, tokens(5), U256::ZERO)
        );
    }
    // The minority loses 10 % of its stake to the treasury.
    let minority = members[2];
    assert_eq!(stake_of(&p, minority), tokens(180));
    assert_eq!(p.balances(minority), (U256::ZERO, tokens(180)));
    assert_eq!(p.balances(p.treasury), (tokens(2) + tokens(20), U256::ZERO));
    assert_eq!(
        p.registry.sender(STRANGER).validator_record(minority),
        (0, 1, 0, U256::ZERO, tokens(20))
    );
    // Everyone is free to unbond again.
    for v in &members {
        assert_eq!(p.registry.sender(STRANGER).validator_state(*v).1, 0);
    }
    p.mediation.assert_emitted(&CaseResolved {
        caseId: case,
        dealId: deal,
        outcome: 0,
        round: 0,
        agree: 2,
        disagree: 1,
    });
    let record = p.registry.sender(STRANGER).provider_record(PROVIDER);
    assert_eq!((record.0, record.2), (0, 1));
    p.assert_vault_invariant();
}

#[test]
fn majority_disagreeing_compensates_the_creator_from_the_results_collateral() {
    let (p, deal, case) = challenged(3);
    p.draw(case, B256::repeat_byte(8));
    let members = drawn(&p, case);
    vote_all(&p, case, &[Some(OTHER), Some(OTHER), Some(OTHER)]);
    p.mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap();

    assert_eq!(p.deal_state(deal), deal_state::REJECTED);
    // Pool: 20 % of 160 = 32 tokens = 32 000 000, 10 666 666 each.
    let share = U256::from(10_666_666u64);
    let paid = share * U256::from(3);
    for v in &members {
        assert_eq!(p.balances(*v), (share, tokens(200)));
    }
    // Creator: 910 + price 80 + fee 10 + (160 − paid).
    assert_eq!(p.balances(CREATOR), (tokens(1_160) - paid, U256::ZERO));
    // Provider keeps its timeout collateral, loses the results collateral.
    assert_eq!(p.balances(PROVIDER), (tokens(340), U256::ZERO));
    assert_eq!(p.balances(p.treasury), (U256::ZERO, U256::ZERO));
    p.deals.assert_emitted(&DealRejected {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        compensation: tokens(160) - paid,
        collateralToValidators: paid,
    });
    let record = p.registry.sender(STRANGER).provider_record(PROVIDER);
    assert_eq!((record.3, record.5), (1, tokens(160)));
    p.assert_vault_invariant();
}

#[test]
fn no_majority_twice_pays_the_provider_returns_the_fee_and_slashes_no_shows() {
    let (p, deal, case) = challenged(5);
    p.draw(case, B256::repeat_byte(1));
    let first = drawn(&p, case);
    vote_all(&p, case, &[Some(RESULT), Some(OTHER), None]);
    p.mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap();
    p.mediation.assert_emitted(&RoundFailed {
        caseId: case,
        round: 0,
        agree: 1,
        disagree: 1,
    });
    assert_eq!(
        p.mediation.sender(STRANGER).case_info(case).3,
        case_state::AWAITING_DRAW
    );
    // The no-show lost 10 %; the others are released unpaid.
    assert_eq!(stake_of(&p, first[2]), tokens(180));
    assert_eq!(stake_of(&p, first[0]), tokens(200));
    assert_eq!(p.registry.sender(STRANGER).validator_record(first[2]).2, 1);

    p.draw(case, B256::repeat_byte(2));
    let second = drawn(&p, case);
    vote_all(&p, case, &[None, None, Some(RESULT)]);
    p.mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap();
    p.mediation.assert_emitted(&CaseResolved {
        caseId: case,
        dealId: deal,
        outcome: 2,
        round: 1,
        agree: 1,
        disagree: 0,
    });
    // Not shown wrong: the provider is paid as if accepted (80 − 2 fee),
    // the creator gets the mediation fee back, no validator is paid.
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    p.deals.assert_emitted(&DealCompleted {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        how: completion::UNDECIDED,
        paid: tokens(78),
        fee: tokens(2),
    });
    assert_eq!(p.balances(CREATOR), (tokens(920), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    // Every no-show lost 10 % of its stake at the time; the treasury holds exactly that.
    let slashed: U256 = validators(5)
        .iter()
        .map(|v| p.registry.sender(STRANGER).validator_record(*v).4)
        .sum();
    let no_shows: u64 = validators(5)
        .iter()
        .map(|v| p.registry.sender(STRANGER).validator_record(*v).2)
        .sum();
    assert_eq!(no_shows, 3);
    assert!(slashed >= tokens(20 + 20 + 18) && slashed <= tokens(60));
    assert_eq!(p.balances(p.treasury), (slashed + tokens(2), U256::ZERO));
    for v in second.iter().take(2) {
        assert!(stake_of(&p, *v) < tokens(200));
    }
    p.assert_vault_invariant();
}

#[test]
fn too_few_validators_end_without_decision_and_the_unrefuted_result_is_paid() {
    let (p, deal, case) = challenged(2);
    p.draw(case, B256::repeat_byte(3));
    assert_eq!(
        p.mediation.sender(STRANGER).case_info(case).3,
        case_state::RESOLVED
    );
    // A creator never keeps a revealed result for free: the provider is paid.
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    assert_eq!(p.balances(CREATOR), (tokens(920), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    // Nobody was drawn, so nobody serves and stake is no longer frozen.
    assert_eq!(p.registry.sender(STRANGER).pending_draws(), 0);
    p.assert_vault_invariant();
}

#[test]
fn expired_randomness_requests_a_new_round_and_unready_rounds_refuse_to_draw() {
    let (p, _deal, case) = challenged(3);
    let err = p
        .mediation
        .sender(STRANGER)
        .draw_validators(case)
        .motsu_unwrap_err();
    assert!(
        matches!(err, Revert::Bubbled(_)),
        "beacon's not-ready error bubbles up"
    );
    let first_round = p.beacon.sender(STRANGER).latest_round();
    p.beacon.sender(STRANGER).fulfil(first_round, B256::ZERO);
    p.mediation
        .sender(STRANGER)
        .draw_validators(case)
        .motsu_unwrap();
    let info = p.mediation.sender(STRANGER).case_info(case);
    assert_eq!(info.3, case_state::AWAITING_DRAW);
    assert_eq!(info.6, first_round + U256::from(1));
    p.draw(case, B256::repeat_byte(4));
    assert_eq!(
        p.mediation.sender(STRANGER).case_info(case).3,
        case_state::VOTING
    );
}

#[test]
fn unknown_cases_are_refused() {
    let p = Protocol::deploy();
    let unknown = U256::from(42);
    for err in [
        p.mediation
            .sender(STRANGER)
            .draw_validators(unknown)
            .motsu_unwrap_err(),
        p.mediation
            .sender(STRANGER)
            .resolve_case(unknown)
            .motsu_unwrap_err(),
        p.mediation
            .sender(STRANGER)
            .commit_vote(unknown, B256::repeat_byte(1))
            .motsu_unwrap_err(),
    ] {
        assert!(matches!(err, Revert::Own(MediationError::CaseNotFound(_))));
    }
}

#[test]
fn voting_rules_are_enforced() {
    let (p, _deal, case) = challenged(4);
    let err = p
        .mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::WrongCaseState(_))
    ));
    p.draw(case, B256::repeat_byte(5));
    let members = drawn(&p, case);
    let outsider = validators(4)
        .into_iter()
        .find(|v| !members.contains(v))
        .unwrap();
    let c = |v: Address, r: B256| {
        vote_commitment(
            case,
            v,
            r,
            outputs_digest(r),
            pond_contract_tests::salt_of(v),
        )
    };

    let err = p
        .mediation
        .sender(outsider)
        .commit_vote(case, c(outsider, RESULT))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::NotCaseValidator(_))
    ));
    let err = p
        .mediation
        .sender(members[0])
        .commit_vote(case, B256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::ZeroCommitment(_))
    ));
    p.vote_commit(case, members[0], RESULT);
    let err = p
        .mediation
        .sender(members[0])
        .commit_vote(case, c(members[0], RESULT))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::AlreadyCommitted(_))
    ));
    // Reveals wait for the commit window (or for every commitment).
    let err = p
        .mediation
        .sender(members[0])
        .reveal_vote(
            case,
            RESULT,
            outputs_digest(RESULT),
            pond_contract_tests::salt_of(members[0]),
        )
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(MediationError::RevealNotOpen(_))));
    let err = p
        .mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(MediationError::VotingNotOver(_))));
    advance(24 * 3600 + 1);
    let err = p
        .mediation
        .sender(members[1])
        .commit_vote(case, c(members[1], RESULT))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::CommitWindowClosed(_))
    ));
    let err = p
        .mediation
        .sender(members[1])
        .reveal_vote(case, RESULT, outputs_digest(RESULT), B256::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(MediationError::NotCommitted(_))));
    let err = p
        .mediation
        .sender(members[0])
        .reveal_vote(
            case,
            OTHER,
            outputs_digest(OTHER),
            pond_contract_tests::salt_of(members[0]),
        )
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::CommitmentMismatch(_))
    ));
    p.vote_reveal(case, members[0], RESULT);
    let err = p
        .mediation
        .sender(members[0])
        .reveal_vote(
            case,
            RESULT,
            outputs_digest(RESULT),
            pond_contract_tests::salt_of(members[0]),
        )
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::AlreadyRevealed(_))
    ));
    advance(24 * 3600 + 1);
    let err = p
        .mediation
        .sender(members[1])
        .reveal_vote(
            case,
            RESULT,
            outputs_digest(RESULT),
            pond_contract_tests::salt_of(members[1]),
        )
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::RevealWindowClosed(_))
    ));
    // One agreeing vote of three is no majority: first round fails.
    p.mediation
        .sender(STRANGER)
        .resolve_case(case)
        .motsu_unwrap();
    assert_eq!(p.mediation.sender(STRANGER).case_info(case).4, 1);
    p.assert_vault_invariant();
}

#[test]
fn a_creator_who_cannot_pay_the_fee_cannot_challenge() {
    let p = Protocol::deploy();
    // Exactly the job's price: nothing left for the fee.
    p.fund(CREATOR, tokens(80));
    p.fund(PROVIDER, tokens(500));
    let deal = p.direct_deal(CREATOR, PROVIDER, tokens(80), tokens(80));
    p.deliver(PROVIDER, deal, RESULT);
    let err = p
        .deals
        .sender(CREATOR)
        .challenge_result(deal)
        .motsu_unwrap_err();
    let Revert::Bubbled(data) = err else {
        panic!("expected the vault's error")
    };
    assert_eq!(
        &data[..4],
        &<pond_vault::InsufficientAvailable as alloy_sol_types::SolError>::SELECTOR
    );
    // Nothing moved; the deal can still be accepted.
    assert_eq!(p.deal_state(deal), deal_state::REVEALED);
    assert_eq!(p.balances(CREATOR), (U256::ZERO, tokens(80)));
    assert_eq!(p.mediation.sender(STRANGER).case_count(), U256::ZERO);
    p.deals.sender(CREATOR).accept_result(deal).motsu_unwrap();
    let _ = MEDIATION_FEE;
}

#[test]
fn parameters_are_owner_only_and_bounded() {
    let p = Protocol::deploy();
    let err = p
        .mediation
        .sender(STRANGER)
        .set_parameters(tokens(1), 3, 600, 600, 0, 0)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::UnauthorizedCaller(_))
    ));
    let bad = [
        (U256::ZERO, 3, 600, 600, 0, 0),
        (tokens(1), 2, 600, 600, 0, 0),
        (tokens(1), 11, 600, 600, 0, 0),
        (tokens(1), 3, 10, 600, 0, 0),
        (tokens(1), 3, 600, 600, 5_001, 0),
        (tokens(1), 3, 600, 600, 0, 5_001),
    ];
    for (fee, k, commit, reveal, reward, slash) in bad {
        let err = p
            .mediation
            .sender(p.owner)
            .set_parameters(fee, k, commit, reveal, reward, slash)
            .motsu_unwrap_err();
        assert!(
            matches!(err, Revert::Own(MediationError::ParameterOutOfBounds(_))),
            "{fee} {k}"
        );
    }
    p.mediation
        .sender(p.owner)
        .set_parameters(tokens(1), 9, 60, 60, 5_000, 5_000)
        .motsu_unwrap();
    assert_eq!(
        p.mediation.sender(STRANGER).parameters(),
        (tokens(1), 9, 60, 60, 5_000, 5_000)
    );
    let err = p
        .mediation
        .sender(STRANGER)
        .open_case(U256::from(1), PROVIDER, CREATOR, RESULT, tokens(1))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(MediationError::UnauthorizedCaller(_))
    ));
}
