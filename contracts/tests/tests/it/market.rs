//! Jobs and matching: direct, take and reverse auction; cancelling,
//! expiring, pausing and every refusal, with balances checked.

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use pond_common::interfaces::Revert;
use pond_contract_tests::{
    advance, bubbled_selector, job_spec, machine, own_error, tokens, Protocol,
};
use pond_market::{
    job_state, match_mode, AuctionClosed, BidPlaced, JobMatched, JobPosted, MarketError,
};
use pond_offers::OfferBookError;

const CREATOR: Address = Address::repeat_byte(0xc1);
const PROVIDER: Address = Address::repeat_byte(0xa1);
const RIVAL: Address = Address::repeat_byte(0xa2);
const STRANGER: Address = Address::repeat_byte(0x99);

fn setup() -> Protocol {
    let p = Protocol::deploy();
    p.fund(CREATOR, tokens(1_000));
    p.fund(PROVIDER, tokens(500));
    p.fund(RIVAL, tokens(500));
    p.register_provider(PROVIDER, machine(2));
    p.register_provider(RIVAL, machine(4));
    p
}

#[test]
fn posting_locks_the_maximum_price_and_emits_the_whole_spec() {
    let p = setup();
    let spec = job_spec(p.now(), machine(1), tokens(100));
    let job = p.post_job(CREATOR, spec.clone());
    assert_eq!(job, U256::from(1));
    assert_eq!(p.balances(CREATOR), (tokens(900), tokens(100)));
    assert_eq!(p.job_state(job).0, job_state::OPEN);
    p.market.assert_emitted(&JobPosted {
        jobId: job,
        creator: CREATOR,
        relayer: Address::ZERO,
        moduleHash: spec.moduleHash,
        moduleUri: spec.moduleUri.clone(),
        inputHash: spec.inputHash,
        inputUri: spec.inputUri.clone(),
        minGpuCount: 1,
        minGpuMemoryGb: 24,
        minCpuCores: 16,
        minRamGb: 64,
        minDiskGb: 500,
        maxDuration: 3600,
        maxPrice: tokens(100),
        matchDeadline: spec.matchDeadline,
        biddingEnd: 0,
    });
    p.assert_vault_invariant();
}

#[test]
fn take_matches_an_open_job_with_a_compatible_offer() {
    let p = setup();
    let offer = p.post_offer(PROVIDER, machine(2), tokens(60), 3_600, 1);
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    let deal = p
        .market
        .sender(STRANGER)
        .take_offer(job, offer)
        .motsu_unwrap();
    assert_eq!(p.job_state(job), (job_state::MATCHED, deal));
    // Unused 40 back at once; provider locks 2× the price (120) plus ½×
    // the job's maximum price (50).
    assert_eq!(p.balances(CREATOR), (tokens(940), tokens(60)));
    assert_eq!(p.balances(PROVIDER), (tokens(330), tokens(170)));
    p.market.assert_emitted(&JobMatched {
        jobId: job,
        dealId: deal,
        provider: PROVIDER,
        offerId: offer,
        mode: match_mode::TAKE,
        price: tokens(60),
        refunded: tokens(40),
    });
    // The offer is at capacity for a second job.
    let job2 = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    let sel = bubbled_selector(p.market.sender(STRANGER).take_offer(job2, offer));
    assert_eq!(
        sel,
        <pond_offers::OfferAtCapacity as alloy_sol_types::SolError>::SELECTOR
    );
    // Matched jobs cannot be matched, cancelled or expired again.
    assert!(matches!(
        own_error(p.market.sender(STRANGER).take_offer(job, offer)),
        MarketError::WrongJobState(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(CREATOR).cancel_job(job)),
        MarketError::WrongJobState(_)
    ));
    p.assert_vault_invariant();
}

