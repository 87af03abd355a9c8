//! `OfferBook`: providers' standing offers.
//!
//! A registered provider posts an offer — the hardware it commits (at most
//! what it registered), a price per job, the longest job it accepts, how
//! many deals it runs at once and an expiry — and can cancel it. The market
//! reserves a slot of an offer when it matches a job with it, after checking
//! here that the offer fits the job; the deal book releases the slot when
//! the deal ends.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{Address, U256, U32, U64};
use pond_common::{
    clock, errors as shared,
    interfaces::{bubble, IMarket, IRegistry, Revert},
    types::{Hardware, StoredHardware},
    MIN_JOB_DURATION,
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU256, StorageU32, StorageU64},
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IOfferBookEvents::*;

/// Longest job duration an offer may accept, and longest offer lifetime: 30 days.
pub const MAX_PERIOD: u64 = 30 * 24 * 60 * 60;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// The market is paused: no new offers.
        #[derive(Debug)]
        error MarketPaused();
        #[derive(Debug)]
        error ProviderNotRegistered();
        /// The offer commits more hardware than the provider registered.
        #[derive(Debug)]
        error HardwareExceedsRegistration();
        #[derive(Debug)]
        error ZeroPrice();
        #[derive(Debug)]
        error ZeroCapacity();
        /// A duration of zero or beyond the protocol's bound.
        #[derive(Debug)]
        error InvalidDuration(uint64 value);
        #[derive(Debug)]
        error InvalidExpiry(uint64 expiry, uint64 now);
        #[derive(Debug)]
        error OfferNotFound();
        #[derive(Debug)]
        error NotOfferProvider();
        #[derive(Debug)]
        error OfferNotOpen();
        #[derive(Debug)]
        error OfferExpired(uint64 expiry);
        #[derive(Debug)]
        error OfferAtCapacity(uint32 maxConcurrent);
        /// The offer does not satisfy the job (price, hardware or duration).
        #[derive(Debug)]
        error IncompatibleOffer();
        #[derive(Debug)]
        error NoActiveDeal();
    }
}
pub use errors::*;
pub use pond_common::errors::{
    AlreadyInitialized, ArithmeticOverflow, UnauthorizedCaller, ZeroAddress,
};

/// Everything the offer book can revert with.
#[derive(SolidityError, Debug)]
#[allow(missing_docs)]
pub enum OfferBookError {
    AlreadyInitialized(AlreadyInitialized),
    ZeroAddress(ZeroAddress),
    UnauthorizedCaller(UnauthorizedCaller),
    MarketPaused(MarketPaused),
    ProviderNotRegistered(ProviderNotRegistered),
    HardwareExceedsRegistration(HardwareExceedsRegistration),
    ZeroPrice(ZeroPrice),
    ZeroCapacity(ZeroCapacity),
    InvalidDuration(InvalidDuration),
    InvalidExpiry(InvalidExpiry),
    OfferNotFound(OfferNotFound),
    NotOfferProvider(NotOfferProvider),
    OfferNotOpen(OfferNotOpen),
    OfferExpired(OfferExpired),
    OfferAtCapacity(OfferAtCapacity),
    IncompatibleOffer(IncompatibleOffer),
    NoActiveDeal(NoActiveDeal),
    ArithmeticOverflow(ArithmeticOverflow),
}

/// The offer book's result type: its own errors or the registry's revert data.
pub type OfferBookResult<T> = Result<T, Revert<OfferBookError>>;

fn own<T>(error: impl Into<OfferBookError>) -> OfferBookResult<T> {
    Err(Revert::Own(error.into()))
}

/// A provider's standing offer.
#[storage]
pub struct Offer {
    provider: StorageAddress,
    open: StorageBool,
    max_concurrent: StorageU32,
    active_deals: StorageU32,
    min_duration: StorageU64,
    max_duration: StorageU64,
    expiry: StorageU64,
    hardware: StoredHardware,
    price: StorageU256,
}

/// The offer book's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct OfferBook {
    initialized: StorageBool,
    registry: StorageAddress,
    market: StorageAddress,
    deals: StorageAddress,
    offer_count: StorageU256,
    offers: StorageMap<U256, Offer>,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for OfferBook {}

