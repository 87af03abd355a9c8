//! `Market`: jobs and matching.
//!
//! Job creators post **jobs**, with the job's maximum price locked in the
//! vault; providers' standing offers live in the `OfferBook`. A job becomes a deal in one of
//! three ways, every one checked here: **direct** (the creator names an
//! offer when posting), **take** (anyone pairs an open job with a
//! compatible standing offer) or a **reverse auction** (providers bid lower
//! and lower during a bidding window; anyone closes it afterwards). The deal
//! itself lives in the `Deals` contract.
//!
//! Jobs posted gaslessly arrive through the `JobRelay` contract, which checks
//! the creator's EIP-712 signature first.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{Address, U256, U64, U8};
use openzeppelin_stylus::utils::pausable::{self, IPausable, Pausable};
use pond_common::{
    clock, errors as shared,
    interfaces::{bubble, IDeals, IOfferBook, IRegistry, IVault, Revert},
    math::bps_of,
    types::{Hardware, JobSpec, StoredHardware},
    MIN_JOB_DURATION,
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU256, StorageU64, StorageU8},
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IMarketEvents::*;

/// Job states.
pub mod job_state {
    /// No job with this id.
    pub const NONE: u8 = 0;
    /// Waiting for a direct match or a take.
    pub const OPEN: u8 = 1;
    /// Taking bids until the bidding window ends.
    pub const BIDDING: u8 = 2;
    /// Became a deal.
    pub const MATCHED: u8 = 3;
    /// Cancelled by its creator; funds returned.
    pub const CANCELLED: u8 = 4;
    /// Unmatched past its match deadline; funds returned.
    pub const EXPIRED: u8 = 5;
}

/// How a job was matched (the `mode` of [`JobMatched`]).
pub mod match_mode {
    /// The creator named the offer when posting.
    pub const DIRECT: u8 = 0;
    /// Someone paired the open job with a standing offer.
    pub const TAKE: u8 = 1;
    /// The best bid of a reverse auction.
    pub const AUCTION: u8 = 2;
}

/// Longest job duration, offer duration or match horizon: 30 days.
pub const MAX_PERIOD: u64 = 30 * 24 * 60 * 60;
/// Longest bidding window: 7 days.
pub const MAX_BIDDING_WINDOW: u64 = 7 * 24 * 60 * 60;
/// Results collateral bounds, in basis points of the price (1× to 10×).
pub const RESULTS_COLLATERAL_BPS_BOUNDS: (u64, u64) = (10_000, 100_000);
/// Timeout collateral bounds, in basis points of the job's maximum price
/// (0.1× to 5×): never zero, so abandoning a job always compensates its creator.
pub const TIMEOUT_COLLATERAL_BPS_BOUNDS: (u64, u64) = (1_000, 50_000);
/// Results collateral at initialization: 2× the price.
pub const DEFAULT_RESULTS_COLLATERAL_BPS: u64 = 20_000;
/// Timeout collateral at initialization: half the price.
pub const DEFAULT_TIMEOUT_COLLATERAL_BPS: u64 = 5_000;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error ProviderNotRegistered();
        #[derive(Debug)]
        error ZeroPrice();
        /// Durations, windows and deadlines must be within the bounds in the protocol document.
        #[derive(Debug)]
        error InvalidDuration(uint64 value);
        #[derive(Debug)]
        error InvalidDeadline(uint64 deadline, uint64 now);
        /// The offer or bidder does not satisfy the job (price, hardware or duration).
        #[derive(Debug)]
        error IncompatibleOffer();
        /// A job cannot both name an offer and open an auction.
        #[derive(Debug)]
        error ConflictingMatchMode();
        #[derive(Debug)]
        error JobNotFound();
        #[derive(Debug)]
        error WrongJobState(uint8 state);
        #[derive(Debug)]
        error NotJobCreator();
        #[derive(Debug)]
        error MatchDeadlinePassed(uint64 matchDeadline);
        #[derive(Debug)]
        error MatchDeadlineNotPassed(uint64 matchDeadline);
        #[derive(Debug)]
        error BiddingClosed(uint64 biddingEnd);
        #[derive(Debug)]
        error BiddingNotClosed(uint64 biddingEnd);
        /// A bid must be at most the job's maximum price and strictly below the best bid.
        #[derive(Debug)]
        error BidTooHigh(uint256 price, uint256 ceiling);
        #[derive(Debug)]
        error AuctionHasBids();
    }
}
pub use errors::*;
pub use pond_common::errors::{
    check_uri, AlreadyInitialized, ArithmeticOverflow, ParameterOutOfBounds, UnauthorizedCaller,
    UriTooLong, ZeroAddress,
};