#[test]
fn incompatible_offers_are_refused_with_the_reason() {
    let p = setup();
    let cheap_small = p.post_offer(PROVIDER, machine(1), tokens(60), 3_600, 5);
    let pricey = p.post_offer(RIVAL, machine(4), tokens(150), 3_600, 5);
    let short = p.post_offer(RIVAL, machine(4), tokens(50), 600, 5);
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(2), tokens(100)));
    let incompatible = <pond_offers::IncompatibleOffer as alloy_sol_types::SolError>::SELECTOR;
    for offer in [cheap_small, pricey, short] {
        assert_eq!(
            bubbled_selector(p.market.sender(STRANGER).take_offer(job, offer)),
            incompatible
        );
    }
    let unknown = <pond_offers::OfferNotFound as alloy_sol_types::SolError>::SELECTOR;
    assert_eq!(
        bubbled_selector(p.market.sender(STRANGER).take_offer(job, U256::from(99))),
        unknown
    );
    // Expired and cancelled offers.
    let good = p.post_offer(RIVAL, machine(4), tokens(50), 3_600, 5);
    p.offers.sender(RIVAL).cancel_offer(good).motsu_unwrap();
    let not_open = <pond_offers::OfferNotOpen as alloy_sol_types::SolError>::SELECTOR;
    assert_eq!(
        bubbled_selector(p.market.sender(STRANGER).take_offer(job, good)),
        not_open
    );
    let later = p.post_offer(RIVAL, machine(4), tokens(50), 3_600, 5);
    advance(24 * 3600);
    let job2 = p.post_job(CREATOR, job_spec(p.now(), machine(2), tokens(100)));
    let expired = <pond_offers::OfferExpired as alloy_sol_types::SolError>::SELECTOR;
    assert_eq!(
        bubbled_selector(p.market.sender(STRANGER).take_offer(job2, later)),
        expired
    );
    // Nothing moved.
    assert_eq!(p.balances(CREATOR), (tokens(800), tokens(200)));
    assert_eq!(p.balances(RIVAL), (tokens(500), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn reverse_auction_takes_strictly_lower_bids_and_releases_the_outbid() {
    let p = setup();
    let mut spec = job_spec(p.now(), machine(2), tokens(100));
    spec.biddingWindow = 600;
    let job = p.post_job(CREATOR, spec);
    assert_eq!(p.job_state(job).0, job_state::BIDDING);
    // Takes are refused while bidding.
    let offer = p.post_offer(PROVIDER, machine(2), tokens(10), 3_600, 1);
    assert!(matches!(
        own_error(p.market.sender(STRANGER).take_offer(job, offer)),
        MarketError::WrongJobState(_)
    ));

    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(job, tokens(101))),
        MarketError::BidTooHigh(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(job, U256::ZERO)),
        MarketError::ZeroPrice(_)
    ));
    p.market
        .sender(PROVIDER)
        .bid(job, tokens(90))
        .motsu_unwrap();
    // Results collateral 2× the bid (180); timeout collateral ½× the job's
    // maximum price (50), whatever the bid.
    assert_eq!(p.balances(PROVIDER), (tokens(270), tokens(230)));
    assert!(matches!(
        own_error(p.market.sender(RIVAL).bid(job, tokens(90))),
        MarketError::BidTooHigh(_)
    ));
    p.market.sender(RIVAL).bid(job, tokens(70)).motsu_unwrap();
    p.market.assert_emitted(&BidPlaced {
        jobId: job,
        provider: RIVAL,
        previousBidder: PROVIDER,
        price: tokens(70),
        resultsCollateral: tokens(140),
        timeoutCollateral: tokens(50),
    });
    // The outbid provider's collateral is released at once.
    assert_eq!(p.balances(PROVIDER), (tokens(500), U256::ZERO));
    assert_eq!(p.balances(RIVAL), (tokens(310), tokens(190)));
    // The creator cannot pull a job out of an auction with bids.
    assert!(matches!(
        own_error(p.market.sender(CREATOR).cancel_job(job)),
        MarketError::AuctionHasBids(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).close_auction(job)),
        MarketError::BiddingNotClosed(_)
    ));
    advance(600);
    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(job, tokens(10))),
        MarketError::BiddingClosed(_)
    ));
    let deal = p.market.sender(STRANGER).close_auction(job).motsu_unwrap();
    p.market.assert_emitted(&AuctionClosed {
        jobId: job,
        winner: RIVAL,
        price: tokens(70),
    });
    assert_eq!(p.job_state(job), (job_state::MATCHED, deal));
    assert_eq!(p.balances(CREATOR), (tokens(930), tokens(70)));
    assert_eq!(p.balances(RIVAL), (tokens(310), tokens(190)));
    // The auction deal runs like any other.
    p.deliver(RIVAL, deal, B256::repeat_byte(1));
    p.deals.sender(CREATOR).accept_result(deal).motsu_unwrap();
    // 70 minus 2.5 % (1.75) = 68.25.
    assert_eq!(
        p.balances(RIVAL),
        (
            tokens(310) + tokens(190) + U256::from(68_250_000u64),
            U256::ZERO
        )
    );
    p.assert_vault_invariant();
}

