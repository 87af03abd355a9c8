//! The test token: owner-only minting, one-time initialization, metadata.

use alloy_primitives::{Address, U256};
use motsu::prelude::*;
use openzeppelin_stylus::{access::ownable::IOwnable, token::erc20::IErc20};
use pond_contract_tests::{tokens, Protocol};
use pond_token::Error;

const ALICE: Address = Address::repeat_byte(0xa1);

#[test]
fn only_the_owner_mints_and_initialization_runs_once() {
    let p = Protocol::deploy();
    let err = p
        .token
        .sender(ALICE)
        .mint(ALICE, tokens(1))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    let err = p
        .token
        .sender(p.owner)
        .mint(Address::ZERO, tokens(1))
        .motsu_unwrap_err();
    assert!(matches!(err, Error::ZeroAddress(_)));
    p.token
        .sender(p.owner)
        .mint(ALICE, tokens(3))
        .motsu_unwrap();
    assert_eq!(p.token.sender(ALICE).balance_of(ALICE), tokens(3));
    assert_eq!(p.token.sender(ALICE).total_supply(), tokens(3));
    let err = p.token.sender(ALICE).initialize(ALICE).motsu_unwrap_err();
    assert!(matches!(err, Error::AlreadyInitialized(_)));
    assert_eq!(p.token.sender(ALICE).owner(), p.owner);
    assert_eq!(p.token.sender(ALICE).decimals(), 6);
    assert_eq!(p.token.sender(ALICE).symbol(), "pUSD");
    let fresh: Contract<pond_token::PondToken> = Contract::new();
    let err = fresh
        .sender(ALICE)
        .initialize(Address::ZERO)
        .motsu_unwrap_err();
    assert!(matches!(err, Error::ZeroAddress(_)));
    let _ = U256::ZERO;
}
