//! `Mediation`: deciding challenged results.
//!
//! A challenge opens a case and locks the creator's mediation fee. The case
//! waits for a later beacon round, then anyone draws `k` validators (odd,
//! default 3) stake-weighted from the registry, never the deal's provider
//! or creator. Each validator re-runs the job and commits, then reveals,
//! its own result hash. Anyone resolves the case after the reveal window,
//! or as soon as every validator has revealed:
//!
//! - majority agrees with the provider → the deal completes as accepted and
//!   the fee pays the majority validators;
//! - majority disagrees → part of the provider's results collateral pays
//!   the majority validators, the rest compensates the creator, who also
//!   gets the price and the fee back;
//! - no majority → one redraw; if that fails too, the provider (not shown
//!   wrong) is paid and the fee returns to the creator;
//! - validators in the minority, and those who never revealed, lose a set
//!   share of their stake.
//!
//! A vote is a result hash plus a digest of the outputs it stands for,
//! bound to the round's seed; a majority must agree on the same pair, so
//! copying the provider's public hash or revealing scattered garbage
//! decides nothing. Stake is frozen from the request of a committee's
//! randomness until its draw, and each case keeps the parameters it
//! opened with.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{keccak256, Address, B256, U256, U64, U8};
use alloy_sol_types::SolValue;
use pond_common::{
    clock,
    commitment::vote_commitment,
    errors as shared,
    interfaces::{bubble, outcome, IDeals, IRandomnessBeacon, IRegistry, IVault, Revert},
    math::{bps_of, div_small},
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
pub use events::IMediationEvents::*;

/// Case states.
pub mod case_state {
    /// No case with this id.
    pub const NONE: u8 = 0;
    /// Waiting for the beacon round, then for someone to draw validators.
    pub const AWAITING_DRAW: u8 = 1;
    /// Validators drawn; commit and reveal windows running.
    pub const VOTING: u8 = 2;
    /// Decided and settled. Terminal.
    pub const RESOLVED: u8 = 3;
}

/// Most validators per case (the bound of every per-case loop).
pub const MAX_VALIDATORS_PER_CASE: u8 = 9;
/// Shortest commit or reveal window: 1 minute.
pub const MIN_WINDOW: u64 = 60;
/// Longest commit or reveal window: 7 days.
pub const MAX_WINDOW: u64 = 7 * 24 * 60 * 60;
/// Largest share of the results collateral paid to validators: 50 %.
pub const MAX_VALIDATOR_REWARD_BPS: u64 = 5_000;
/// Largest share of stake slashed per faulty vote: 50 %.
pub const MAX_SLASH_BPS: u64 = 5_000;
/// Validators per case at initialization.
pub const DEFAULT_VALIDATORS_PER_CASE: u8 = 3;
/// Commit and reveal windows at initialization: 1 day each.
pub const DEFAULT_WINDOW: u64 = 24 * 60 * 60;
/// Validator share of the results collateral at initialization: 20 %.
pub const DEFAULT_VALIDATOR_REWARD_BPS: u64 = 2_000;
/// Slash per faulty vote at initialization: 10 % of stake.
pub const DEFAULT_SLASH_BPS: u64 = 1_000;
/// Rounds a case may use: the first draw and one redraw.
pub const MAX_ROUNDS: u8 = 2;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error CaseNotFound();
        #[derive(Debug)]
        error WrongCaseState(uint8 state);
        /// The caller was not drawn for this case's current round.
        #[derive(Debug)]
        error NotCaseValidator();
        #[derive(Debug)]
        error AlreadyCommitted();
        #[derive(Debug)]
        error NotCommitted();
        #[derive(Debug)]
        error AlreadyRevealed();
        #[derive(Debug)]
        error ZeroCommitment();
        #[derive(Debug)]
        error CommitmentMismatch();
        #[derive(Debug)]
        error CommitWindowClosed(uint64 commitDeadline);
        /// Reveals start when the commit window ends or every validator has committed.
        #[derive(Debug)]
        error RevealNotOpen(uint64 commitDeadline);
        #[derive(Debug)]
        error RevealWindowClosed(uint64 revealDeadline);
        /// Resolution waits for the reveal window to end or for every reveal.
        #[derive(Debug)]
        error VotingNotOver(uint64 revealDeadline);
    }
}
pub use errors::*;
pub use pond_common::errors::{
    AlreadyInitialized, ArithmeticOverflow, ParameterOutOfBounds, UnauthorizedCaller, ZeroAddress,
};

