//! The adversarial review's attacks, each performed against the wired
//! protocol and shown to fail or no longer pay (see "Attacks considered"
//! in `docs/protocol.md`).

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use pond_common::{interfaces::Revert, MIN_JOB_DURATION};
use pond_contract_tests::{
    advance, bubbled_selector, job_spec, machine, own_error, tokens, Protocol, MIN_STAKE,
};
use pond_deals::{completion, deal_state, DealCompleted};
use pond_market::MarketError;
use pond_mediation::case_state;
use pond_registry::RegistryError;

const CREATOR: Address = Address::repeat_byte(0xc1);
const PROVIDER: Address = Address::repeat_byte(0xa1);
const GRIEFER: Address = Address::repeat_byte(0xb1);
const STRANGER: Address = Address::repeat_byte(0x99);
const RESULT: B256 = B256::repeat_byte(0xee);

/// Seven validators staking 200 each; the attacker owns the first two.
fn validators() -> Vec<Address> {
    (1..=7).map(|i| Address::repeat_byte(0x40 + i)).collect()
}

/// A deal (price 80, max 80) revealed and challenged, with the seven
/// validators staked and the attacker funded for top-ups. `before` is a
/// top-up of the attacker's first validator made before the challenge.
fn challenged_case(before: Option<U256>) -> (Protocol, U256, U256) {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    let vs = validators();
    for v in &vs {
        p.stake_validator(*v, tokens(200));
    }
    p.fund(vs[0], tokens(1_000));
    if let Some(amount) = before {
        p.registry.sender(vs[0]).stake(amount).motsu_unwrap();
    }
    let (deal, case) = p.challenged_deal(CREATOR, PROVIDER, tokens(80), RESULT);
    (p, deal, case)
}

/// The first two drawn validators vote for the provider's result; the
/// third never votes; both windows pass and the case is resolved.
fn two_vote_and_the_third_stays_silent(p: &Protocol, case: U256, members: &[Address]) {
    p.vote_commit(case, members[0], RESULT);
    p.vote_commit(case, members[1], RESULT);
    advance(24 * 3600 + 1);
    p.vote_reveal(case, members[0], RESULT);
    p.vote_reveal(case, members[1], RESULT);
    advance(24 * 3600 + 1);
    p.resolve(case);
}

fn seats_both_attackers(committee: &[Address]) -> bool {
    let vs = validators();
    committee.contains(&vs[0]) && committee.contains(&vs[1])
}

fn randomness(seed: u8) -> B256 {
    B256::repeat_byte(seed)
}

#[test]
fn a_top_up_after_the_randomness_is_known_never_changes_the_committee() {
    let top_ups: Vec<U256> = (1..=40u64).map(|i| tokens(i * 25)).collect();
    // Find randomness for which some top-up, had it been in the tree, would
    // have seated both of the attacker's validators: the attack the review ran.
    let (seed, base) = (1..=60u8)
        .find_map(|seed| {
            let base = {
                let (p, _, case) = challenged_case(None);
                p.draw(case, randomness(seed));
                p.mediation.sender(STRANGER).case_validators(case)
            };
            let attack_pays = !seats_both_attackers(&base)
                && top_ups.iter().any(|amount| {
                    let (p, _, case) = challenged_case(Some(*amount));
                    p.draw(case, randomness(seed));
                    let committee = p.mediation.sender(STRANGER).case_validators(case);
                    drop(p);
                    seats_both_attackers(&committee)
                });
            attack_pays.then_some((seed, base))
        })
        .expect("some randomness rewards a well-chosen top-up");
    // Now the attack itself: the round is requested, its randomness is
    // public, and the attacker tries every top-up (and an unbond of the
    // other validator) before anyone draws.
    let vs = validators();
    for amount in &top_ups {
        let (p, _, case) = challenged_case(None);
        let round = p.beacon.sender(STRANGER).latest_round();
        p.beacon.sender(STRANGER).fulfil(round, randomness(seed));
        let err = p.registry.sender(vs[0]).stake(*amount).motsu_unwrap_err();
        assert!(matches!(err, Revert::Own(RegistryError::DrawPending(_))));
        let err = p
            .registry
            .sender(vs[2])
            .request_unbond(tokens(100))
            .motsu_unwrap_err();
        assert!(matches!(err, Revert::Own(RegistryError::DrawPending(_))));
        p.mediation
            .sender(STRANGER)
            .draw_validators(case)
            .motsu_unwrap();
        assert_eq!(p.mediation.sender(STRANGER).case_validators(case), base);
        // Drawn: stake moves again.
        p.registry.sender(vs[0]).stake(*amount).motsu_unwrap();
        p.assert_vault_invariant();
    }
}