/// Everything the market can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum MarketError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    ProviderNotRegistered(ProviderNotRegistered),
    ZeroPrice(ZeroPrice),
    InvalidDuration(InvalidDuration),
    InvalidDeadline(InvalidDeadline),
    IncompatibleOffer(IncompatibleOffer),
    ConflictingMatchMode(ConflictingMatchMode),
    JobNotFound(JobNotFound),
    WrongJobState(WrongJobState),
    NotJobCreator(NotJobCreator),
    MatchDeadlinePassed(MatchDeadlinePassed),
    MatchDeadlineNotPassed(MatchDeadlineNotPassed),
    BiddingClosed(BiddingClosed),
    BiddingNotClosed(BiddingNotClosed),
    BidTooHigh(BidTooHigh),
    AuctionHasBids(AuctionHasBids),
    UnauthorizedCaller(UnauthorizedCaller),
    ParameterOutOfBounds(ParameterOutOfBounds),
    ArithmeticOverflow(ArithmeticOverflow),
    UriTooLong(UriTooLong),
    EnforcedPause(pausable::EnforcedPause),
    ExpectedPause(pausable::ExpectedPause),
}

/// The market's result type: its own errors or another Pond contract's revert data.
pub type MarketResult<T> = Result<T, Revert<MarketError>>;

fn own<T>(error: impl Into<MarketError>) -> MarketResult<T> {
    Err(Revert::Own(error.into()))
}

fn overflow() -> Revert<MarketError> {
    Revert::Own(ArithmeticOverflow {}.into())
}

/// A job and, while it is in auction, its best bid.
#[storage]
pub struct Job {
    creator: StorageAddress,
    state: StorageU8,
    max_duration: StorageU64,
    match_deadline: StorageU64,
    bidding_end: StorageU64,
    min_hardware: StoredHardware,
    max_price: StorageU256,
    deal_id: StorageU256,
    best_bidder: StorageAddress,
    best_price: StorageU256,
    best_results_collateral: StorageU256,
    best_timeout_collateral: StorageU256,
}

/// The market's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Market {
    initialized: StorageBool,
    vault: StorageAddress,
    registry: StorageAddress,
    offers: StorageAddress,
    deals: StorageAddress,
    relay: StorageAddress,
    results_collateral_bps: StorageU64,
    timeout_collateral_bps: StorageU64,
    job_count: StorageU256,
    jobs: StorageMap<U256, Job>,
    pausable: Pausable,
    /// The governance timelock: the only account that sets parameters.
    governor: StorageAddress,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Market {}

#[public]
#[implements(IPausable)]
impl Market {
    /// The governance timelock, the only account that sets parameters.
    pub fn governor(&self) -> Address {
        self.governor.get()
    }

    /// Wires the market to the vault, registry, offer book, deal book and
    /// job relay and sets the governor (the timelock). Runs once.
    ///
    /// # Errors
    /// Second call, or a zero address.
    pub fn initialize(
        &mut self,
        vault: Address,
        registry: Address,
        offers: Address,
        deals: Address,
        relay: Address,
        governor: Address,
    ) -> MarketResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if [vault, registry, offers, deals, relay, governor]
            .iter()
            .any(|a| a.is_zero())
        {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.vault.set(vault);
        self.registry.set(registry);
        self.offers.set(offers);
        self.deals.set(deals);
        self.relay.set(relay);
        self.results_collateral_bps
            .set(U64::from(DEFAULT_RESULTS_COLLATERAL_BPS));
        self.timeout_collateral_bps
            .set(U64::from(DEFAULT_TIMEOUT_COLLATERAL_BPS));
        self.governor.set(governor);
        log(
            self.vm(),
            MarketInitialized {
                vault,
                registry,
                offers,
                deals,
                relay,
                resultsCollateralBps: DEFAULT_RESULTS_COLLATERAL_BPS,
                timeoutCollateralBps: DEFAULT_TIMEOUT_COLLATERAL_BPS,
            },
        );
        Ok(())
    }