/// Everything mediation can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum MediationError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    UnauthorizedCaller(UnauthorizedCaller),
    CaseNotFound(CaseNotFound),
    WrongCaseState(WrongCaseState),
    NotCaseValidator(NotCaseValidator),
    AlreadyCommitted(AlreadyCommitted),
    NotCommitted(NotCommitted),
    AlreadyRevealed(AlreadyRevealed),
    ZeroCommitment(ZeroCommitment),
    CommitmentMismatch(CommitmentMismatch),
    CommitWindowClosed(CommitWindowClosed),
    RevealNotOpen(RevealNotOpen),
    RevealWindowClosed(RevealWindowClosed),
    VotingNotOver(VotingNotOver),
    ParameterOutOfBounds(ParameterOutOfBounds),
    ArithmeticOverflow(ArithmeticOverflow),
}

/// Mediation's result type: its own errors or another Pond contract's revert data.
pub type MediationResult<T> = Result<T, Revert<MediationError>>;

fn own<T>(error: impl Into<MediationError>) -> MediationResult<T> {
    Err(Revert::Own(error.into()))
}

fn overflow() -> Revert<MediationError> {
    Revert::Own(ArithmeticOverflow {}.into())
}

/// A drawn validator's vote in the current round.
#[storage]
pub struct Vote {
    validator: StorageAddress,
    committed: StorageBool,
    revealed: StorageBool,
    commitment: StorageB256,
    result: StorageB256,
    /// Digest of the outputs the validator voted for, bound to the round's
    /// seed: it cannot be produced without those outputs.
    output_digest: StorageB256,
}

/// One mediation case.
#[storage]
pub struct Case {
    creator: StorageAddress,
    state: StorageU8,
    round: StorageU8,
    validator_count: StorageU8,
    commits: StorageU8,
    reveals: StorageU8,
    provider: StorageAddress,
    commit_deadline: StorageU64,
    reveal_deadline: StorageU64,
    deal_id: StorageU256,
    provider_result: StorageB256,
    results_collateral: StorageU256,
    fee: StorageU256,
    beacon_round: StorageU256,
    votes: StorageMap<u8, Vote>,
    // The parameters in force when the case opened: a later change by the
    // governor never reaches a running case.
    committee_size: StorageU8,
    commit_window: StorageU64,
    reveal_window: StorageU64,
    validator_reward_bps: StorageU64,
    slash_bps: StorageU64,
}

/// Mediation's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Mediation {
    initialized: StorageBool,
    vault: StorageAddress,
    registry: StorageAddress,
    deals: StorageAddress,
    beacon: StorageAddress,
    mediation_fee: StorageU256,
    validators_per_case: StorageU8,
    commit_window: StorageU64,
    reveal_window: StorageU64,
    validator_reward_bps: StorageU64,
    slash_bps: StorageU64,
    case_count: StorageU256,
    cases: StorageMap<U256, Case>,
    /// The governance timelock: the only account that sets parameters.
    governor: StorageAddress,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Mediation {}

#[public]
impl Mediation {
    /// The governance timelock, the only account that sets parameters.
    pub fn governor(&self) -> Address {
        self.governor.get()
    }

