//! `Deals`: the life of a deal after matching.
//!
//! The market opens a deal with the agreed price (locked from the creator)
//! and the provider's collateral (results collateral plus timeout
//! collateral, locked from the provider). Then:
//!
//! 1. Before the execution deadline the provider commits
//!    `keccak256(abi.encode(dealId, provider, resultHash, salt))`.
//! 2. Within the reveal window it reveals `resultHash`, a result URI and
//!    the salt; the commitment is checked.
//! 3. Within the judge window the creator accepts (the provider is paid the
//!    price minus the protocol fee) or challenges (mediation decides). After
//!    the window anyone can finalize the deal as accepted.
//!
//! Every non-terminal state has a permissionless way out: a missing commit
//! or reveal is a timeout that anyone can claim (the provider's timeout
//! collateral compensates the creator), a silent creator is finalized, and
//! a challenged deal ends when mediation settles it.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{string::String, vec, vec::Vec};

use alloy_primitives::{Address, B256, U256, U64, U8};
use pond_common::{
    clock,
    commitment::result_commitment,
    errors as shared,
    interfaces::{bubble, outcome, IMediation, IOfferBook, IRegistry, IVault, Revert},
    math::bps_of,
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageB256, StorageBool, StorageMap, StorageU256, StorageU64, StorageU8,
    },
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IDealsEvents::*;

/// Deal states.
pub mod deal_state {
    /// No deal with this id.
    pub const NONE: u8 = 0;
    /// Matched; waiting for the provider's commitment.
    pub const ACTIVE: u8 = 1;
    /// Committed; waiting for the reveal.
    pub const COMMITTED: u8 = 2;
    /// Revealed; waiting for the creator's judgement.
    pub const REVEALED: u8 = 3;
    /// Challenged; waiting for mediation.
    pub const CHALLENGED: u8 = 4;
    /// Paid (accepted, finalized, or upheld by mediation). Terminal.
    pub const COMPLETED: u8 = 5;
    /// No commit or no reveal in time. Terminal.
    pub const TIMED_OUT: u8 = 6;
    /// Mediation found the result wrong. Terminal.
    pub const REJECTED: u8 = 7;
}

/// How a deal completed (the `how` of [`DealCompleted`]).
pub mod completion {
    /// The creator accepted the result.
    pub const ACCEPTED: u8 = 0;
    /// Anyone finalized it after the judge window.
    pub const FINALIZED: u8 = 1;
    /// Mediation upheld the provider's result.
    pub const MEDIATION: u8 = 2;
    /// Mediation reached no decision: the result was not shown wrong, so
    /// it is paid as if accepted.
    pub const UNDECIDED: u8 = 3;
}

/// Highest protocol fee: 10 %.
pub const MAX_PROTOCOL_FEE_BPS: u64 = 1_000;
/// Shortest reveal or judge window: 1 minute.
pub const MIN_WINDOW: u64 = 60;
/// Longest reveal or judge window: 7 days.
pub const MAX_WINDOW: u64 = 7 * 24 * 60 * 60;
/// Protocol fee at initialization: 2.5 %.
pub const DEFAULT_PROTOCOL_FEE_BPS: u64 = 250;
/// Reveal window at initialization: 1 hour.
pub const DEFAULT_REVEAL_WINDOW: u64 = 60 * 60;
/// Judge window at initialization: 1 day.
pub const DEFAULT_JUDGE_WINDOW: u64 = 24 * 60 * 60;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error DealNotFound();
        #[derive(Debug)]
        error WrongDealState(uint8 state);
        #[derive(Debug)]
        error NotDealProvider();
        #[derive(Debug)]
        error NotDealCreator();
        #[derive(Debug)]
        error DeadlinePassed(uint64 deadline);
        #[derive(Debug)]
        error DeadlineNotPassed(uint64 deadline);
        #[derive(Debug)]
        error ZeroCommitment();
        /// The revealed result and salt do not hash to the commitment.
        #[derive(Debug)]
        error CommitmentMismatch();
        #[derive(Debug)]
        error UnknownOutcome(uint8 outcome);
        /// More collateral was paid to validators than the deal held.
        #[derive(Debug)]
        error CollateralExceeded(uint256 requested, uint256 available);
    }
}
pub use errors::*;
pub use pond_common::errors::{
    check_uri, AlreadyInitialized, ArithmeticOverflow, ParameterOutOfBounds, UnauthorizedCaller,
    UriTooLong, ZeroAddress,
};