    /// Posts a job for the caller, locking `spec.maxPrice` from its vault
    /// balance. With `spec.offerId` set it is matched with that offer at
    /// once; with `spec.biddingWindow` set it opens a reverse auction.
    ///
    /// # Errors
    /// Paused, invalid spec (a URI longer than `MAX_URI_BYTES` included),
    /// insufficient vault balance (the vault's error), or for a direct
    /// match any reason the offer does not fit.
    pub fn post_job(&mut self, spec: JobSpec) -> MarketResult<U256> {
        let creator = self.vm().msg_sender();
        self.post_job_internal(creator, Address::ZERO, spec)
    }

    /// Posts a job for `creator` as relayed by `relayer`. Only the job
    /// relay contract, which has checked the creator's signature, may call it.
    ///
    /// # Errors
    /// Not the relay, or everything [`Market::post_job`] refuses.
    pub fn post_relayed_job(
        &mut self,
        creator: Address,
        relayer: Address,
        spec: JobSpec,
    ) -> MarketResult<U256> {
        shared::only_caller(self.vm().msg_sender(), self.relay.get())
            .map_err(|e| Revert::Own(e.into()))?;
        self.post_job_internal(creator, relayer, spec)
    }

    /// Cancels the caller's unmatched job and returns its locked funds. A
    /// job in auction can be cancelled only while it has no bid.
    ///
    /// # Errors
    /// Unknown job, not the creator's, matched or ended, or an auction with bids.
    pub fn cancel_job(&mut self, job_id: U256) -> MarketResult<()> {
        let caller = self.vm().msg_sender();
        let creator = self.job_creator(job_id)?;
        if creator != caller {
            return own(NotJobCreator {});
        }
        let refunded = self.close_unmatched(job_id, job_state::CANCELLED)?;
        log(
            self.vm(),
            JobCancelled {
                jobId: job_id,
                creator,
                refunded,
            },
        );
        Ok(())
    }

    /// Ends an unmatched job whose match deadline has passed and returns
    /// the creator's funds. Anyone may call it.
    ///
    /// # Errors
    /// Unknown job, matched or ended, deadline not passed, or an auction with bids.
    pub fn expire_job(&mut self, job_id: U256) -> MarketResult<()> {
        let creator = self.job_creator(job_id)?;
        let match_deadline: u64 = self.jobs.get(job_id).match_deadline.get().to();
        if clock::now(self.vm()) <= match_deadline {
            return own(MatchDeadlineNotPassed {
                matchDeadline: match_deadline,
            });
        }
        let refunded = self.close_unmatched(job_id, job_state::EXPIRED)?;
        log(
            self.vm(),
            JobExpired {
                jobId: job_id,
                creator,
                refunded,
            },
        );
        Ok(())
    }

    /// Matches an open job with a compatible standing offer. Anyone may
    /// call it: the provider consented by posting the offer, the creator
    /// by posting the job. Returns the deal id.
    ///
    /// # Errors
    /// Wrong job state, match deadline passed, or the offer does not fit.
    pub fn take_offer(&mut self, job_id: U256, offer_id: U256) -> MarketResult<U256> {
        self.match_with_offer(job_id, offer_id, match_mode::TAKE)
    }