    /// Wires mediation to the vault, registry, deal book and randomness
    /// beacon, sets the mediation fee and the governor (the timelock). Runs once.
    ///
    /// # Errors
    /// Second call, a zero address, or a fee out of bounds.
    pub fn initialize(
        &mut self,
        vault: Address,
        registry: Address,
        deals: Address,
        beacon: Address,
        mediation_fee: U256,
        governor: Address,
    ) -> MediationResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if [vault, registry, deals, beacon, governor]
            .iter()
            .any(|a| a.is_zero())
        {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.vault.set(vault);
        self.registry.set(registry);
        self.deals.set(deals);
        self.beacon.set(beacon);
        self.governor.set(governor);
        log(
            self.vm(),
            MediationInitialized {
                vault,
                registry,
                deals,
                beacon,
            },
        );
        self.store_parameters(
            mediation_fee,
            DEFAULT_VALIDATORS_PER_CASE,
            DEFAULT_WINDOW,
            DEFAULT_WINDOW,
            DEFAULT_VALIDATOR_REWARD_BPS,
            DEFAULT_SLASH_BPS,
        )
    }

    /// Opens a case for a challenged deal, locks the mediation fee from the
    /// creator's vault balance and requests a beacon round. Deal book only.
    ///
    /// # Errors
    /// Unauthorized caller, the vault's error when the creator cannot pay
    /// the fee, or the beacon's error.
    pub fn open_case(
        &mut self,
        deal_id: U256,
        provider: Address,
        creator: Address,
        provider_result: B256,
        results_collateral: U256,
    ) -> MediationResult<U256> {
        shared::only_caller(self.vm().msg_sender(), self.deals.get())
            .map_err(|e| Revert::Own(e.into()))?;
        let fee = self.mediation_fee.get();
        let needed = self.validators_per_case.get();
        let case_id = self
            .case_count
            .get()
            .checked_add(U256::from(1))
            .ok_or_else(overflow)?;
        self.case_count.set(case_id);
        let mut case = self.cases.setter(case_id);
        case.deal_id.set(deal_id);
        case.provider.set(provider);
        case.creator.set(creator);
        case.provider_result.set(provider_result);
        case.results_collateral.set(results_collateral);
        case.fee.set(fee);
        case.state.set(U8::from(case_state::AWAITING_DRAW));
        case.committee_size.set(needed);
        case.commit_window.set(self.commit_window.get());
        case.reveal_window.set(self.reveal_window.get());
        case.validator_reward_bps
            .set(self.validator_reward_bps.get());
        case.slash_bps.set(self.slash_bps.get());
        IVault::new(self.vault.get())
            .lock(&mut *self, creator, fee)
            .map_err(bubble)?;
        log(
            self.vm(),
            CaseOpened {
                caseId: case_id,
                dealId: deal_id,
                creator,
                provider,
                providerResult: provider_result,
                fee,
            },
        );
        self.request_committee(case_id, 0)?;
        Ok(case_id)
    }