/// Everything the deal book can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum DealsError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    UnauthorizedCaller(UnauthorizedCaller),
    DealNotFound(DealNotFound),
    WrongDealState(WrongDealState),
    NotDealProvider(NotDealProvider),
    NotDealCreator(NotDealCreator),
    DeadlinePassed(DeadlinePassed),
    DeadlineNotPassed(DeadlineNotPassed),
    ZeroCommitment(ZeroCommitment),
    CommitmentMismatch(CommitmentMismatch),
    UnknownOutcome(UnknownOutcome),
    CollateralExceeded(CollateralExceeded),
    ParameterOutOfBounds(ParameterOutOfBounds),
    ArithmeticOverflow(ArithmeticOverflow),
    UriTooLong(UriTooLong),
}

/// The deal book's result type: its own errors or another Pond contract's revert data.
pub type DealsResult<T> = Result<T, Revert<DealsError>>;

fn own<T>(error: impl Into<DealsError>) -> DealsResult<T> {
    Err(Revert::Own(error.into()))
}

fn overflow() -> Revert<DealsError> {
    Revert::Own(ArithmeticOverflow {}.into())
}

/// One deal.
#[storage]
pub struct Deal {
    creator: StorageAddress,
    state: StorageU8,
    execution_deadline: StorageU64,
    provider: StorageAddress,
    reveal_deadline: StorageU64,
    judge_deadline: StorageU64,
    job_id: StorageU256,
    offer_id: StorageU256,
    price: StorageU256,
    results_collateral: StorageU256,
    timeout_collateral: StorageU256,
    commitment: StorageB256,
    result_hash: StorageB256,
    case_id: StorageU256,
    // The fee and windows in force when the deal opened: a later change by
    // the governor never reaches a running deal.
    protocol_fee_bps: StorageU64,
    reveal_window: StorageU64,
    judge_window: StorageU64,
}

/// The deal book's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Deals {
    initialized: StorageBool,
    vault: StorageAddress,
    registry: StorageAddress,
    market: StorageAddress,
    offers: StorageAddress,
    mediation: StorageAddress,
    protocol_fee_bps: StorageU64,
    reveal_window: StorageU64,
    judge_window: StorageU64,
    deal_count: StorageU256,
    deals: StorageMap<U256, Deal>,
    /// The governance timelock: the only account that sets parameters.
    governor: StorageAddress,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Deals {}

#[public]
impl Deals {
    /// The governance timelock, the only account that sets parameters.
    pub fn governor(&self) -> Address {
        self.governor.get()
    }

    /// Wires the deal book to the vault, registry, market, offer book and
    /// mediation and sets the governor (the timelock). Runs once.
    ///
    /// # Errors
    /// Second call, or a zero address.
    pub fn initialize(
        &mut self,
        vault: Address,
        registry: Address,
        market: Address,
        offers: Address,
        mediation: Address,
        governor: Address,
    ) -> DealsResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if [vault, registry, market, offers, mediation, governor]
            .iter()
            .any(|a| a.is_zero())
        {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.vault.set(vault);
        self.registry.set(registry);
        self.market.set(market);
        self.offers.set(offers);
        self.mediation.set(mediation);
        self.protocol_fee_bps
            .set(U64::from(DEFAULT_PROTOCOL_FEE_BPS));
        self.reveal_window.set(U64::from(DEFAULT_REVEAL_WINDOW));
        self.judge_window.set(U64::from(DEFAULT_JUDGE_WINDOW));
        self.governor.set(governor);
        log(
            self.vm(),
            DealsInitialized {
                vault,
                registry,
                market,
                offers,
                mediation,
                protocolFeeBps: DEFAULT_PROTOCOL_FEE_BPS,
                revealWindow: DEFAULT_REVEAL_WINDOW,
                judgeWindow: DEFAULT_JUDGE_WINDOW,
            },
        );
        Ok(())
    }