#[test]
fn an_auction_without_bids_reopens_the_job_until_its_deadline() {
    let p = setup();
    let mut spec = job_spec(p.now(), machine(1), tokens(100));
    spec.biddingWindow = 600;
    let job = p.post_job(CREATOR, spec);
    advance(600);
    assert_eq!(
        p.market.sender(STRANGER).close_auction(job).motsu_unwrap(),
        U256::ZERO
    );
    assert_eq!(p.job_state(job).0, job_state::OPEN);
    let offer = p.post_offer(PROVIDER, machine(1), tokens(100), 3_600, 1);
    p.market
        .sender(STRANGER)
        .take_offer(job, offer)
        .motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(900), tokens(100)));
}

#[test]
fn bidders_must_be_registered_with_enough_hardware_and_collateral() {
    let p = setup();
    let mut spec = job_spec(p.now(), machine(3), tokens(100));
    spec.biddingWindow = 600;
    let job = p.post_job(CREATOR, spec);
    assert!(matches!(
        own_error(p.market.sender(STRANGER).bid(job, tokens(50))),
        MarketError::ProviderNotRegistered(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(job, tokens(50))),
        MarketError::IncompatibleOffer(_)
    ));
    // A registered provider with no vault balance cannot cover collateral.
    let poor = Address::repeat_byte(0xa9);
    p.register_provider(poor, machine(4));
    let sel = bubbled_selector(p.market.sender(poor).bid(job, tokens(50)));
    assert_eq!(
        sel,
        <pond_vault::InsufficientAvailable as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(p.market.sender(STRANGER).job(job).7, Address::ZERO);
}

#[test]
fn direct_matching_names_the_offer_and_conflicts_with_auctions() {
    let p = setup();
    let offer = p.post_offer(PROVIDER, machine(1), tokens(80), 3_600, 1);
    let mut spec = job_spec(p.now(), machine(1), tokens(100));
    spec.offerId = offer;
    spec.biddingWindow = 60;
    assert!(matches!(
        own_error(p.market.sender(CREATOR).post_job(spec.clone())),
        MarketError::ConflictingMatchMode(_)
    ));
    spec.biddingWindow = 0;
    let job = p.post_job(CREATOR, spec.clone());
    let (state, deal) = p.job_state(job);
    assert_eq!(state, job_state::MATCHED);
    p.market.assert_emitted(&JobMatched {
        jobId: job,
        dealId: deal,
        provider: PROVIDER,
        offerId: offer,
        mode: match_mode::DIRECT,
        price: tokens(80),
        refunded: tokens(20),
    });
    // A direct match that fails leaves no job behind.
    let count = p.market.sender(STRANGER).job_count();
    let sel = bubbled_selector(p.market.sender(CREATOR).post_job(spec));
    assert_eq!(
        sel,
        <pond_offers::OfferAtCapacity as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(p.market.sender(STRANGER).job_count(), count);
    assert_eq!(p.balances(CREATOR), (tokens(920), tokens(80)));
    p.assert_vault_invariant();
}

#[test]
fn cancel_and_expire_return_everything() {
    let p = setup();
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).cancel_job(job)),
        MarketError::NotJobCreator(_)
    ));
    p.market.sender(CREATOR).cancel_job(job).motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(1_000), U256::ZERO));
    assert_eq!(p.job_state(job).0, job_state::CANCELLED);
    assert!(matches!(
        own_error(p.market.sender(CREATOR).cancel_job(job)),
        MarketError::WrongJobState(_)
    ));

    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).expire_job(job)),
        MarketError::MatchDeadlineNotPassed(_)
    ));
    advance(24 * 3600 + 1);
    let offer = p.post_offer(PROVIDER, machine(1), tokens(80), 3_600, 1);
    assert!(matches!(
        own_error(p.market.sender(STRANGER).take_offer(job, offer)),
        MarketError::MatchDeadlinePassed(_)
    ));
    p.market.sender(STRANGER).expire_job(job).motsu_unwrap();
    assert_eq!(p.balances(CREATOR), (tokens(1_000), U256::ZERO));
    assert_eq!(p.job_state(job).0, job_state::EXPIRED);
    assert!(matches!(
        own_error(p.market.sender(STRANGER).expire_job(U256::from(42))),
        MarketError::JobNotFound(_)
    ));
    p.assert_vault_invariant();
}