    /// Draws the case's validators from the beacon round's randomness and
    /// the stake frozen since the round was requested. Anyone may call it
    /// once the round is ready; a late draw is the same draw for as long as
    /// the beacon can read the round (about a day on Arbitrum, see
    /// `docs/protocol.md`). Only once the round's randomness is gone is a
    /// new round requested instead (stake stays frozen);
    /// if too few validators are eligible the case ends with no decision.
    ///
    /// # Errors
    /// Unknown case, wrong state, or the beacon's error while the round is
    /// not ready yet.
    pub fn draw_validators(&mut self, case_id: U256) -> MediationResult<()> {
        self.expect_state(case_id, case_state::AWAITING_DRAW)?;
        let case = self.cases.get(case_id);
        let beacon_round = case.beacon_round.get();
        let round: u8 = case.round.get().to();
        let provider = case.provider.get();
        let creator = case.creator.get();
        let randomness = IRandomnessBeacon::new(self.beacon.get())
            .randomness(&*self, beacon_round)
            .map_err(bubble)?;
        if randomness.is_zero() {
            // The same committee draw, still pending: stake stays frozen.
            return self.request_randomness(case_id, round);
        }
        let seed = keccak256((randomness, case_id, U256::from(round)).abi_encode());
        let count = case.committee_size.get().to::<u8>();
        let (commit_window, reveal_window): (u64, u64) =
            (case.commit_window.get().to(), case.reveal_window.get().to());
        // Marks the drawn validators serving and ends the stake freeze.
        let drawn = IRegistry::new(self.registry.get())
            .draw_validators(&mut *self, seed, U256::from(count), provider, creator)
            .map_err(bubble)?;
        if drawn.len() < usize::from(count) {
            // Too few eligible validators for any majority: a redraw cannot help.
            return self.finish_without_decision(case_id, round, 0, 0);
        }
        let now = clock::now(self.vm());
        let commit_deadline = now.checked_add(commit_window).ok_or_else(overflow)?;
        let reveal_deadline = commit_deadline
            .checked_add(reveal_window)
            .ok_or_else(overflow)?;
        let mut case = self.cases.setter(case_id);
        case.state.set(U8::from(case_state::VOTING));
        case.validator_count.set(U8::from(count));
        case.commits.set(U8::ZERO);
        case.reveals.set(U8::ZERO);
        case.commit_deadline.set(U64::from(commit_deadline));
        case.reveal_deadline.set(U64::from(reveal_deadline));
        for (index, validator) in (0u8..).zip(drawn.iter()) {
            let mut vote = case.votes.setter(index);
            vote.validator.set(*validator);
            vote.committed.set(false);
            vote.revealed.set(false);
            vote.commitment.set(B256::ZERO);
            vote.result.set(B256::ZERO);
            vote.output_digest.set(B256::ZERO);
        }
        log(
            self.vm(),
            ValidatorsDrawn {
                caseId: case_id,
                round,
                validators: drawn,
                commitDeadline: commit_deadline,
                revealDeadline: reveal_deadline,
            },
        );
        Ok(())
    }

    /// A drawn validator commits to its vote: `keccak256(abi.encode(caseId,
    /// validator, resultHash, outputDigest, salt))`.
    ///
    /// # Errors
    /// Unknown case, not voting, not drawn, commit window closed, a zero
    /// commitment or a second commitment.
    pub fn commit_vote(&mut self, case_id: U256, commitment: B256) -> MediationResult<()> {
        let (validator, index) = self.caller_vote(case_id)?;
        let case = self.cases.get(case_id);
        let commit_deadline: u64 = case.commit_deadline.get().to();
        if clock::now(self.vm()) > commit_deadline {
            return own(CommitWindowClosed {
                commitDeadline: commit_deadline,
            });
        }
        if commitment.is_zero() {
            return own(ZeroCommitment {});
        }
        if case.votes.get(index).committed.get() {
            return own(AlreadyCommitted {});
        }
        let commits = case.commits.get() + U8::from(1);
        let mut case = self.cases.setter(case_id);
        case.commits.set(commits);
        let mut vote = case.votes.setter(index);
        vote.committed.set(true);
        vote.commitment.set(commitment);
        log(
            self.vm(),
            VoteCommitted {
                caseId: case_id,
                validator,
                commitment,
            },
        );
        Ok(())
    }