    /// Opens a deal whose price and collateral the market has locked.
    /// The execution deadline is now plus the job's maximum duration.
    /// Market only. Returns the new deal id.
    ///
    /// # Errors
    /// Unauthorized caller or an overflow.
    #[allow(clippy::too_many_arguments)]
    pub fn open_deal(
        &mut self,
        job_id: U256,
        offer_id: U256,
        creator: Address,
        provider: Address,
        price: U256,
        results_collateral: U256,
        timeout_collateral: U256,
        max_duration: u64,
    ) -> DealsResult<U256> {
        self.only(self.market.get())?;
        let execution_deadline = clock::now(self.vm())
            .checked_add(max_duration)
            .ok_or_else(overflow)?;
        let deal_id = self
            .deal_count
            .get()
            .checked_add(U256::from(1))
            .ok_or_else(overflow)?;
        self.deal_count.set(deal_id);
        let mut deal = self.deals.setter(deal_id);
        deal.creator.set(creator);
        deal.provider.set(provider);
        deal.state.set(U8::from(deal_state::ACTIVE));
        deal.execution_deadline.set(U64::from(execution_deadline));
        deal.job_id.set(job_id);
        deal.offer_id.set(offer_id);
        deal.price.set(price);
        deal.results_collateral.set(results_collateral);
        deal.timeout_collateral.set(timeout_collateral);
        deal.protocol_fee_bps.set(self.protocol_fee_bps.get());
        deal.reveal_window.set(self.reveal_window.get());
        deal.judge_window.set(self.judge_window.get());
        log(
            self.vm(),
            DealOpened {
                dealId: deal_id,
                jobId: job_id,
                provider,
                creator,
                offerId: offer_id,
                price,
                resultsCollateral: results_collateral,
                timeoutCollateral: timeout_collateral,
                executionDeadline: execution_deadline,
            },
        );
        Ok(deal_id)
    }

    /// The provider commits to its result before the execution deadline.
    ///
    /// # Errors
    /// Unknown deal, not the provider, wrong state, deadline passed, or a
    /// zero commitment.
    pub fn commit_result(&mut self, deal_id: U256, commitment: B256) -> DealsResult<()> {
        let provider = self.expect_provider(deal_id, deal_state::ACTIVE)?;
        let now = clock::now(self.vm());
        let deal = self.deals.get(deal_id);
        let deadline: u64 = deal.execution_deadline.get().to();
        if now > deadline {
            return own(DeadlinePassed { deadline });
        }
        if commitment.is_zero() {
            return own(ZeroCommitment {});
        }
        let reveal_deadline = now
            .checked_add(deal.reveal_window.get().to())
            .ok_or_else(overflow)?;
        let mut deal = self.deals.setter(deal_id);
        deal.state.set(U8::from(deal_state::COMMITTED));
        deal.commitment.set(commitment);
        deal.reveal_deadline.set(U64::from(reveal_deadline));
        log(
            self.vm(),
            ResultCommitted {
                dealId: deal_id,
                provider,
                commitment,
                revealDeadline: reveal_deadline,
            },
        );
        Ok(())
    }

    /// The provider reveals its result; it must match the commitment.
    ///
    /// # Errors
    /// Unknown deal, not the provider, wrong state, reveal deadline passed,
    /// a result and salt that do not match the commitment, or a URI longer
    /// than `MAX_URI_BYTES`.
    pub fn reveal_result(
        &mut self,
        deal_id: U256,
        result_hash: B256,
        result_uri: String,
        salt: B256,
    ) -> DealsResult<()> {
        check_uri(&result_uri).or_else(own)?;
        let provider = self.expect_provider(deal_id, deal_state::COMMITTED)?;
        let now = clock::now(self.vm());
        let deal = self.deals.get(deal_id);
        let deadline: u64 = deal.reveal_deadline.get().to();
        if now > deadline {
            return own(DeadlinePassed { deadline });
        }
        if result_commitment(deal_id, provider, result_hash, salt) != deal.commitment.get() {
            return own(CommitmentMismatch {});
        }
        let judge_deadline = now
            .checked_add(deal.judge_window.get().to())
            .ok_or_else(overflow)?;
        let mut deal = self.deals.setter(deal_id);
        deal.state.set(U8::from(deal_state::REVEALED));
        deal.result_hash.set(result_hash);
        deal.judge_deadline.set(U64::from(judge_deadline));
        log(
            self.vm(),
            ResultRevealed {
                dealId: deal_id,
                provider,
                resultHash: result_hash,
                resultUri: result_uri,
                judgeDeadline: judge_deadline,
            },
        );
        Ok(())
    }