#[test]
fn a_slash_while_a_draw_is_pending_reaches_the_tree_only_afterwards() {
    // Case A is voting; case B's draw is pending when A's no-show is slashed.
    let (p, _deal_a, case_a) = challenged_case(None);
    p.draw(case_a, randomness(3));
    let members = p.mediation.sender(STRANGER).case_validators(case_a);
    let (creator_b, provider_b) = (Address::repeat_byte(0xc2), Address::repeat_byte(0xa2));
    p.fund(creator_b, tokens(1_000));
    p.fund(provider_b, tokens(500));
    p.challenged_deal(creator_b, provider_b, tokens(80), RESULT);
    let weight = p.registry.sender(STRANGER).total_draw_weight();
    two_vote_and_the_third_stays_silent(&p, case_a, &members);
    // The no-show lost 20 of its 200, but the tree still draws B from 1 400.
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(members[2]).2,
        tokens(180)
    );
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), weight);
    let err = p
        .registry
        .sender(STRANGER)
        .sync_validator(members[2])
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(RegistryError::DrawPending(_))));
    // Once B is drawn anyone brings the slashed weight into the tree.
    p.draw(U256::from(2), randomness(4));
    p.registry
        .sender(STRANGER)
        .sync_validator(members[2])
        .motsu_unwrap();
    assert_eq!(
        p.registry.sender(STRANGER).total_draw_weight(),
        weight - tokens(20)
    );
}

#[test]
fn with_no_validators_a_challenge_pays_the_provider_not_the_creator() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    let (deal, case) = p.challenged_deal(CREATOR, PROVIDER, tokens(80), RESULT);
    p.draw(case, randomness(5));
    assert_eq!(
        p.mediation.sender(STRANGER).case_info(case).3,
        case_state::RESOLVED
    );
    // The revealed result was not shown wrong: paid as if accepted, and the
    // creator gets only its mediation fee back.
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    assert_eq!(p.balances(CREATOR), (tokens(920), U256::ZERO));
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn a_job_too_short_to_run_cannot_be_posted_or_matched() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    p.register_provider(PROVIDER, machine(1));
    let offer = p.post_offer(PROVIDER, machine(1), tokens(40), 7_200, 3);
    // The review's attack: a one-second job taken against a standing offer.
    let mut spec = job_spec(p.now(), machine(1), tokens(40));
    spec.maxDuration = 1;
    let err = p
        .market
        .sender(CREATOR)
        .post_job(spec.clone())
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(MarketError::InvalidDuration(_))));
    spec.maxDuration = MIN_JOB_DURATION - 1;
    let err = p
        .market
        .sender(CREATOR)
        .post_job(spec.clone())
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(MarketError::InvalidDuration(_))));
    // A provider that needs an hour is never matched with a shorter job.
    let hour_offer = p
        .offers
        .sender(PROVIDER)
        .post_offer(machine(1), tokens(40), 3_600, 7_200, 3, p.now() + 86_400)
        .motsu_unwrap();
    spec.maxDuration = 1_800;
    let job = p.post_job(CREATOR, spec);
    assert_eq!(
        bubbled_selector(p.market.sender(GRIEFER).take_offer(job, hour_offer)),
        <pond_offers::IncompatibleOffer as alloy_sol_types::SolError>::SELECTOR
    );
    // Matched at the floor, a timeout is claimable only after the provider
    // had the whole duration it agreed to.
    let mut spec = job_spec(p.now(), machine(1), tokens(40));
    spec.maxDuration = MIN_JOB_DURATION;
    let job = p.post_job(CREATOR, spec);
    let deal = p
        .market
        .sender(GRIEFER)
        .take_offer(job, offer)
        .motsu_unwrap();
    advance(MIN_JOB_DURATION);
    let err = p
        .deals
        .sender(CREATOR)
        .claim_timeout(deal)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(pond_deals::DealsError::DeadlineNotPassed(_))
    ));
    p.assert_vault_invariant();
}