    /// A drawn validator reveals its vote — the result hash it stands for,
    /// the digest of those outputs bound to the round (see
    /// `docs/protocol.md`) and the salt — after the commit window (or once
    /// every validator has committed) and before the reveal deadline.
    ///
    /// # Errors
    /// Unknown case, not voting, not drawn, not committed, already
    /// revealed, outside the reveal window, or a mismatching commitment.
    pub fn reveal_vote(
        &mut self,
        case_id: U256,
        result_hash: B256,
        output_digest: B256,
        salt: B256,
    ) -> MediationResult<()> {
        let (validator, index) = self.caller_vote(case_id)?;
        let now = clock::now(self.vm());
        let case = self.cases.get(case_id);
        let commit_deadline: u64 = case.commit_deadline.get().to();
        let reveal_deadline: u64 = case.reveal_deadline.get().to();
        let everyone_committed = case.commits.get() == case.validator_count.get();
        if now <= commit_deadline && !everyone_committed {
            return own(RevealNotOpen {
                commitDeadline: commit_deadline,
            });
        }
        if now > reveal_deadline {
            return own(RevealWindowClosed {
                revealDeadline: reveal_deadline,
            });
        }
        let vote = case.votes.get(index);
        if !vote.committed.get() {
            return own(NotCommitted {});
        }
        if vote.revealed.get() {
            return own(AlreadyRevealed {});
        }
        if vote_commitment(case_id, validator, result_hash, output_digest, salt)
            != vote.commitment.get()
        {
            return own(CommitmentMismatch {});
        }
        let agrees = result_hash == case.provider_result.get();
        let reveals = case.reveals.get() + U8::from(1);
        let mut case = self.cases.setter(case_id);
        case.reveals.set(reveals);
        let mut vote = case.votes.setter(index);
        vote.revealed.set(true);
        vote.result.set(result_hash);
        vote.output_digest.set(output_digest);
        log(
            self.vm(),
            VoteRevealed {
                caseId: case_id,
                validator,
                resultHash: result_hash,
                outputDigest: output_digest,
                agreesWithProvider: agrees,
            },
        );
        Ok(())
    }

    /// Decides the case after the reveal window, or as soon as every drawn
    /// validator has revealed, and settles everything it decides. Anyone
    /// may call it.
    ///
    /// # Errors
    /// Unknown case, not voting, voting not over, or another contract's error.
    pub fn resolve_case(&mut self, case_id: U256) -> MediationResult<()> {
        self.expect_state(case_id, case_state::VOTING)?;
        let case = self.cases.get(case_id);
        let reveal_deadline: u64 = case.reveal_deadline.get().to();
        let count: u8 = case.validator_count.get().to();
        let everyone_revealed = case.reveals.get().to::<u8>() == count;
        if clock::now(self.vm()) <= reveal_deadline && !everyone_revealed {
            return own(VotingNotOver {
                revealDeadline: reveal_deadline,
            });
        }
        let deal_id = case.deal_id.get();
        let round: u8 = case.round.get().to();
        let provider_result = case.provider_result.get();
        // Each revealed vote is a (result, output digest) pair; a verdict
        // needs a strict majority of the drawn validators on one pair.
        let mut votes: Vec<(Address, Option<(B256, B256)>)> =
            Vec::with_capacity(usize::from(count));
        for index in 0..count {
            let vote = case.votes.get(index);
            let pair = vote
                .revealed
                .get()
                .then(|| (vote.result.get(), vote.output_digest.get()));
            votes.push((vote.validator.get(), pair));
        }
        let (mut agree, mut disagree, mut majority) = (0u8, 0u8, 0u8);
        let mut leader = None;
        for (_, pair) in &votes {
            let Some((result, _)) = pair else { continue };
            if *result == provider_result {
                agree += 1;
            } else {
                disagree += 1;
            }
            let same = votes.iter().filter(|(_, other)| other == pair).count() as u8;
            if same > majority {
                (majority, leader) = (same, *pair);
            }
        }
        let ballots: Vec<(Address, Option<bool>)> = votes
            .iter()
            .map(|(validator, pair)| (*validator, pair.map(|_| *pair == leader)))
            .collect();
        let decision = match leader {
            Some((result, _)) if majority > count / 2 => {
                let right = result == provider_result;
                let verdict = if right {
                    outcome::MEDIATION_PROVIDER_RIGHT
                } else {
                    outcome::MEDIATION_PROVIDER_WRONG
                };
                Some((verdict, right, majority))
            }
            _ => None,
        };
        let Some((verdict, majority_agrees, majority)) = decision else {
            self.settle_votes(case_id, &ballots, false, None, U256::ZERO)?;
            if round + 1 < MAX_ROUNDS {
                log(
                    self.vm(),
                    RoundFailed {
                        caseId: case_id,
                        round,
                        agree,
                        disagree,
                    },
                );
                return self.request_committee(case_id, round + 1);
            }
            return self.finish_without_decision(case_id, round, agree, disagree);
        };
        let case = self.cases.get(case_id);
        let creator = case.creator.get();
        let provider = case.provider.get();
        let fee = case.fee.get();
        let (pool, payer) = if majority_agrees {
            (fee, creator)
        } else {
            let pool = bps_of(
                case.results_collateral.get(),
                case.validator_reward_bps.get().to(),
            )
            .ok_or_else(overflow)?;
            (pool, provider)
        };
        let share = div_small(pool, u64::from(majority));
        self.cases
            .setter(case_id)
            .state
            .set(U8::from(case_state::RESOLVED));
        self.settle_votes(case_id, &ballots, true, Some(payer), share)?;
        // share · majority ≤ pool.
        let paid = share * U256::from(majority);
        let vault = IVault::new(self.vault.get());
        if majority_agrees {
            let dust = fee - paid;
            if !dust.is_zero() {
                let treasury = vault.treasury(&*self).map_err(bubble)?;
                vault
                    .transfer_locked(&mut *self, creator, treasury, dust)
                    .map_err(bubble)?;
            }
        } else if !fee.is_zero() {
            vault.unlock(&mut *self, creator, fee).map_err(bubble)?;
        }
        let collateral_to_validators = if majority_agrees { U256::ZERO } else { paid };
        IDeals::new(self.deals.get())
            .settle_mediation(&mut *self, deal_id, verdict, collateral_to_validators)
            .map_err(bubble)?;
        log(
            self.vm(),
            CaseResolved {
                caseId: case_id,
                dealId: deal_id,
                outcome: verdict,
                round,
                agree,
                disagree,
            },
        );
        Ok(())
    }