#[test]
fn job_specs_are_validated() {
    let p = setup();
    let now = p.now();
    let base = job_spec(now, machine(1), tokens(100));
    let mut cases = Vec::new();
    let mut s = base.clone();
    s.maxPrice = U256::ZERO;
    cases.push(s);
    let mut s = base.clone();
    s.maxDuration = 0;
    cases.push(s);
    let mut s = base.clone();
    s.maxDuration = 31 * 24 * 3600;
    cases.push(s);
    let mut s = base.clone();
    s.matchDeadline = now;
    cases.push(s);
    let mut s = base.clone();
    s.matchDeadline = now + 31 * 24 * 3600;
    cases.push(s);
    let mut s = base.clone();
    s.biddingWindow = 8 * 24 * 3600;
    cases.push(s);
    let mut s = base.clone();
    s.biddingWindow = 25 * 3600;
    cases.push(s);
    for spec in cases {
        let err = own_error(p.market.sender(CREATOR).post_job(spec));
        assert!(
            matches!(
                err,
                MarketError::ZeroPrice(_)
                    | MarketError::InvalidDuration(_)
                    | MarketError::InvalidDeadline(_)
            ),
            "{err:?}"
        );
    }
    // More than the creator holds: the vault says so, nothing is posted.
    let mut s = base;
    s.maxPrice = tokens(1_001);
    let sel = bubbled_selector(p.market.sender(CREATOR).post_job(s));
    assert_eq!(
        sel,
        <pond_vault::InsufficientAvailable as alloy_sol_types::SolError>::SELECTOR
    );
    assert_eq!(p.market.sender(STRANGER).job_count(), U256::ZERO);
    assert_eq!(p.balances(CREATOR), (tokens(1_000), U256::ZERO));
}

