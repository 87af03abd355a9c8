//! The vault: deposits, withdrawals, permits, protocol-only movements and the invariant.

use alloy_primitives::{Address, B256, U256};
use alloy_signer::SignerSync;
use alloy_sol_types::SolStruct;
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
use pond_contract_tests::{own_error, tokens, Protocol};
use pond_vault::{
    Deposited, LockedTransferred, Slashed, VaultError, Withdrawn, MAX_PROTOCOL_CONTRACTS,
};

const ALICE: Address = Address::repeat_byte(0xa1);
const BOB: Address = Address::repeat_byte(0xb0);

#[test]
fn deposit_for_and_withdraw_move_exact_amounts() {
    let p = Protocol::deploy();
    p.token
        .sender(p.owner)
        .mint(ALICE, tokens(100))
        .motsu_unwrap();
    p.token
        .sender(ALICE)
        .approve(p.vault.address(), tokens(100))
        .motsu_unwrap();
    assert!(matches!(
        own_error(p.vault.sender(ALICE).deposit(U256::ZERO)),
        VaultError::ZeroAmount(_)
    ));
    assert!(matches!(
        own_error(p.vault.sender(ALICE).deposit_for(Address::ZERO, tokens(1))),
        VaultError::ZeroAddress(_)
    ));
    assert!(matches!(
        own_error(p.vault.sender(ALICE).deposit(tokens(101))),
        VaultError::TokenTransferFailed(_)
    ));
    p.vault.sender(ALICE).deposit(tokens(60)).motsu_unwrap();
    p.vault
        .sender(ALICE)
        .deposit_for(BOB, tokens(40))
        .motsu_unwrap();
    p.vault.assert_emitted(&Deposited {
        account: BOB,
        payer: ALICE,
        amount: tokens(40),
    });
    assert_eq!(p.balances(ALICE), (tokens(60), U256::ZERO));
    assert_eq!(p.balances(BOB), (tokens(40), U256::ZERO));
    let err = own_error(p.vault.sender(BOB).withdraw(tokens(41)));
    assert!(matches!(err, VaultError::InsufficientAvailable(_)));
    p.vault.sender(BOB).withdraw(tokens(15)).motsu_unwrap();
    p.vault.assert_emitted(&Withdrawn {
        account: BOB,
        amount: tokens(15),
    });
    assert_eq!(p.token.sender(BOB).balance_of(BOB), tokens(15));
    assert_eq!(p.balances(BOB), (tokens(25), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn only_protocol_contracts_lock_move_and_slash() {
    let p = Protocol::deploy();
    p.fund(ALICE, tokens(10));
    for caller in [ALICE, BOB, p.owner, p.offers.address(), p.relay.address()] {
        assert!(matches!(
            own_error(p.vault.sender(caller).lock(ALICE, tokens(1))),
            VaultError::UnauthorizedCaller(_)
        ));
        assert!(matches!(
            own_error(p.vault.sender(caller).unlock(ALICE, tokens(1))),
            VaultError::UnauthorizedCaller(_)
        ));
        assert!(matches!(
            own_error(
                p.vault
                    .sender(caller)
                    .transfer_locked(ALICE, BOB, tokens(1))
            ),
            VaultError::UnauthorizedCaller(_)
        ));
        assert!(matches!(
            own_error(p.vault.sender(caller).slash(ALICE, BOB, tokens(1))),
            VaultError::UnauthorizedCaller(_)
        ));
    }
    let market = p.market.address();
    assert!(matches!(
        own_error(p.vault.sender(market).lock(ALICE, U256::ZERO)),
        VaultError::ZeroAmount(_)
    ));
    assert!(matches!(
        own_error(p.vault.sender(market).lock(ALICE, tokens(11))),
        VaultError::InsufficientAvailable(_)
    ));
    p.vault.sender(market).lock(ALICE, tokens(6)).motsu_unwrap();
    assert!(matches!(
        own_error(p.vault.sender(market).unlock(ALICE, tokens(7))),
        VaultError::InsufficientLocked(_)
    ));
    assert!(matches!(
        own_error(
            p.vault
                .sender(market)
                .transfer_locked(ALICE, Address::ZERO, tokens(1))
        ),
        VaultError::ZeroAddress(_)
    ));
    p.vault
        .sender(p.deals.address())
        .transfer_locked(ALICE, BOB, tokens(2))
        .motsu_unwrap();
    p.vault.assert_emitted(&LockedTransferred {
        from: ALICE,
        to: BOB,
        amount: tokens(2),
    });
    p.vault
        .sender(p.registry.address())
        .slash(ALICE, BOB, tokens(1))
        .motsu_unwrap();
    p.vault.assert_emitted(&Slashed {
        from: ALICE,
        to: BOB,
        amount: tokens(1),
    });
    p.vault
        .sender(p.mediation.address())
        .unlock(ALICE, tokens(3))
        .motsu_unwrap();
    assert_eq!(p.balances(ALICE), (tokens(7), U256::ZERO));
    assert_eq!(p.balances(BOB), (tokens(3), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn initialization_is_once_and_treasury_is_owner_controlled() {
    let p = Protocol::deploy();
    let err = own_error(p.vault.sender(ALICE).initialize(
        p.token.address(),
        ALICE,
        vec![ALICE],
        ALICE,
    ));
    assert!(matches!(err, VaultError::AlreadyInitialized(_)));
    let fresh: Contract<pond_vault::Vault> = Contract::new();
    let err = own_error(fresh.sender(ALICE).initialize(
        p.token.address(),
        ALICE,
        vec![Address::ZERO],
        ALICE,
    ));
    assert!(matches!(err, VaultError::ZeroAddress(_)));
    let too_many = vec![ALICE; MAX_PROTOCOL_CONTRACTS + 1];
    let err = own_error(
        fresh
            .sender(ALICE)
            .initialize(p.token.address(), ALICE, too_many, ALICE),
    );
    assert!(matches!(err, VaultError::TooManyProtocolContracts(_)));
    assert!(matches!(
        own_error(p.vault.sender(ALICE).set_treasury(BOB)),
        VaultError::UnauthorizedCaller(_)
    ));
    assert!(matches!(
        own_error(p.vault.sender(p.owner).set_treasury(Address::ZERO)),
        VaultError::ZeroAddress(_)
    ));
    p.vault.sender(p.owner).set_treasury(BOB).motsu_unwrap();
    assert_eq!(p.vault.sender(ALICE).treasury(), BOB);
    assert!(p
        .vault
        .sender(ALICE)
        .is_protocol_contract(p.market.address()));
    assert!(!p.vault.sender(ALICE).is_protocol_contract(ALICE));
}

alloy_sol_types::sol! {
    struct Permit { address owner; address spender; uint256 value; uint256 nonce; uint256 deadline; }
}

#[test]
fn deposit_with_permit_credits_the_signer_and_survives_a_used_permit() {
    let p = Protocol::deploy();
    let alice = Account::from_seed("alice");
    p.token
        .sender(p.owner)
        .mint(alice.address(), tokens(50))
        .motsu_unwrap();
    let deadline = U256::from(p.now() + 600);
    let domain = alloy_sol_types::eip712_domain! {
        name: pond_token::NAME,
        version: "1",
        chain_id: 42_161,
        verifying_contract: p.token.address(),
    };
    let permit = Permit {
        owner: alice.address(),
        spender: p.vault.address(),
        value: tokens(50),
        nonce: U256::ZERO,
        deadline,
    };
    let signature = alice
        .signer()
        .sign_hash_sync(&permit.eip712_signing_hash(&domain))
        .unwrap();
    let (v, r, s) = (
        27 + u8::from(signature.v()),
        B256::from(signature.r()),
        B256::from(signature.s()),
    );
    // A relayer submits it.
    p.vault
        .sender(BOB)
        .deposit_with_permit(alice.address(), tokens(20), deadline, v, r, s)
        .motsu_unwrap_err();
    p.vault
        .sender(BOB)
        .deposit_with_permit(alice.address(), tokens(50), deadline, v, r, s)
        .motsu_unwrap();
    assert_eq!(p.balances(alice.address()), (tokens(50), U256::ZERO));
    assert_eq!(p.balances(BOB), (U256::ZERO, U256::ZERO));
    // Replaying the same permit fails: its nonce was used, so the token
    // refuses it, and a stranger may not fall back on an allowance.
    let err = own_error(p.vault.sender(BOB).deposit_with_permit(
        alice.address(),
        tokens(50),
        deadline,
        v,
        r,
        s,
    ));
    assert!(matches!(err, VaultError::PermitFailed(_)));
    p.assert_vault_invariant();
}

#[test]
fn a_junk_permit_cannot_sweep_an_approved_wallet_into_the_vault() {
    let p = Protocol::deploy();
    let victim = Account::from_seed("victim");
    // The victim approved the vault for its whole wallet (e.g. for later deposits).
    p.token
        .sender(p.owner)
        .mint(victim.address(), tokens(500))
        .motsu_unwrap();
    p.token
        .sender(victim.address())
        .approve(p.vault.address(), tokens(500))
        .motsu_unwrap();
    // A stranger submits a "permit" with a junk signature.
    let deadline = U256::from(p.now() + 600);
    let junk = B256::repeat_byte(0x42);
    let err = own_error(p.vault.sender(BOB).deposit_with_permit(
        victim.address(),
        tokens(500),
        deadline,
        27,
        junk,
        junk,
    ));
    assert!(matches!(err, VaultError::PermitFailed(_)));
    // Nothing moved: the wallet and the allowance are untouched.
    assert_eq!(
        p.token.sender(BOB).balance_of(victim.address()),
        tokens(500)
    );
    assert_eq!(p.balances(victim.address()), (U256::ZERO, U256::ZERO));
    // The owner itself may still deposit through its allowance (a permit
    // of its own that a front-runner already used).
    p.vault
        .sender(victim.address())
        .deposit_with_permit(victim.address(), tokens(100), deadline, 27, junk, junk)
        .motsu_unwrap();
    assert_eq!(p.balances(victim.address()), (tokens(100), U256::ZERO));
    p.assert_vault_invariant();
}

#[test]
fn only_the_governor_sets_the_treasury_and_the_governor_is_fixed() {
    let p = Protocol::deploy();
    assert_eq!(p.vault.sender(BOB).governor(), p.owner);
    assert!(matches!(
        own_error(p.vault.sender(ALICE).set_treasury(BOB)),
        VaultError::UnauthorizedCaller(_)
    ));
    p.vault.sender(p.owner).set_treasury(BOB).motsu_unwrap();
    assert_eq!(p.vault.sender(ALICE).treasury(), BOB);
    // The governor is set once, at initialization; it changes only by the
    // timelock changing its own admin.
    let err = own_error(p.vault.sender(p.owner).initialize(
        p.token.address(),
        ALICE,
        vec![],
        ALICE,
    ));
    assert!(matches!(err, VaultError::AlreadyInitialized(_)));
}

mod lazy_token {
    //! A token that reports success but moves nothing.
    use alloy_primitives::{Address, U256};
    use stylus_sdk::prelude::*;

    #[storage]
    pub(crate) struct LazyToken;

    // SAFETY: used only as a motsu contract's top-level storage.
    unsafe impl TopLevelStorage for LazyToken {}

    #[public]
    impl LazyToken {
        fn balance_of(&self, _account: Address) -> U256 {
            U256::from(1_000)
        }

        fn transfer_from(&mut self, _from: Address, _to: Address, _value: U256) -> bool {
            true
        }
    }
}

#[test]
fn a_deposit_that_delivers_nothing_credits_nothing() {
    let lazy: Contract<lazy_token::LazyToken> = Contract::new();
    let vault: Contract<pond_vault::Vault> = Contract::new();
    let market = Address::repeat_byte(0x3a);
    vault
        .sender(ALICE)
        .initialize(lazy.address(), BOB, vec![market], ALICE)
        .motsu_unwrap();
    let err = own_error(vault.sender(ALICE).deposit(tokens(5)));
    assert!(matches!(err, VaultError::NothingReceived(_)));
    assert_eq!(vault.sender(ALICE).available_of(ALICE), U256::ZERO);
    assert_eq!(vault.sender(ALICE).total_available(), U256::ZERO);
}