    /// A case: deal id, creator, provider, state, round, fee, beacon round,
    /// commit deadline, reveal deadline, provider's result.
    #[allow(clippy::type_complexity)]
    pub fn case_info(
        &self,
        case_id: U256,
    ) -> (U256, Address, Address, u8, u8, U256, U256, u64, u64, B256) {
        let c = self.cases.get(case_id);
        (
            c.deal_id.get(),
            c.creator.get(),
            c.provider.get(),
            c.state.get().to(),
            c.round.get().to(),
            c.fee.get(),
            c.beacon_round.get(),
            c.commit_deadline.get().to(),
            c.reveal_deadline.get().to(),
            c.provider_result.get(),
        )
    }

    /// The current round's validators, in draw order.
    pub fn case_validators(&self, case_id: U256) -> Vec<Address> {
        let c = self.cases.get(case_id);
        let count: u8 = c.validator_count.get().to();
        (0..count)
            .map(|index| c.votes.get(index).validator.get())
            .collect()
    }

    /// Number of cases opened so far (ids run from 1).
    pub fn case_count(&self) -> U256 {
        self.case_count.get()
    }

    /// Mediation fee, validators per case, commit window, reveal window,
    /// validator reward (bps of results collateral), slash (bps of stake).
    pub fn parameters(&self) -> (U256, u8, u64, u64, u64, u64) {
        (
            self.mediation_fee.get(),
            self.validators_per_case.get().to(),
            self.commit_window.get().to(),
            self.reveal_window.get().to(),
            self.validator_reward_bps.get().to(),
            self.slash_bps.get().to(),
        )
    }