    /// Bids `price` for a job in auction. The bid must be at most the
    /// job's maximum price and strictly below the best bid; the bidder's
    /// collateral is locked and the outbid provider's released.
    ///
    /// # Errors
    /// Paused, not registered or hardware too small, bidding closed, price
    /// too high or zero, or insufficient vault balance for the collateral.
    pub fn bid(&mut self, job_id: U256, price: U256) -> MarketResult<()> {
        self.when_not_paused()?;
        let provider = self.vm().msg_sender();
        let now = clock::now(self.vm());
        self.job_creator(job_id)?;
        let job = self.jobs.get(job_id);
        let state: u8 = job.state.get().to();
        if state != job_state::BIDDING {
            return own(WrongJobState { state });
        }
        let bidding_end: u64 = job.bidding_end.get().to();
        if now >= bidding_end {
            return own(BiddingClosed {
                biddingEnd: bidding_end,
            });
        }
        let min_hardware = job.min_hardware.read();
        let max_price = job.max_price.get();
        let previous = job.best_bidder.get();
        let ceiling = if previous.is_zero() {
            max_price
        } else {
            // Strictly lower than the best bid.
            job.best_price.get().saturating_sub(U256::from(1))
        };
        // Both parts were locked together, so their sum fits.
        let previous_collateral = job
            .best_results_collateral
            .get()
            .saturating_add(job.best_timeout_collateral.get());
        if price.is_zero() {
            return own(ZeroPrice {});
        }
        if price > ceiling {
            return own(BidTooHigh { price, ceiling });
        }
        if !self.registered_hardware(provider)?.covers(&min_hardware) {
            return own(IncompatibleOffer {});
        }
        let (results_collateral, timeout_collateral) = self.collateral_for(price, max_price)?;
        let mut job = self.jobs.setter(job_id);
        job.best_bidder.set(provider);
        job.best_price.set(price);
        job.best_results_collateral.set(results_collateral);
        job.best_timeout_collateral.set(timeout_collateral);
        let vault = IVault::new(self.vault.get());
        if !previous.is_zero() && !previous_collateral.is_zero() {
            vault
                .unlock(&mut *self, previous, previous_collateral)
                .map_err(bubble)?;
        }
        let collateral = results_collateral
            .checked_add(timeout_collateral)
            .ok_or_else(overflow)?;
        vault
            .lock(&mut *self, provider, collateral)
            .map_err(bubble)?;
        log(
            self.vm(),
            BidPlaced {
                jobId: job_id,
                provider,
                previousBidder: previous,
                price,
                resultsCollateral: results_collateral,
                timeoutCollateral: timeout_collateral,
            },
        );
        Ok(())
    }

    /// Closes a job's auction once its bidding window has ended. The best
    /// bid becomes the deal (returned); without bids the job reopens for
    /// takes until its match deadline (returns 0). Anyone may call it.
    ///
    /// # Errors
    /// Not in auction, or the bidding window has not ended.
    pub fn close_auction(&mut self, job_id: U256) -> MarketResult<U256> {
        self.job_creator(job_id)?;
        let job = self.jobs.get(job_id);
        let state: u8 = job.state.get().to();
        if state != job_state::BIDDING {
            return own(WrongJobState { state });
        }
        let bidding_end: u64 = job.bidding_end.get().to();
        if clock::now(self.vm()) < bidding_end {
            return own(BiddingNotClosed {
                biddingEnd: bidding_end,
            });
        }
        let winner = job.best_bidder.get();
        let price = job.best_price.get();
        let results_collateral = job.best_results_collateral.get();
        let timeout_collateral = job.best_timeout_collateral.get();
        log(
            self.vm(),
            AuctionClosed {
                jobId: job_id,
                winner,
                price,
            },
        );
        if winner.is_zero() {
            self.jobs
                .setter(job_id)
                .state
                .set(U8::from(job_state::OPEN));
            return Ok(U256::ZERO);
        }
        // The winner's collateral was locked when it bid.
        self.make_deal(
            job_id,
            U256::ZERO,
            winner,
            price,
            results_collateral,
            timeout_collateral,
            match_mode::AUCTION,
        )
    }