#[test]
fn a_one_wei_offer_that_hijacks_a_job_compensates_its_creator() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(GRIEFER, tokens(500));
    p.register_provider(GRIEFER, machine(4));
    let offer = p.post_offer(GRIEFER, machine(4), U256::from(1), 7_200, 1);
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    let deal = p
        .market
        .sender(GRIEFER)
        .take_offer(job, offer)
        .motsu_unwrap();
    // The griefer never runs the job; its timeout collateral is half the
    // job's maximum price, not half a wei.
    advance(3_600 + 1);
    p.deals.sender(STRANGER).claim_timeout(deal).motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(1_050), U256::ZERO));
    assert_eq!(p.balances(GRIEFER), (tokens(450), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn a_one_wei_winning_bid_that_is_never_delivered_compensates_the_creator() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(GRIEFER, tokens(500));
    p.register_provider(GRIEFER, machine(4));
    let mut spec = job_spec(p.now(), machine(1), tokens(100));
    spec.biddingWindow = 600;
    let job = p.post_job(CREATOR, spec);
    p.market
        .sender(GRIEFER)
        .bid(job, U256::from(1))
        .motsu_unwrap();
    // Unbeatable, and it stops the creator from cancelling — but it locked
    // half the job's maximum price.
    assert_eq!(p.balances(GRIEFER).1, tokens(50) + U256::from(2));
    advance(600);
    let deal = p.market.sender(STRANGER).close_auction(job).motsu_unwrap();
    advance(3_600 + 1);
    p.deals.sender(STRANGER).claim_timeout(deal).motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(1_050), U256::ZERO));
    p.assert_vault_invariant();
}

/// A revealed, challenged deal with three validators drawn.
fn three_drawn() -> (Protocol, U256, U256, Vec<Address>) {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    for v in validators().iter().take(3) {
        p.stake_validator(*v, tokens(200));
    }
    let (deal, case) = p.challenged_deal(CREATOR, PROVIDER, tokens(80), RESULT);
    p.draw(case, randomness(6));
    let members = p.mediation.sender(STRANGER).case_validators(case);
    (p, deal, case, members)
}

#[test]
fn a_validator_that_copies_the_providers_hash_without_the_outputs_is_slashed_unpaid() {
    let (p, deal, case, members) = three_drawn();
    let lazy = members[2];
    p.vote_commit(case, members[0], RESULT);
    p.vote_commit(case, members[1], RESULT);
    // The public result hash, with a digest it could not compute.
    p.vote_commit_with(case, lazy, RESULT, B256::repeat_byte(0x1a));
    p.vote_reveal(case, members[0], RESULT);
    p.vote_reveal(case, members[1], RESULT);
    p.vote_reveal_with(case, lazy, RESULT, B256::repeat_byte(0x1a));
    p.resolve(case);
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    // The fee (10) goes to the two that held the outputs; the copier loses 10 %.
    assert_eq!(p.balances(members[0]).0, tokens(5));
    assert_eq!(p.balances(lazy), (U256::ZERO, tokens(180)));
    assert_eq!(
        p.registry.sender(STRANGER).validator_record(lazy).1,
        1,
        "recorded against the majority"
    );
    p.assert_vault_invariant();
}