    /// The creator accepts the revealed result: the provider is paid.
    ///
    /// # Errors
    /// Unknown deal, not the creator, wrong state, or judge window over.
    pub fn accept_result(&mut self, deal_id: U256) -> DealsResult<()> {
        self.expect_creator_in_judge_window(deal_id)?;
        self.complete(deal_id, completion::ACCEPTED)
    }

    /// The creator challenges the revealed result: mediation opens a case
    /// and takes the mediation fee from the creator's vault balance.
    ///
    /// # Errors
    /// Unknown deal, not the creator, wrong state, judge window over, or
    /// mediation's error (e.g. the creator cannot pay the fee).
    pub fn challenge_result(&mut self, deal_id: U256) -> DealsResult<U256> {
        let creator = self.expect_creator_in_judge_window(deal_id)?;
        let deal = self.deals.get(deal_id);
        let provider = deal.provider.get();
        let result_hash = deal.result_hash.get();
        let results_collateral = deal.results_collateral.get();
        self.deals
            .setter(deal_id)
            .state
            .set(U8::from(deal_state::CHALLENGED));
        let case_id = IMediation::new(self.mediation.get())
            .open_case(
                &mut *self,
                deal_id,
                provider,
                creator,
                result_hash,
                results_collateral,
            )
            .map_err(bubble)?;
        self.deals.setter(deal_id).case_id.set(case_id);
        log(
            self.vm(),
            DealChallenged {
                dealId: deal_id,
                creator,
                caseId: case_id,
            },
        );
        Ok(case_id)
    }

    /// Completes a revealed deal as accepted once the judge window has
    /// passed without a judgement. Anyone may call it.
    ///
    /// # Errors
    /// Unknown deal, wrong state, or judge window not over.
    pub fn finalize_deal(&mut self, deal_id: U256) -> DealsResult<()> {
        self.expect_state(deal_id, deal_state::REVEALED)?;
        let deadline: u64 = self.deals.get(deal_id).judge_deadline.get().to();
        if clock::now(self.vm()) <= deadline {
            return own(DeadlineNotPassed { deadline });
        }
        self.complete(deal_id, completion::FINALIZED)
    }

    /// Ends a deal whose provider missed the execution deadline (no
    /// commitment) or the reveal deadline (no reveal). The price returns to
    /// the creator, who also receives the provider's timeout collateral.
    /// Anyone may call it.
    ///
    /// # Errors
    /// Unknown deal, a state with no timeout, or the deadline not passed.
    pub fn claim_timeout(&mut self, deal_id: U256) -> DealsResult<()> {
        let deal = self.deals.get(deal_id);
        let state: u8 = deal.state.get().to();
        let (deadline, stage): (u64, u8) = match state {
            deal_state::ACTIVE => (deal.execution_deadline.get().to(), 0),
            deal_state::COMMITTED => (deal.reveal_deadline.get().to(), 1),
            deal_state::NONE => return own(DealNotFound {}),
            other => return own(WrongDealState { state: other }),
        };
        if clock::now(self.vm()) <= deadline {
            return own(DeadlineNotPassed { deadline });
        }
        let creator = deal.creator.get();
        let provider = deal.provider.get();
        let price = deal.price.get();
        let results_collateral = deal.results_collateral.get();
        let compensation = deal.timeout_collateral.get();
        let offer_id = deal.offer_id.get();
        self.deals
            .setter(deal_id)
            .state
            .set(U8::from(deal_state::TIMED_OUT));
        self.unlock(creator, price)?;
        self.transfer_locked(provider, creator, compensation)?;
        self.unlock(provider, results_collateral)?;
        self.record(provider, outcome::PROVIDER_FAILED, compensation)?;
        self.release_offer(offer_id)?;
        log(
            self.vm(),
            DealTimedOut {
                dealId: deal_id,
                provider,
                creator,
                stage,
                compensation,
            },
        );
        Ok(())
    }