    /// Sets the parameters within their bounds; open cases keep their fee,
    /// validators and deadlines. Governor only.
    ///
    /// # Errors
    /// Not the governor, or a value out of bounds (fee zero or above 2^128,
    /// an even or out-of-range validator count, windows, shares).
    pub fn set_parameters(
        &mut self,
        mediation_fee: U256,
        validators_per_case: u8,
        commit_window: u64,
        reveal_window: u64,
        validator_reward_bps: u64,
        slash_bps: u64,
    ) -> MediationResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.governor.get())
            .map_err(|e| Revert::Own(e.into()))?;
        self.store_parameters(
            mediation_fee,
            validators_per_case,
            commit_window,
            reveal_window,
            validator_reward_bps,
            slash_bps,
        )
    }
}

impl Mediation {
    fn expect_state(&self, case_id: U256, expected: u8) -> MediationResult<()> {
        let state: u8 = self.cases.get(case_id).state.get().to();
        if state == case_state::NONE {
            return own(CaseNotFound {});
        }
        if state != expected {
            return own(WrongCaseState { state });
        }
        Ok(())
    }

    /// The caller and its vote index in a voting case.
    fn caller_vote(&self, case_id: U256) -> MediationResult<(Address, u8)> {
        self.expect_state(case_id, case_state::VOTING)?;
        let caller = self.vm().msg_sender();
        let case = self.cases.get(case_id);
        let count: u8 = case.validator_count.get().to();
        (0..count)
            .find(|index| case.votes.get(*index).validator.get() == caller)
            .map(|index| (caller, index))
            .ok_or(Revert::Own(NotCaseValidator {}.into()))
    }

    /// Requests randomness for a new committee and freezes stake until it
    /// is drawn.
    fn request_committee(&mut self, case_id: U256, round: u8) -> MediationResult<()> {
        IRegistry::new(self.registry.get())
            .request_draw(&mut *self)
            .map_err(bubble)?;
        self.request_randomness(case_id, round)
    }

    fn request_randomness(&mut self, case_id: U256, round: u8) -> MediationResult<()> {
        let beacon_round = IRandomnessBeacon::new(self.beacon.get())
            .request_randomness(&mut *self)
            .map_err(bubble)?;
        let mut case = self.cases.setter(case_id);
        case.state.set(U8::from(case_state::AWAITING_DRAW));
        case.round.set(U8::from(round));
        case.beacon_round.set(beacon_round);
        log(
            self.vm(),
            RandomnessRequested {
                caseId: case_id,
                round,
                beaconRound: beacon_round,
            },
        );
        Ok(())
    }

    /// Pays, slashes and releases each validator of the round. A ballot is
    /// `None` for a validator that did not reveal, otherwise whether it
    /// voted the leading pair; `decided` says whether that pair won a
    /// majority, and `payer` pays each majority validator `share`.
    fn settle_votes(
        &mut self,
        case_id: U256,
        ballots: &[(Address, Option<bool>)],
        decided: bool,
        payer: Option<Address>,
        share: U256,
    ) -> MediationResult<()> {
        let slash_bps = U256::from(self.cases.get(case_id).slash_bps.get().to::<u64>());
        let registry = IRegistry::new(self.registry.get());
        let vault = IVault::new(self.vault.get());
        for (validator, ballot) in ballots {
            let validator = *validator;
            let (result, earned, faulty) = match (ballot, decided) {
                (None, _) => (outcome::VALIDATOR_NO_SHOW, U256::ZERO, true),
                (Some(_), false) => (outcome::VALIDATOR_UNDECIDED, U256::ZERO, false),
                (Some(true), true) => (outcome::VALIDATOR_WITH_MAJORITY, share, false),
                (Some(false), true) => (outcome::VALIDATOR_AGAINST_MAJORITY, U256::ZERO, true),
            };
            if let (false, Some(payer)) = (earned.is_zero(), payer) {
                vault
                    .transfer_locked(&mut *self, payer, validator, earned)
                    .map_err(bubble)?;
            }
            let slashed = if faulty && !slash_bps.is_zero() {
                registry
                    .slash_validator(&mut *self, validator, slash_bps)
                    .map_err(bubble)?
            } else {
                U256::ZERO
            };
            registry
                .release_validator(&mut *self, validator, result, earned)
                .map_err(bubble)?;
            log(
                self.vm(),
                VoteSettled {
                    caseId: case_id,
                    validator,
                    outcome: result,
                    earned,
                    slashed,
                },
            );
        }
        Ok(())
    }