#[test]
fn two_colluders_revealing_different_garbage_cannot_reject_an_honest_result() {
    let (p, deal, case, members) = three_drawn();
    let garbage = [B256::repeat_byte(0x01), B256::repeat_byte(0x02), RESULT];
    let votes = |members: &[Address]| -> Vec<(Address, B256)> {
        members.iter().copied().zip(garbage).collect()
    };
    p.vote_round(case, &votes(&members));
    p.resolve(case);
    // Two "disagreeing" votes, but on no common result: no verdict.
    assert_eq!(p.deal_state(deal), deal_state::CHALLENGED);
    // The redraw ends the same way; the honest result is paid.
    p.draw(case, randomness(7));
    let members = p.mediation.sender(STRANGER).case_validators(case);
    p.vote_round(case, &votes(&members));
    p.resolve(case);
    assert_eq!(p.deal_state(deal), deal_state::COMPLETED);
    assert_eq!(p.balances(PROVIDER), (tokens(578), U256::ZERO));
    assert_eq!(p.balances(CREATOR), (tokens(920), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn a_majority_against_the_provider_must_agree_on_one_result() {
    let (p, deal, case, members) = three_drawn();
    let other = B256::repeat_byte(0xdd);
    let votes: Vec<(Address, B256)> = members.iter().map(|v| (*v, other)).collect();
    p.vote_round(case, &votes);
    p.resolve(case);
    assert_eq!(p.deal_state(deal), deal_state::REJECTED);
}

#[test]
fn a_running_deal_keeps_its_fee_and_a_running_case_its_windows_and_slash() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    for v in validators().iter().take(3) {
        p.stake_validator(*v, tokens(200));
    }
    let deal = p.direct_deal(CREATOR, PROVIDER, tokens(80), tokens(80));
    // The owner raises the fee to 10 % and shortens every window.
    p.deals
        .sender(p.owner)
        .set_parameters(1_000, 60, 60)
        .motsu_unwrap();
    p.deliver(PROVIDER, deal, RESULT);
    let judge_deadline = p.deals.sender(STRANGER).deal_terms(deal).5;
    assert_eq!(
        judge_deadline,
        p.now() + 24 * 3600,
        "opened with a 1-day judge window"
    );
    let case = p
        .deals
        .sender(CREATOR)
        .challenge_result(deal)
        .motsu_unwrap();
    // The owner turns mediation against validators: 1-minute windows, 50 % slash.
    p.mediation
        .sender(p.owner)
        .set_parameters(tokens(10), 3, 60, 60, 5_000, 5_000)
        .motsu_unwrap();
    p.draw(case, randomness(8));
    let info = p.mediation.sender(STRANGER).case_info(case);
    assert_eq!(
        info.7,
        p.now() + 24 * 3600,
        "commit window of the case's opening"
    );
    let members = p.mediation.sender(STRANGER).case_validators(case);
    two_vote_and_the_third_stays_silent(&p, case, &members);
    // The no-show loses the case's 10 %, not the new 50 %.
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(members[2]).2,
        tokens(180)
    );
    // The provider is paid at the deal's 2.5 %, not the new 10 %.
    p.deals.assert_emitted(&DealCompleted {
        dealId: deal,
        provider: PROVIDER,
        creator: CREATOR,
        how: completion::MEDIATION,
        paid: tokens(78),
        fee: tokens(2),
    });
    p.assert_vault_invariant();
}

#[test]
fn a_validator_slashed_below_the_minimum_keeps_serving_and_may_top_up_or_leave() {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    for v in validators().iter().take(3) {
        p.stake_validator(*v, U256::from(MIN_STAKE));
        p.fund(*v, tokens(50));
    }
    let (_deal, case) = p.challenged_deal(CREATOR, PROVIDER, tokens(80), RESULT);
    p.draw(case, randomness(9));
    let members = p.mediation.sender(STRANGER).case_validators(case);
    two_vote_and_the_third_stays_silent(&p, case, &members);
    // The no-show lost 10 % of the minimum: 90 left, below the 100 minimum.
    let v = members[2];
    assert_eq!(p.registry.sender(STRANGER).validator_state(v).2, tokens(90));
    // It still counts for draws with what it has.
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), tokens(290));
    // A partial unbond or a top-up that stays below the minimum is refused.
    let err = p
        .registry
        .sender(v)
        .request_unbond(tokens(10))
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(RegistryError::StakeBelowMinimum(_))
    ));
    let err = p.registry.sender(v).stake(tokens(5)).motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(RegistryError::StakeBelowMinimum(_))
    ));
    // Topping up to the minimum works, and so does leaving entirely.
    p.registry.sender(v).stake(tokens(10)).motsu_unwrap();
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(v).2,
        tokens(100)
    );
    p.registry
        .sender(v)
        .request_unbond(tokens(100))
        .motsu_unwrap();
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), tokens(200));
    p.assert_vault_invariant();
}