#[test]
fn pause_stops_new_offers_jobs_and_bids_but_not_exits() {
    let p = setup();
    let offer = p.post_offer(PROVIDER, machine(1), tokens(80), 3_600, 2);
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    let mut auction = job_spec(p.now(), machine(1), tokens(100));
    auction.biddingWindow = 600;
    let auction_job = p.post_job(CREATOR, auction);
    p.market
        .sender(PROVIDER)
        .bid(auction_job, tokens(50))
        .motsu_unwrap();
    assert!(matches!(
        own_error(p.market.sender(STRANGER).pause()),
        MarketError::UnauthorizedCaller(_)
    ));
    p.market.sender(p.owner).pause().motsu_unwrap();
    assert!(matches!(
        own_error(p.market.sender(p.owner).pause()),
        MarketError::EnforcedPause(_)
    ));

    let spec = job_spec(p.now(), machine(1), tokens(100));
    assert!(matches!(
        own_error(p.market.sender(CREATOR).post_job(spec)),
        MarketError::EnforcedPause(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(RIVAL).bid(auction_job, tokens(40))),
        MarketError::EnforcedPause(_)
    ));
    let err = p
        .offers
        .sender(PROVIDER)
        .post_offer(machine(1), tokens(1), 300, 600, 1, p.now() + 60)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(OfferBookError::MarketPaused(_))));
    // Exits keep working: take an open job, close an auction, withdraw.
    let deal = p
        .market
        .sender(STRANGER)
        .take_offer(job, offer)
        .motsu_unwrap();
    advance(600);
    p.market
        .sender(STRANGER)
        .close_auction(auction_job)
        .motsu_unwrap();
    p.vault.sender(CREATOR).withdraw(tokens(1)).motsu_unwrap();
    advance(3_600);
    p.deals.sender(STRANGER).claim_timeout(deal).motsu_unwrap();
    p.market.sender(p.owner).unpause().motsu_unwrap();
    assert!(matches!(
        own_error(p.market.sender(p.owner).unpause()),
        MarketError::ExpectedPause(_)
    ));
    p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(10)));
}

#[test]
fn relayed_posting_is_reserved_to_the_relay_and_parameters_to_the_owner() {
    let p = setup();
    let spec = job_spec(p.now(), machine(1), tokens(100));
    let err = own_error(
        p.market
            .sender(STRANGER)
            .post_relayed_job(CREATOR, STRANGER, spec),
    );
    assert!(matches!(err, MarketError::UnauthorizedCaller(_)));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).set_parameters(20_000, 5_000)),
        MarketError::UnauthorizedCaller(_)
    ));
    // The timeout collateral has a floor of 10 %: never zero.
    for (results, timeout) in [
        (9_999, 5_000),
        (100_001, 5_000),
        (20_000, 50_001),
        (20_000, 0),
        (20_000, 999),
    ] {
        let err = own_error(p.market.sender(p.owner).set_parameters(results, timeout));
        assert!(matches!(err, MarketError::ParameterOutOfBounds(_)));
    }
    p.market
        .sender(p.owner)
        .set_parameters(10_000, 1_000)
        .motsu_unwrap();
    assert_eq!(p.market.sender(STRANGER).parameters(), (10_000, 1_000));
    // A take locks 1× the price (80) plus 10 % of the job's maximum price (10).
    let offer = p.post_offer(PROVIDER, machine(1), tokens(80), 3_600, 1);
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    p.market
        .sender(STRANGER)
        .take_offer(job, offer)
        .motsu_unwrap();
    assert_eq!(p.balances(PROVIDER), (tokens(410), tokens(90)));
}

#[test]
fn auction_calls_need_an_auction() {
    let p = setup();
    let job = p.post_job(CREATOR, job_spec(p.now(), machine(1), tokens(100)));
    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(job, tokens(1))),
        MarketError::WrongJobState(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).close_auction(job)),
        MarketError::WrongJobState(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(PROVIDER).bid(U256::from(9), tokens(1))),
        MarketError::JobNotFound(_)
    ));
    assert!(matches!(
        own_error(p.market.sender(STRANGER).close_auction(U256::from(9))),
        MarketError::JobNotFound(_)
    ));
    assert!(matches!(
        own_error(
            p.market
                .sender(STRANGER)
                .take_offer(U256::from(9), U256::from(1))
        ),
        MarketError::JobNotFound(_)
    ));
    assert_eq!(p.balances(PROVIDER), (tokens(500), U256::ZERO));
}