    /// Applies mediation's decision to a challenged deal. Mediation only;
    /// it has already paid `collateral_to_validators` of the provider's
    /// results collateral to the majority validators.
    ///
    /// # Errors
    /// Unauthorized caller, wrong state, an unknown outcome, or more
    /// collateral paid than the deal held.
    pub fn settle_mediation(
        &mut self,
        deal_id: U256,
        outcome: u8,
        collateral_to_validators: U256,
    ) -> DealsResult<()> {
        self.only(self.mediation.get())?;
        self.expect_state(deal_id, deal_state::CHALLENGED)?;
        let deal = self.deals.get(deal_id);
        let creator = deal.creator.get();
        let provider = deal.provider.get();
        let price = deal.price.get();
        let results_collateral = deal.results_collateral.get();
        let timeout_collateral = deal.timeout_collateral.get();
        let offer_id = deal.offer_id.get();
        match outcome {
            outcome::MEDIATION_PROVIDER_RIGHT => self.complete(deal_id, completion::MEDIATION),
            outcome::MEDIATION_PROVIDER_WRONG => {
                let Some(compensation) = results_collateral.checked_sub(collateral_to_validators)
                else {
                    return own(CollateralExceeded {
                        requested: collateral_to_validators,
                        available: results_collateral,
                    });
                };
                self.deals
                    .setter(deal_id)
                    .state
                    .set(U8::from(deal_state::REJECTED));
                self.unlock(creator, price)?;
                self.transfer_locked(provider, creator, compensation)?;
                self.unlock(provider, timeout_collateral)?;
                self.record(provider, outcome::PROVIDER_DISPUTE_LOST, results_collateral)?;
                self.release_offer(offer_id)?;
                log(
                    self.vm(),
                    DealRejected {
                        dealId: deal_id,
                        provider,
                        creator,
                        compensation,
                        collateralToValidators: collateral_to_validators,
                    },
                );
                Ok(())
            }
            // Not shown wrong: the result is paid, as a finalized one would be.
            outcome::MEDIATION_NO_DECISION => self.complete(deal_id, completion::UNDECIDED),
            other => own(UnknownOutcome { outcome: other }),
        }
    }

    /// A deal's parties and state: job id, offer id, creator, provider,
    /// state, case id.
    pub fn deal_parties(&self, deal_id: U256) -> (U256, U256, Address, Address, u8, U256) {
        let d = self.deals.get(deal_id);
        (
            d.job_id.get(),
            d.offer_id.get(),
            d.creator.get(),
            d.provider.get(),
            d.state.get().to(),
            d.case_id.get(),
        )
    }

    /// A deal's money and timing: price, results collateral, timeout
    /// collateral, execution, reveal and judge deadlines, commitment,
    /// result hash.
    #[allow(clippy::type_complexity)]
    pub fn deal_terms(&self, deal_id: U256) -> (U256, U256, U256, u64, u64, u64, B256, B256) {
        let d = self.deals.get(deal_id);
        (
            d.price.get(),
            d.results_collateral.get(),
            d.timeout_collateral.get(),
            d.execution_deadline.get().to(),
            d.reveal_deadline.get().to(),
            d.judge_deadline.get().to(),
            d.commitment.get(),
            d.result_hash.get(),
        )
    }

    /// Number of deals opened so far (ids run from 1).
    pub fn deal_count(&self) -> U256 {
        self.deal_count.get()
    }

    /// Protocol fee (basis points), reveal window and judge window (seconds).
    pub fn parameters(&self) -> (u64, u64, u64) {
        (
            self.protocol_fee_bps.get().to(),
            self.reveal_window.get().to(),
            self.judge_window.get().to(),
        )
    }

    /// Sets the protocol fee and the windows within their bounds for deals
    /// opened from now on; running deals keep the fee and windows they
    /// opened with. Governor only.
    ///
    /// # Errors
    /// Not the governor, or a value out of bounds.
    pub fn set_parameters(
        &mut self,
        protocol_fee_bps: u64,
        reveal_window: u64,
        judge_window: u64,
    ) -> DealsResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.governor.get())
            .map_err(|e| Revert::Own(e.into()))?;
        check_bounds(protocol_fee_bps, 0, MAX_PROTOCOL_FEE_BPS)?;
        check_bounds(reveal_window, MIN_WINDOW, MAX_WINDOW)?;
        check_bounds(judge_window, MIN_WINDOW, MAX_WINDOW)?;
        self.protocol_fee_bps.set(U64::from(protocol_fee_bps));
        self.reveal_window.set(U64::from(reveal_window));
        self.judge_window.set(U64::from(judge_window));
        log(
            self.vm(),
            DealsParametersUpdated {
                protocolFeeBps: protocol_fee_bps,
                revealWindow: reveal_window,
                judgeWindow: judge_window,
            },
        );
        Ok(())
    }
}