#[test]
fn a_serving_validator_can_stop_being_drawn_but_not_escape_its_slash() {
    let (p, _deal, case, members) = three_drawn();
    let v = members[2];
    // It starts unbonding everything while it serves: no longer drawn.
    p.registry
        .sender(v)
        .request_unbond(tokens(200))
        .motsu_unwrap();
    assert_eq!(p.registry.sender(STRANGER).total_draw_weight(), tokens(400));
    // The others vote; v never does.
    p.vote_commit(case, members[0], RESULT);
    p.vote_commit(case, members[1], RESULT);
    advance(24 * 3600 + 1);
    p.vote_reveal(case, members[0], RESULT);
    p.vote_reveal(case, members[1], RESULT);
    // The unbonding delay passes, but the stake still answers for the case.
    advance(7 * 24 * 3600 + 1);
    let err = p.registry.sender(v).withdraw_unbonded().motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(RegistryError::ValidatorBusy(_))));
    p.resolve(case);
    // The no-show's slash reached its unbonding stake.
    assert_eq!(
        p.registry.sender(STRANGER).validator_state(v).3,
        tokens(180)
    );
    // Released, it withdraws what is left.
    p.registry.sender(v).withdraw_unbonded().motsu_unwrap();
    assert_eq!(p.balances(v), (tokens(180), U256::ZERO));
    p.assert_vault_invariant();
}

/// Unbounded URIs: a 90 KB `moduleUri` was posted and then copied into
/// every indexer and API response. Every URI the contracts take is now
/// bounded by `MAX_URI_BYTES`; a longer one is refused with `UriTooLong`
/// and moves nothing, one at the limit is accepted.
#[test]
fn uris_longer_than_the_limit_are_refused_and_move_nothing() {
    use pond_common::{commitment::result_commitment, MAX_URI_BYTES};
    use pond_deals::DealsError;
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    let (at_limit, over) = ("u".repeat(MAX_URI_BYTES), "u".repeat(MAX_URI_BYTES + 1));
    let too_long = |length: usize| (U256::from(length), U256::from(MAX_URI_BYTES));

    // Provider metadata.
    match own_error(
        p.registry
            .sender(PROVIDER)
            .register_provider(machine(2), over.clone()),
    ) {
        RegistryError::UriTooLong(e) => assert_eq!((e.length, e.maximum), too_long(over.len())),
        other => panic!("{other:?}"),
    }
    p.registry
        .sender(PROVIDER)
        .register_provider(machine(2), at_limit.clone())
        .motsu_unwrap();
    assert!(matches!(
        own_error(
            p.registry
                .sender(PROVIDER)
                .update_provider(machine(2), over.clone())
        ),
        RegistryError::UriTooLong(_)
    ));

    // Job module and inputs: the attack's 90 KB module URI, and one byte
    // over the limit for the inputs. Nothing is locked.
    let offer = p.post_offer(PROVIDER, machine(1), tokens(80), 7_200, 2);
    let mut spec = job_spec(p.now(), machine(1), tokens(80));
    spec.offerId = offer;
    let before = p.balances(CREATOR);
    let mut huge_module = spec.clone();
    huge_module.moduleUri = "m".repeat(90_000);
    match own_error(p.market.sender(CREATOR).post_job(huge_module)) {
        MarketError::UriTooLong(e) => assert_eq!((e.length, e.maximum), too_long(90_000)),
        other => panic!("{other:?}"),
    }
    let mut long_inputs = spec.clone();
    long_inputs.inputUri = over.clone();
    assert!(matches!(
        own_error(p.market.sender(CREATOR).post_job(long_inputs)),
        MarketError::UriTooLong(_)
    ));
    assert_eq!(p.balances(CREATOR), before);
    spec.moduleUri = at_limit.clone();
    spec.inputUri = at_limit.clone();
    let job = p.post_job(CREATOR, spec);
    let deal = p.job_state(job).1;

    // Result URI: refused, the deal stays committed; at the limit it is
    // revealed.
    let salt = B256::repeat_byte(0x5a);
    p.deals
        .sender(PROVIDER)
        .commit_result(deal, result_commitment(deal, PROVIDER, RESULT, salt))
        .motsu_unwrap();
    assert!(matches!(
        own_error(
            p.deals
                .sender(PROVIDER)
                .reveal_result(deal, RESULT, over, salt)
        ),
        DealsError::UriTooLong(_)
    ));
    assert_eq!(p.deal_state(deal), deal_state::COMMITTED);
    p.deals
        .sender(PROVIDER)
        .reveal_result(deal, RESULT, at_limit, salt)
        .motsu_unwrap();
    assert_eq!(p.deal_state(deal), deal_state::REVEALED);
    p.assert_vault_invariant();
}
