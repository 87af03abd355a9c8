//! Why an offer cannot serve a job: the rules the offer book applies when
//! a job is matched (`OfferBook.reserve`), spelled out one by one, so a
//! person can see which field falls short instead of a bare
//! `IncompatibleOffer`.

use crate::hardware::Hardware;
use crate::Offer;
use alloy::primitives::U256;
use std::fmt;

/// What a job asks of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobNeeds {
    /// The least hardware.
    pub hardware: Hardware,
    /// The most the job pays (token base units).
    pub max_price: U256,
    /// How long the job may run, seconds.
    pub max_duration: u64,
}

/// One reason an offer cannot serve a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The provider cancelled it.
    Cancelled,
    /// It expired at this time (unix seconds).
    Expired(u64),
    /// All its deal slots are taken.
    Full {
        /// Deals running.
        active: u32,
        /// Slots.
        max: u32,
    },
    /// It asks more than the job pays (base units).
    Price {
        /// The offer's price.
        asks: U256,
        /// The job's maximum.
        pays: U256,
    },
    /// It runs jobs no longer than this (seconds).
    TooShort {
        /// The offer's maximum.
        offer_max: u64,
        /// The job's duration.
        job: u64,
    },
    /// It runs only jobs at least this long (seconds).
    TooLong {
        /// The offer's minimum.
        offer_min: u64,
        /// The job's duration.
        job: u64,
    },
    /// A hardware field below the job's minimum.
    Hardware {
        /// The field's name (`gpus`, `gpu memory GB`, …).
        field: &'static str,
        /// The offer's value.
        has: u32,
        /// The job's minimum.
        needs: u32,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => write!(f, "cancelled"),
            Self::Expired(at) => write!(f, "expired at {at} (unix)"),
            Self::Full { active, max } => write!(f, "full ({active} of {max} deal slots taken)"),
            Self::Price { asks, pays } => {
                write!(f, "asks {asks} base units, the job pays at most {pays}")
            }
            Self::TooShort { offer_max, job } => {
                write!(f, "runs jobs up to {offer_max} s, the job may run {job} s")
            }
            Self::TooLong { offer_min, job } => {
                write!(
                    f,
                    "runs only jobs of {offer_min} s or more, the job's limit is {job} s"
                )
            }
            Self::Hardware { field, has, needs } => write!(f, "{field}: has {has}, needs {needs}"),
        }
    }
}

/// Every reason `offer` cannot serve `job` at time `now`; empty when it
/// can (then only the provider's collateral in the vault can still stop a
/// match).
pub fn mismatches(offer: &Offer, job: &JobNeeds, now: u64) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let terms = &offer.terms;
    if !offer.open {
        out.push(Mismatch::Cancelled);
    }
    if now >= terms.expiry {
        out.push(Mismatch::Expired(terms.expiry));
    }
    if offer.active_deals >= terms.max_concurrent {
        out.push(Mismatch::Full {
            active: offer.active_deals,
            max: terms.max_concurrent,
        });
    }
    if terms.price > job.max_price {
        out.push(Mismatch::Price {
            asks: terms.price,
            pays: job.max_price,
        });
    }
    if terms.max_duration < job.max_duration {
        out.push(Mismatch::TooShort {
            offer_max: terms.max_duration,
            job: job.max_duration,
        });
    }
    if terms.min_duration > job.max_duration {
        out.push(Mismatch::TooLong {
            offer_min: terms.min_duration,
            job: job.max_duration,
        });
    }
    let (has, needs) = (&terms.hardware, &job.hardware);
    for (field, has, needs) in [
        ("gpus", has.gpu_count, needs.gpu_count),
        ("gpu memory GB", has.gpu_memory_gb, needs.gpu_memory_gb),
        ("cpu cores", has.cpu_cores, needs.cpu_cores),
        ("ram GB", has.ram_gb, needs.ram_gb),
        ("disk GB", has.disk_gb, needs.disk_gb),
    ] {
        if has < needs {
            out.push(Mismatch::Hardware { field, has, needs });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OfferTerms;
    use alloy::primitives::Address;

    fn offer() -> Offer {
        Offer {
            id: U256::from(1),
            provider: Address::repeat_byte(1),
            open: true,
            terms: OfferTerms {
                hardware: Hardware {
                    gpu_count: 1,
                    gpu_memory_gb: 24,
                    cpu_cores: 16,
                    ram_gb: 64,
                    disk_gb: 500,
                },
                price: U256::from(80),
                min_duration: 60,
                max_duration: 7200,
                max_concurrent: 2,
                expiry: 1_000,
            },
            active_deals: 0,
        }
    }

    fn needs() -> JobNeeds {
        JobNeeds {
            hardware: offer().terms.hardware,
            max_price: U256::from(80),
            max_duration: 3600,
        }
    }

    #[test]
    fn a_fitting_offer_has_no_mismatch_and_each_rule_is_named() {
        assert_eq!(mismatches(&offer(), &needs(), 999), vec![]);
        // The boundaries the offer book uses: expiry is exclusive, price
        // and durations inclusive.
        assert_eq!(
            mismatches(&offer(), &needs(), 1_000),
            vec![Mismatch::Expired(1_000)]
        );
        let mut job = needs();
        job.max_price = U256::from(79);
        job.hardware.gpu_memory_gb = 40;
        job.max_duration = 7201;
        let found = mismatches(&offer(), &job, 0);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.contains(&Mismatch::Hardware {
            field: "gpu memory GB",
            has: 24,
            needs: 40
        }));
        let mut full = offer();
        full.active_deals = 2;
        full.open = false;
        assert_eq!(mismatches(&full, &needs(), 0).len(), 2);
        let mut short = needs();
        short.max_duration = 30;
        assert!(matches!(
            mismatches(&offer(), &short, 0)[..],
            [Mismatch::TooLong { .. }]
        ));
    }
}