    /// Ends a case with no decision: the fee returns to the creator and the
    /// deal pays the provider, whose result was not shown wrong.
    fn finish_without_decision(
        &mut self,
        case_id: U256,
        round: u8,
        agree: u8,
        disagree: u8,
    ) -> MediationResult<()> {
        let case = self.cases.get(case_id);
        let creator = case.creator.get();
        let fee = case.fee.get();
        let deal_id = case.deal_id.get();
        self.cases
            .setter(case_id)
            .state
            .set(U8::from(case_state::RESOLVED));
        if !fee.is_zero() {
            IVault::new(self.vault.get())
                .unlock(&mut *self, creator, fee)
                .map_err(bubble)?;
        }
        IDeals::new(self.deals.get())
            .settle_mediation(
                &mut *self,
                deal_id,
                outcome::MEDIATION_NO_DECISION,
                U256::ZERO,
            )
            .map_err(bubble)?;
        log(
            self.vm(),
            CaseResolved {
                caseId: case_id,
                dealId: deal_id,
                outcome: outcome::MEDIATION_NO_DECISION,
                round,
                agree,
                disagree,
            },
        );
        Ok(())
    }

    fn store_parameters(
        &mut self,
        mediation_fee: U256,
        validators_per_case: u8,
        commit_window: u64,
        reveal_window: u64,
        validator_reward_bps: u64,
        slash_bps: u64,
    ) -> MediationResult<()> {
        if mediation_fee.is_zero() || mediation_fee > U256::from(u128::MAX) {
            return own(ParameterOutOfBounds {
                value: mediation_fee,
                minimum: U256::from(1),
                maximum: U256::from(u128::MAX),
            });
        }
        if validators_per_case.is_multiple_of(2) || validators_per_case > MAX_VALIDATORS_PER_CASE {
            return own(ParameterOutOfBounds {
                value: U256::from(validators_per_case),
                minimum: U256::from(1),
                maximum: U256::from(MAX_VALIDATORS_PER_CASE),
            });
        }
        check_bounds(commit_window, MIN_WINDOW, MAX_WINDOW)?;
        check_bounds(reveal_window, MIN_WINDOW, MAX_WINDOW)?;
        check_bounds(validator_reward_bps, 0, MAX_VALIDATOR_REWARD_BPS)?;
        check_bounds(slash_bps, 0, MAX_SLASH_BPS)?;
        self.mediation_fee.set(mediation_fee);
        self.validators_per_case.set(U8::from(validators_per_case));
        self.commit_window.set(U64::from(commit_window));
        self.reveal_window.set(U64::from(reveal_window));
        self.validator_reward_bps
            .set(U64::from(validator_reward_bps));
        self.slash_bps.set(U64::from(slash_bps));
        log(
            self.vm(),
            MediationParametersUpdated {
                mediationFee: mediation_fee,
                validatorsPerCase: validators_per_case,
                commitWindow: commit_window,
                revealWindow: reveal_window,
                validatorRewardBps: validator_reward_bps,
                slashBps: slash_bps,
            },
        );
        Ok(())
    }
}

fn check_bounds(value: u64, minimum: u64, maximum: u64) -> MediationResult<()> {
    shared::check_bounds(value, minimum, maximum).map_err(|e| Revert::Own(e.into()))
}