#[public]
impl OfferBook {
    /// Wires the offer book to the registry, market and deal book. Runs once.
    ///
    /// # Errors
    /// Second call, or a zero address.
    pub fn initialize(
        &mut self,
        registry: Address,
        market: Address,
        deals: Address,
    ) -> OfferBookResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if [registry, market, deals].iter().any(|a| a.is_zero()) {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.registry.set(registry);
        self.market.set(market);
        self.deals.set(deals);
        log(
            self.vm(),
            OfferBookInitialized {
                registry,
                market,
                deals,
            },
        );
        Ok(())
    }

    /// Posts a standing offer for the caller, a registered provider whose
    /// registered hardware covers what the offer commits. It takes jobs
    /// whose maximum duration lies between `min_duration` (at least
    /// [`MIN_JOB_DURATION`]) and `max_duration`. Returns its id. The
    /// market's pause switch also stops new offers.
    ///
    /// # Errors
    /// Market paused, not registered, hardware beyond the registration, zero price or
    /// capacity, durations out of bounds, or an expiry not in the next 30 days.
    #[allow(clippy::too_many_arguments)]
    pub fn post_offer(
        &mut self,
        hardware: Hardware,
        price: U256,
        min_duration: u64,
        max_duration: u64,
        max_concurrent: u32,
        expiry: u64,
    ) -> OfferBookResult<U256> {
        let provider = self.vm().msg_sender();
        let now = clock::now(self.vm());
        if IMarket::new(self.market.get())
            .paused(&*self)
            .map_err(bubble)?
        {
            return own(MarketPaused {});
        }
        let (registered, gpu_count, gpu_memory_gb, cpu_cores, ram_gb, disk_gb) =
            IRegistry::new(self.registry.get())
                .provider_hardware(&*self, provider)
                .map_err(bubble)?;
        if !registered {
            return own(ProviderNotRegistered {});
        }
        let registered_hardware = Hardware {
            gpuCount: gpu_count,
            gpuMemoryGb: gpu_memory_gb,
            cpuCores: cpu_cores,
            ramGb: ram_gb,
            diskGb: disk_gb,
        };
        if !registered_hardware.covers(&hardware) {
            return own(HardwareExceedsRegistration {});
        }
        if price.is_zero() {
            return own(ZeroPrice {});
        }
        if max_duration > MAX_PERIOD {
            return own(InvalidDuration {
                value: max_duration,
            });
        }
        if min_duration < MIN_JOB_DURATION || min_duration > max_duration {
            return own(InvalidDuration {
                value: min_duration,
            });
        }
        if max_concurrent == 0 {
            return own(ZeroCapacity {});
        }
        if expiry <= now || expiry - now > MAX_PERIOD {
            return own(InvalidExpiry { expiry, now });
        }
        let offer_id = self
            .offer_count
            .get()
            .checked_add(U256::from(1))
            .ok_or(Revert::Own(ArithmeticOverflow {}.into()))?;
        self.offer_count.set(offer_id);
        let mut offer = self.offers.setter(offer_id);
        offer.provider.set(provider);
        offer.open.set(true);
        offer.max_concurrent.set(U32::from(max_concurrent));
        offer.min_duration.set(U64::from(min_duration));
        offer.max_duration.set(U64::from(max_duration));
        offer.expiry.set(U64::from(expiry));
        offer.hardware.write(&hardware);
        offer.price.set(price);
        log(
            self.vm(),
            OfferPosted {
                offerId: offer_id,
                provider,
                gpuCount: hardware.gpuCount,
                gpuMemoryGb: hardware.gpuMemoryGb,
                cpuCores: hardware.cpuCores,
                ramGb: hardware.ramGb,
                diskGb: hardware.diskGb,
                price,
                minDuration: min_duration,
                maxDuration: max_duration,
                maxConcurrent: max_concurrent,
                expiry,
            },
        );
        Ok(offer_id)
    }

    /// Withdraws the caller's offer; deals already made from it go on.
    ///
    /// # Errors
    /// Unknown offer, not the caller's, or already cancelled.
    pub fn cancel_offer(&mut self, offer_id: U256) -> OfferBookResult<()> {
        let caller = self.vm().msg_sender();
        let offer = self.offers.get(offer_id);
        let provider = offer.provider.get();
        if provider.is_zero() {
            return own(OfferNotFound {});
        }
        if provider != caller {
            return own(NotOfferProvider {});
        }
        if !offer.open.get() {
            return own(OfferNotOpen {});
        }
        self.offers.setter(offer_id).open.set(false);
        log(
            self.vm(),
            OfferCancelled {
                offerId: offer_id,
                provider,
            },
        );
        Ok(())
    }