    /// A job: creator, state, max price, max duration, match deadline,
    /// bidding end, deal id, best bidder, best price, minimum hardware.
    #[allow(clippy::type_complexity)]
    pub fn job(
        &self,
        job_id: U256,
    ) -> (
        Address,
        u8,
        U256,
        u64,
        u64,
        u64,
        U256,
        Address,
        U256,
        Hardware,
    ) {
        let j = self.jobs.get(job_id);
        (
            j.creator.get(),
            j.state.get().to(),
            j.max_price.get(),
            j.max_duration.get().to(),
            j.match_deadline.get().to(),
            j.bidding_end.get().to(),
            j.deal_id.get(),
            j.best_bidder.get(),
            j.best_price.get(),
            j.min_hardware.read(),
        )
    }

    /// Number of jobs posted so far (ids run from 1).
    pub fn job_count(&self) -> U256 {
        self.job_count.get()
    }

    /// Results and timeout collateral, in basis points of the price.
    pub fn parameters(&self) -> (u64, u64) {
        (
            self.results_collateral_bps.get().to(),
            self.timeout_collateral_bps.get().to(),
        )
    }

    /// Sets the collateral multiples within their bounds. Governor only.
    ///
    /// # Errors
    /// Not the governor, or a value out of bounds.
    pub fn set_parameters(
        &mut self,
        results_collateral_bps: u64,
        timeout_collateral_bps: u64,
    ) -> MarketResult<()> {
        self.only_governor()?;
        check_bounds(results_collateral_bps, RESULTS_COLLATERAL_BPS_BOUNDS)?;
        check_bounds(timeout_collateral_bps, TIMEOUT_COLLATERAL_BPS_BOUNDS)?;
        self.results_collateral_bps
            .set(U64::from(results_collateral_bps));
        self.timeout_collateral_bps
            .set(U64::from(timeout_collateral_bps));
        log(
            self.vm(),
            MarketParametersUpdated {
                resultsCollateralBps: results_collateral_bps,
                timeoutCollateralBps: timeout_collateral_bps,
            },
        );
        Ok(())
    }

    /// Stops new offers, jobs and bids. Everything else (cancelling,
    /// expiring, taking open jobs, closing auctions, deals) goes on. Governor only.
    ///
    /// # Errors
    /// Not the governor, or already paused.
    pub fn pause(&mut self) -> MarketResult<()> {
        self.only_governor()?;
        self.pausable.pause().map_err(pause_error)
    }

    /// Lifts a pause. Governor only.
    ///
    /// # Errors
    /// Not the governor, or not paused.
    pub fn unpause(&mut self) -> MarketResult<()> {
        self.only_governor()?;
        self.pausable.unpause().map_err(pause_error)
    }
}

