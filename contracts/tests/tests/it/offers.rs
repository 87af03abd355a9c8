//! The offer book: posting rules, cancelling, and who may reserve and release slots.

use alloy_primitives::{Address, U256};
use motsu::prelude::*;
use pond_common::{interfaces::Revert, types::Hardware, MIN_JOB_DURATION};
use pond_contract_tests::{machine, tokens, Protocol};
use pond_offers::{OfferBookError, OfferCancelled, OfferPosted};

const PROVIDER: Address = Address::repeat_byte(0xa1);
const STRANGER: Address = Address::repeat_byte(0x99);

fn refusal(
    p: &Protocol,
    who: Address,
    hw: Hardware,
    price: U256,
    (min_duration, max_duration): (u64, u64),
    capacity: u32,
    expiry: u64,
) -> OfferBookError {
    match p
        .offers
        .sender(who)
        .post_offer(hw, price, min_duration, max_duration, capacity, expiry)
        .motsu_unwrap_err()
    {
        Revert::Own(e) => e,
        Revert::Bubbled(d) => panic!("unexpected bubbled {d:?}"),
    }
}

#[test]
fn offers_must_be_from_registered_providers_within_their_hardware() {
    let p = Protocol::deploy();
    let now = p.now();
    let e = refusal(&p, PROVIDER, machine(1), tokens(1), (300, 600), 1, now + 60);
    assert!(matches!(e, OfferBookError::ProviderNotRegistered(_)));
    p.register_provider(PROVIDER, machine(2));
    let e = refusal(&p, PROVIDER, machine(3), tokens(1), (300, 600), 1, now + 60);
    assert!(matches!(e, OfferBookError::HardwareExceedsRegistration(_)));
    assert!(matches!(
        refusal(
            &p,
            PROVIDER,
            machine(1),
            U256::ZERO,
            (300, 600),
            1,
            now + 60
        ),
        OfferBookError::ZeroPrice(_)
    ));
    assert!(matches!(
        refusal(&p, PROVIDER, machine(1), tokens(1), (0, 0), 1, now + 60),
        OfferBookError::InvalidDuration(_)
    ));
    // Shorter than the protocol's floor, or a minimum above the maximum.
    assert!(matches!(
        refusal(
            &p,
            PROVIDER,
            machine(1),
            tokens(1),
            (MIN_JOB_DURATION - 1, 600),
            1,
            now + 60
        ),
        OfferBookError::InvalidDuration(_)
    ));
    assert!(matches!(
        refusal(&p, PROVIDER, machine(1), tokens(1), (700, 600), 1, now + 60),
        OfferBookError::InvalidDuration(_)
    ));
    let e = refusal(
        &p,
        PROVIDER,
        machine(1),
        tokens(1),
        (300, 31 * 86_400),
        1,
        now + 60,
    );
    assert!(matches!(e, OfferBookError::InvalidDuration(_)));
    assert!(matches!(
        refusal(&p, PROVIDER, machine(1), tokens(1), (300, 600), 0, now + 60),
        OfferBookError::ZeroCapacity(_)
    ));
    assert!(matches!(
        refusal(&p, PROVIDER, machine(1), tokens(1), (300, 600), 1, now),
        OfferBookError::InvalidExpiry(_)
    ));
    let e = refusal(
        &p,
        PROVIDER,
        machine(1),
        tokens(1),
        (300, 600),
        1,
        now + 31 * 86_400,
    );
    assert!(matches!(e, OfferBookError::InvalidExpiry(_)));

    let id = p
        .offers
        .sender(PROVIDER)
        .post_offer(machine(2), tokens(5), 450, 600, 3, now + 600)
        .motsu_unwrap();
    assert_eq!(id, U256::from(1));
    p.offers.assert_emitted(&OfferPosted {
        offerId: id,
        provider: PROVIDER,
        gpuCount: 2,
        gpuMemoryGb: 24,
        cpuCores: 16,
        ramGb: 64,
        diskGb: 500,
        price: tokens(5),
        minDuration: 450,
        maxDuration: 600,
        maxConcurrent: 3,
        expiry: now + 600,
    });
    let offer = p.offers.sender(STRANGER).offer(id);
    assert_eq!(
        (offer.0, offer.1, offer.2, offer.3, offer.4, offer.5, offer.6, offer.7),
        (PROVIDER, true, tokens(5), 450, 600, 3, 0, now + 600)
    );
    assert_eq!(offer.8, machine(2));
}

#[test]
fn only_the_provider_cancels_and_only_once() {
    let p = Protocol::deploy();
    p.register_provider(PROVIDER, machine(1));
    let id = p.post_offer(PROVIDER, machine(1), tokens(1), 600, 1);
    let err = p
        .offers
        .sender(STRANGER)
        .cancel_offer(id)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(OfferBookError::NotOfferProvider(_))
    ));
    let err = p
        .offers
        .sender(PROVIDER)
        .cancel_offer(U256::from(9))
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(OfferBookError::OfferNotFound(_))));
    p.offers.sender(PROVIDER).cancel_offer(id).motsu_unwrap();
    p.offers.assert_emitted(&OfferCancelled {
        offerId: id,
        provider: PROVIDER,
    });
    let err = p
        .offers
        .sender(PROVIDER)
        .cancel_offer(id)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(OfferBookError::OfferNotOpen(_))));
}

#[test]
fn reserve_and_release_are_reserved_to_market_and_deals() {
    let p = Protocol::deploy();
    p.register_provider(PROVIDER, machine(1));
    let id = p.post_offer(PROVIDER, machine(1), tokens(1), 600, 1);
    let err = p
        .offers
        .sender(STRANGER)
        .reserve(id, 0, 0, 0, 0, 0, tokens(1), 600)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(OfferBookError::UnauthorizedCaller(_))
    ));
    let err = p.offers.sender(STRANGER).release(id).motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(OfferBookError::UnauthorizedCaller(_))
    ));
    let err = p
        .offers
        .sender(p.deals.address())
        .release(id)
        .motsu_unwrap_err();
    assert!(matches!(err, Revert::Own(OfferBookError::NoActiveDeal(_))));
    let reserved = p
        .offers
        .sender(p.market.address())
        .reserve(id, 1, 24, 16, 64, 500, tokens(1), 600)
        .motsu_unwrap();
    assert_eq!(reserved, (PROVIDER, tokens(1)));
    assert_eq!(p.offers.sender(STRANGER).offer(id).6, 1);
    p.offers
        .sender(p.deals.address())
        .release(id)
        .motsu_unwrap();
    assert_eq!(p.offers.sender(STRANGER).offer(id).6, 0);
}

#[test]
fn an_offer_is_never_matched_with_a_job_shorter_than_its_minimum() {
    let p = Protocol::deploy();
    p.register_provider(PROVIDER, machine(1));
    let now = p.now();
    let id = p
        .offers
        .sender(PROVIDER)
        .post_offer(machine(1), tokens(1), 1_800, 7_200, 2, now + 3_600)
        .motsu_unwrap();
    // A job that allows 20 minutes is shorter than the 30 the offer needs.
    let err = p
        .offers
        .sender(p.market.address())
        .reserve(id, 0, 0, 0, 0, 0, tokens(1), 1_200)
        .motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(OfferBookError::IncompatibleOffer(_))
    ));
    // Exactly the minimum, and anything up to the maximum, fits.
    for duration in [1_800, 7_200] {
        p.offers
            .sender(p.market.address())
            .reserve(id, 0, 0, 0, 0, 0, tokens(1), duration)
            .motsu_unwrap();
    }
}