impl Deals {
    fn only(&self, allowed: Address) -> DealsResult<()> {
        shared::only_caller(self.vm().msg_sender(), allowed).map_err(|e| Revert::Own(e.into()))
    }

    fn expect_state(&self, deal_id: U256, expected: u8) -> DealsResult<()> {
        let state: u8 = self.deals.get(deal_id).state.get().to();
        if state == deal_state::NONE {
            return own(DealNotFound {});
        }
        if state != expected {
            return own(WrongDealState { state });
        }
        Ok(())
    }

    fn expect_provider(&self, deal_id: U256, expected: u8) -> DealsResult<Address> {
        self.expect_state(deal_id, expected)?;
        let provider = self.deals.get(deal_id).provider.get();
        if self.vm().msg_sender() != provider {
            return own(NotDealProvider {});
        }
        Ok(provider)
    }

    fn expect_creator_in_judge_window(&self, deal_id: U256) -> DealsResult<Address> {
        self.expect_state(deal_id, deal_state::REVEALED)?;
        let deal = self.deals.get(deal_id);
        let creator = deal.creator.get();
        if self.vm().msg_sender() != creator {
            return own(NotDealCreator {});
        }
        let deadline: u64 = deal.judge_deadline.get().to();
        if clock::now(self.vm()) > deadline {
            return own(DeadlinePassed { deadline });
        }
        Ok(creator)
    }

    /// Pays the provider (price minus fee, fee to the treasury) and
    /// releases its collateral.
    fn complete(&mut self, deal_id: U256, how: u8) -> DealsResult<()> {
        let deal = self.deals.get(deal_id);
        let creator = deal.creator.get();
        let provider = deal.provider.get();
        let price = deal.price.get();
        let collateral = deal
            .results_collateral
            .get()
            .checked_add(deal.timeout_collateral.get())
            .ok_or_else(overflow)?;
        let offer_id = deal.offer_id.get();
        let fee = bps_of(price, deal.protocol_fee_bps.get().to()).ok_or_else(overflow)?;
        // fee ≤ 10 % of the price.
        let paid = price - fee;
        self.deals
            .setter(deal_id)
            .state
            .set(U8::from(deal_state::COMPLETED));
        self.transfer_locked(creator, provider, paid)?;
        if !fee.is_zero() {
            let vault = IVault::new(self.vault.get());
            let treasury = vault.treasury(&*self).map_err(bubble)?;
            self.transfer_locked(creator, treasury, fee)?;
        }
        self.unlock(provider, collateral)?;
        let kind = if how == completion::MEDIATION {
            outcome::PROVIDER_DISPUTE_WON
        } else {
            outcome::PROVIDER_COMPLETED
        };
        self.record(provider, kind, paid)?;
        self.release_offer(offer_id)?;
        log(
            self.vm(),
            DealCompleted {
                dealId: deal_id,
                provider,
                creator,
                how,
                paid,
                fee,
            },
        );
        Ok(())
    }

    fn unlock(&mut self, account: Address, amount: U256) -> DealsResult<()> {
        if amount.is_zero() {
            return Ok(());
        }
        IVault::new(self.vault.get())
            .unlock(&mut *self, account, amount)
            .map_err(bubble)
    }

    fn transfer_locked(&mut self, from: Address, to: Address, amount: U256) -> DealsResult<()> {
        if amount.is_zero() {
            return Ok(());
        }
        IVault::new(self.vault.get())
            .transfer_locked(&mut *self, from, to, amount)
            .map_err(bubble)
    }

    fn record(&mut self, provider: Address, kind: u8, amount: U256) -> DealsResult<()> {
        IRegistry::new(self.registry.get())
            .record_provider_outcome(&mut *self, provider, kind, amount)
            .map_err(bubble)
    }

    fn release_offer(&mut self, offer_id: U256) -> DealsResult<()> {
        if offer_id.is_zero() {
            return Ok(());
        }
        IOfferBook::new(self.offers.get())
            .release(&mut *self, offer_id)
            .map_err(bubble)
    }
}

fn check_bounds(value: u64, minimum: u64, maximum: u64) -> DealsResult<()> {
    shared::check_bounds(value, minimum, maximum).map_err(|e| Revert::Own(e.into()))
}