    /// Checks that the offer can take a job with these requirements and
    /// reserves one of its deal slots. Returns the provider and the price.
    /// Market only.
    ///
    /// # Errors
    /// Unauthorized caller, unknown, cancelled, expired or full offer, or
    /// an offer that does not fit the job.
    #[allow(clippy::too_many_arguments)]
    pub fn reserve(
        &mut self,
        offer_id: U256,
        min_gpu_count: u32,
        min_gpu_memory_gb: u32,
        min_cpu_cores: u32,
        min_ram_gb: u32,
        min_disk_gb: u32,
        max_price: U256,
        max_duration: u64,
    ) -> OfferBookResult<(Address, U256)> {
        self.only(self.market.get())?;
        let now = clock::now(self.vm());
        let offer = self.offers.get(offer_id);
        let provider = offer.provider.get();
        if provider.is_zero() {
            return own(OfferNotFound {});
        }
        if !offer.open.get() {
            return own(OfferNotOpen {});
        }
        let expiry: u64 = offer.expiry.get().to();
        if now >= expiry {
            return own(OfferExpired { expiry });
        }
        let minimum = Hardware {
            gpuCount: min_gpu_count,
            gpuMemoryGb: min_gpu_memory_gb,
            cpuCores: min_cpu_cores,
            ramGb: min_ram_gb,
            diskGb: min_disk_gb,
        };
        let price = offer.price.get();
        let max_offer_duration: u64 = offer.max_duration.get().to();
        let min_offer_duration: u64 = offer.min_duration.get().to();
        if price > max_price
            || max_offer_duration < max_duration
            || min_offer_duration > max_duration
            || !offer.hardware.read().covers(&minimum)
        {
            return own(IncompatibleOffer {});
        }
        let max_concurrent: u32 = offer.max_concurrent.get().to();
        let active: u32 = offer.active_deals.get().to();
        if active >= max_concurrent {
            return own(OfferAtCapacity {
                maxConcurrent: max_concurrent,
            });
        }
        self.set_active(offer_id, active + 1);
        Ok((provider, price))
    }

    /// Frees the deal slot a finished deal held. Deal book only.
    ///
    /// # Errors
    /// Unauthorized caller, or no deal running on the offer.
    pub fn release(&mut self, offer_id: U256) -> OfferBookResult<()> {
        self.only(self.deals.get())?;
        let active: u32 = self.offers.get(offer_id).active_deals.get().to();
        let Some(active) = active.checked_sub(1) else {
            return own(NoActiveDeal {});
        };
        self.set_active(offer_id, active);
        Ok(())
    }

    /// An offer: provider, open, price, min duration, max duration, max
    /// concurrent deals, active deals, expiry, hardware.
    #[allow(clippy::type_complexity)]
    pub fn offer(
        &self,
        offer_id: U256,
    ) -> (Address, bool, U256, u64, u64, u32, u32, u64, Hardware) {
        let o = self.offers.get(offer_id);
        (
            o.provider.get(),
            o.open.get(),
            o.price.get(),
            o.min_duration.get().to(),
            o.max_duration.get().to(),
            o.max_concurrent.get().to(),
            o.active_deals.get().to(),
            o.expiry.get().to(),
            o.hardware.read(),
        )
    }

    /// Number of offers posted so far (ids run from 1).
    pub fn offer_count(&self) -> U256 {
        self.offer_count.get()
    }
}

impl OfferBook {
    fn only(&self, allowed: Address) -> OfferBookResult<()> {
        shared::only_caller(self.vm().msg_sender(), allowed).map_err(|e| Revert::Own(e.into()))
    }

    fn set_active(&mut self, offer_id: U256, active: u32) {
        self.offers
            .setter(offer_id)
            .active_deals
            .set(U32::from(active));
        log(
            self.vm(),
            OfferUsageChanged {
                offerId: offer_id,
                activeDeals: active,
            },
        );
    }
}