impl Market {
    fn only_governor(&self) -> MarketResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.governor.get())
            .map_err(|e| Revert::Own(e.into()))
    }

    fn when_not_paused(&self) -> MarketResult<()> {
        self.pausable.when_not_paused().map_err(pause_error)
    }

    /// The provider's registered hardware, or an error if it is not registered.
    fn registered_hardware(&mut self, provider: Address) -> MarketResult<Hardware> {
        let (registered, gpu_count, gpu_memory_gb, cpu_cores, ram_gb, disk_gb) =
            IRegistry::new(self.registry.get())
                .provider_hardware(&*self, provider)
                .map_err(bubble)?;
        if !registered {
            return own(ProviderNotRegistered {});
        }
        Ok(Hardware {
            gpuCount: gpu_count,
            gpuMemoryGb: gpu_memory_gb,
            cpuCores: cpu_cores,
            ramGb: ram_gb,
            diskGb: disk_gb,
        })
    }

    /// The job's creator; errors for an unknown job.
    fn job_creator(&self, job_id: U256) -> MarketResult<Address> {
        let creator = self.jobs.get(job_id).creator.get();
        if creator.is_zero() {
            return own(JobNotFound {});
        }
        Ok(creator)
    }

    /// A provider's (results, timeout) collateral for a deal at `price` on
    /// a job whose maximum price is `max_price`. The timeout collateral
    /// follows the job's maximum price, which the creator chose, not the
    /// agreed price, which the provider chose: under-pricing cannot shrink
    /// it, so taking a job and abandoning it always pays its creator.
    fn collateral_for(&self, price: U256, max_price: U256) -> MarketResult<(U256, U256)> {
        let results = bps_of(price, self.results_collateral_bps.get().to()).ok_or_else(overflow)?;
        let timeout =
            bps_of(max_price, self.timeout_collateral_bps.get().to()).ok_or_else(overflow)?;
        Ok((results, timeout))
    }

    fn post_job_internal(
        &mut self,
        creator: Address,
        relayer: Address,
        spec: JobSpec,
    ) -> MarketResult<U256> {
        self.when_not_paused()?;
        let now = clock::now(self.vm());
        if spec.maxPrice.is_zero() {
            return own(ZeroPrice {});
        }
        check_uri(&spec.moduleUri).or_else(own)?;
        check_uri(&spec.inputUri).or_else(own)?;
        if spec.maxDuration < MIN_JOB_DURATION {
            return own(InvalidDuration {
                value: spec.maxDuration,
            });
        }
        check_period(spec.maxDuration, MAX_PERIOD)?;
        if spec.matchDeadline <= now || spec.matchDeadline - now > MAX_PERIOD {
            return own(InvalidDeadline {
                deadline: spec.matchDeadline,
                now,
            });
        }
        let bidding_end = if spec.biddingWindow == 0 {
            0
        } else {
            if !spec.offerId.is_zero() {
                return own(ConflictingMatchMode {});
            }
            check_period(spec.biddingWindow, MAX_BIDDING_WINDOW)?;
            let end = now + spec.biddingWindow;
            if end > spec.matchDeadline {
                return own(InvalidDeadline {
                    deadline: spec.matchDeadline,
                    now,
                });
            }
            end
        };
        let job_id = next_id(&mut self.job_count)?;
        let mut job = self.jobs.setter(job_id);
        job.creator.set(creator);
        job.state.set(U8::from(if bidding_end == 0 {
            job_state::OPEN
        } else {
            job_state::BIDDING
        }));
        job.max_duration.set(U64::from(spec.maxDuration));
        job.match_deadline.set(U64::from(spec.matchDeadline));
        job.bidding_end.set(U64::from(bidding_end));
        job.min_hardware.write(&spec.minHardware);
        job.max_price.set(spec.maxPrice);
        IVault::new(self.vault.get())
            .lock(&mut *self, creator, spec.maxPrice)
            .map_err(bubble)?;
        let hw = &spec.minHardware;
        log(
            self.vm(),
            JobPosted {
                jobId: job_id,
                creator,
                relayer,
                moduleHash: spec.moduleHash,
                moduleUri: spec.moduleUri.clone(),
                inputHash: spec.inputHash,
                inputUri: spec.inputUri.clone(),
                minGpuCount: hw.gpuCount,
                minGpuMemoryGb: hw.gpuMemoryGb,
                minCpuCores: hw.cpuCores,
                minRamGb: hw.ramGb,
                minDiskGb: hw.diskGb,
                maxDuration: spec.maxDuration,
                maxPrice: spec.maxPrice,
                matchDeadline: spec.matchDeadline,
                biddingEnd: bidding_end,
            },
        );
        if !spec.offerId.is_zero() {
            self.match_with_offer(job_id, spec.offerId, match_mode::DIRECT)?;
        }
        Ok(job_id)
    }

    /// Direct and take matching: checks the offer against the job and makes the deal.
    fn match_with_offer(&mut self, job_id: U256, offer_id: U256, mode: u8) -> MarketResult<U256> {
        let now = clock::now(self.vm());
        self.job_creator(job_id)?;
        let job = self.jobs.get(job_id);
        let state: u8 = job.state.get().to();
        if state != job_state::OPEN {
            return own(WrongJobState { state });
        }
        let match_deadline: u64 = job.match_deadline.get().to();
        if now > match_deadline {
            return own(MatchDeadlinePassed {
                matchDeadline: match_deadline,
            });
        }
        let min = job.min_hardware.read();
        let max_price = job.max_price.get();
        let max_duration: u64 = job.max_duration.get().to();
        let (provider, price) = IOfferBook::new(self.offers.get())
            .reserve(
                &mut *self,
                offer_id,
                min.gpuCount,
                min.gpuMemoryGb,
                min.cpuCores,
                min.ramGb,
                min.diskGb,
                max_price,
                max_duration,
            )
            .map_err(bubble)?;
        let (results_collateral, timeout_collateral) = self.collateral_for(price, max_price)?;
        let collateral = results_collateral
            .checked_add(timeout_collateral)
            .ok_or_else(overflow)?;
        if !collateral.is_zero() {
            IVault::new(self.vault.get())
                .lock(&mut *self, provider, collateral)
                .map_err(bubble)?;
        }
        self.make_deal(
            job_id,
            offer_id,
            provider,
            price,
            results_collateral,
            timeout_collateral,
            mode,
        )
    }

    /// Marks the job matched, returns the unused part of its maximum price
    /// to the creator and opens the deal. The provider's collateral is
    /// already locked.
    #[allow(clippy::too_many_arguments)]
    fn make_deal(
        &mut self,
        job_id: U256,
        offer_id: U256,
        provider: Address,
        price: U256,
        results_collateral: U256,
        timeout_collateral: U256,
        mode: u8,
    ) -> MarketResult<U256> {
        let job = self.jobs.get(job_id);
        let creator = job.creator.get();
        let max_duration: u64 = job.max_duration.get().to();
        // price ≤ max price was checked by every matching path.
        let refunded = job.max_price.get() - price;
        self.jobs
            .setter(job_id)
            .state
            .set(U8::from(job_state::MATCHED));
        if !refunded.is_zero() {
            IVault::new(self.vault.get())
                .unlock(&mut *self, creator, refunded)
                .map_err(bubble)?;
        }
        let deal_id = IDeals::new(self.deals.get())
            .open_deal(
                &mut *self,
                job_id,
                offer_id,
                creator,
                provider,
                price,
                results_collateral,
                timeout_collateral,
                max_duration,
            )
            .map_err(bubble)?;
        self.jobs.setter(job_id).deal_id.set(deal_id);
        log(
            self.vm(),
            JobMatched {
                jobId: job_id,
                dealId: deal_id,
                provider,
                offerId: offer_id,
                mode,
                price,
                refunded,
            },
        );
        Ok(deal_id)
    }

    /// Cancels or expires an unmatched job and returns its maximum price.
    fn close_unmatched(&mut self, job_id: U256, new_state: u8) -> MarketResult<U256> {
        let job = self.jobs.get(job_id);
        let state: u8 = job.state.get().to();
        if state != job_state::OPEN && state != job_state::BIDDING {
            return own(WrongJobState { state });
        }
        if !job.best_bidder.get().is_zero() {
            return own(AuctionHasBids {});
        }
        let creator = job.creator.get();
        let refunded = job.max_price.get();
        self.jobs.setter(job_id).state.set(U8::from(new_state));
        IVault::new(self.vault.get())
            .unlock(&mut *self, creator, refunded)
            .map_err(bubble)?;
        Ok(refunded)
    }
}

fn next_id(counter: &mut StorageU256) -> MarketResult<U256> {
    let id = counter
        .get()
        .checked_add(U256::from(1))
        .ok_or_else(overflow)?;
    counter.set(id);
    Ok(id)
}

fn check_period(value: u64, maximum: u64) -> MarketResult<()> {
    if value == 0 || value > maximum {
        return own(InvalidDuration { value });
    }
    Ok(())
}

fn check_bounds(value: u64, (minimum, maximum): (u64, u64)) -> MarketResult<()> {
    shared::check_bounds(value, minimum, maximum).map_err(|e| Revert::Own(e.into()))
}

fn pause_error(error: pausable::Error) -> Revert<MarketError> {
    Revert::Own(match error {
        pausable::Error::EnforcedPause(e) => MarketError::EnforcedPause(e),
        pausable::Error::ExpectedPause(e) => MarketError::ExpectedPause(e),
    })
}

#[public]
impl IPausable for Market {
    fn paused(&self) -> bool {
        self.pausable.paused()
    }
}
