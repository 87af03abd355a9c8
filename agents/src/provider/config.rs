//! `provider.toml`: what a provider agent offers, at what price, and how it
//! runs. Amounts are in tokens as people write them (`12.5`), durations
//! like `90s`, `5m`, `2h`, `1d`; relative paths are relative to the file.
//!
//! ```toml
//! data-dir = "provider-data"             # journal, store, scratch space
//! serve = "127.0.0.1:7070"               # outputs are served here
//! public-url = "http://203.0.113.7:7070" # how others reach it (default: http://<serve>)
//! poll-interval = "2s"
//! shutdown-grace = "60s"                 # on a stop, finish runs and reveals for this long
//! store-grace = "1d"                     # keep fetched data and finished outputs this long
//! graphql = "ws://127.0.0.1:4000/graphql/ws"  # wake at once on changes (no key: poll only)
//! withdraw-above = "500"                 # keep 500 tokens in the vault, withdraw the rest
//!
//! [hardware]            # any field left out is detected
//! gpus = 1
//! gpu-memory-gb = 24
//!
//! [offer]
//! price = "80"
//! max-duration = "2h"
//! max-concurrent = 4
//! lifetime = "1d"       # renewed `renew-before` its expiry
//!
//! [work]
//! take-open-jobs = true
//! max-concurrent = 4    # deals run at once: at least the offers' slots (the default)
//! bid-floor = "40"      # bid in auctions down to this price (no key: never bid)
//! bid-step = "1"
//! container-runtime = "podman"   # image jobs (no key: WASM jobs only)
//! ```
//!
//! A price policy per hardware class and duration is a list of offers
//! instead of one; each is posted and renewed on its own, and an open job
//! is taken with the first offer in the file that serves it:
//!
//! ```toml
//! [[offer]]                 # short CPU-only jobs: cheap
//! price = "5"
//! max-duration = "15m"
//! hardware = { gpus = 0, gpu-memory-gb = 0 }
//!
//! [[offer]]                 # anything else this machine can run
//! price = "80"
//! max-duration = "2h"
//! ```
//!
//! An offer's `hardware` is a class of this machine: each field set there
//! replaces the machine's (detected or declared) value and may not exceed
//! it.

use std::path::{Path, PathBuf};

use pond_bindings::{MAX_PERIOD, MIN_JOB_DURATION};
use pond_client::hardware::HardwareOverrides;
use serde::Deserialize;

pub use crate::settings::ConfigError;
use crate::settings::{amount, duration, graphql_ws, read};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    data_dir: Option<PathBuf>,
    serve: Option<String>,
    public_url: Option<String>,
    poll_interval: Option<String>,
    shutdown_grace: Option<String>,
    store_grace: Option<String>,
    graphql: Option<String>,
    tx_timeout: Option<String>,
    withdraw_above: Option<String>,
    metadata_uri: Option<String>,
    #[serde(default)]
    hardware: HardwareFile,
    /// `[offer]` (one table) or `[[offer]]` (a list): read as a value so
    /// each entry's mistakes are reported with its own message.
    offer: toml::Value,
    #[serde(default)]
    work: WorkFile,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct HardwareFile {
    gpus: Option<u32>,
    gpu_memory_gb: Option<u32>,
    cpu_cores: Option<u32>,
    ram_gb: Option<u32>,
    disk_gb: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OfferFile {
    price: String,
    min_duration: Option<String>,
    max_duration: Option<String>,
    max_concurrent: Option<u32>,
    lifetime: Option<String>,
    renew_before: Option<String>,
    #[serde(default)]
    hardware: HardwareFile,
}

impl From<HardwareFile> for HardwareOverrides {
    fn from(file: HardwareFile) -> Self {
        Self {
            gpus: file.gpus,
            gpu_memory_gb: file.gpu_memory_gb,
            cpu_cores: file.cpu_cores,
            ram_gb: file.ram_gb,
            disk_gb: file.disk_gb,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct WorkFile {
    take_open_jobs: Option<bool>,
    bid_floor: Option<String>,
    bid_step: Option<String>,
    container_runtime: Option<PathBuf>,
    max_concurrent: Option<u32>,
}

/// A provider agent's configuration, checked; amounts still in tokens
/// (the token's decimals are read from the chain).
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Journal, store and scratch space.
    pub data_dir: PathBuf,
    /// The address outputs are served on.
    pub serve: String,
    /// The base URL others fetch outputs from.
    pub public_url: String,
    /// Time between passes, seconds.
    pub poll_interval: u64,
    /// On a stop, how long runs in progress and results not yet revealed
    /// may take to finish, seconds (`0`: stop at once).
    pub shutdown_grace: u64,
    /// How long the store keeps data no unfinished deal needs (fetched
    /// modules and inputs, outputs of deals that are over), seconds.
    pub store_grace: u64,
    /// Pond's GraphQL subscription endpoint: a change there starts the
    /// next pass at once (`None`: passes only every `poll_interval`).
    pub graphql: Option<String>,
    /// How long a transaction may wait for its receipt before the pass
    /// gives up on it (the next pass re-sends what is still due), seconds.
    pub tx_timeout: u64,
    /// Vault balance kept; anything above is withdrawn (`None`: never).
    pub withdraw_above: Option<String>,
    /// The metadata URI registered.
    pub metadata_uri: String,
    /// Hardware declared over what is detected.
    pub hardware: HardwareOverrides,
    /// The standing offers, in the file's order (at least one): an open
    /// job is taken with the first that serves it.
    pub offers: Vec<OfferPolicy>,
    /// Deals run at once, whatever offer or auction they came from.
    pub max_concurrent: u32,
    /// Open jobs taken with the offer.
    pub take_open_jobs: bool,
    /// Auctions: the lowest price bid (`None`: never bid).
    pub bid_floor: Option<String>,
    /// Auctions: how far below the best bid to bid.
    pub bid_step: String,
    /// Image jobs' runtime (`None`: WASM jobs only).
    pub container_runtime: Option<PathBuf>,
}

/// An offer the agent keeps posted.
#[derive(Debug, Clone)]
pub struct OfferPolicy {
    /// The hardware class offered: fields set replace the machine's.
    pub hardware: HardwareOverrides,
    /// Price per job, tokens.
    pub price: String,
    /// Shortest job, seconds.
    pub min_duration: u64,
    /// Longest job, seconds.
    pub max_duration: u64,
    /// Deals at once.
    pub max_concurrent: u32,
    /// How long each posted offer lasts, seconds.
    pub lifetime: u64,
    /// A new offer replaces the old one this long before it expires.
    pub renew_before: u64,
}

impl ProviderConfig {
    /// Reads and checks `path`.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        read(path, Self::parse)
    }

    /// Parses a configuration whose relative paths are relative to `base`.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|source| ConfigError::Toml {
            path: PathBuf::from("provider.toml"),
            source,
        })?;
        let serve = file.serve.unwrap_or_else(|| "127.0.0.1:7070".to_owned());
        if serve.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Value {
                key: "serve",
                why: format!("`{serve}` is not an address such as 127.0.0.1:7070"),
            });
        }
        let public_url = file
            .public_url
            .unwrap_or_else(|| format!("http://{serve}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Value {
                key: "public-url",
                why: format!("`{public_url}` is not an http(s) URL"),
            });
        }
        let offers = match file.offer {
            toml::Value::Array(list) => list,
            table => vec![table],
        };
        if offers.is_empty() {
            return Err(ConfigError::Value {
                key: "offer",
                why: "list at least one offer".to_owned(),
            });
        }
        let count = offers.len();
        let offers = offers
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                offer_policy(value).map_err(|source| {
                    if count == 1 {
                        source
                    } else {
                        ConfigError::Offer {
                            number: i + 1,
                            source: Box::new(source),
                        }
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Anyone can open deals on an offer up to its slots, so the agent
        // must be able to run that many at once.
        let slots = offers
            .iter()
            .fold(0u32, |sum, o| sum.saturating_add(o.max_concurrent));
        let max_concurrent = match file.work.max_concurrent {
            Some(n) if n < slots => {
                return Err(ConfigError::Value {
                    key: "work.max-concurrent",
                    why: format!(
                        "{n} is less than the {slots} deals the offers let creators open at once \
                         (a deal not run in time costs its timeout collateral): raise it or lower \
                         the offers' max-concurrent"
                    ),
                })
            }
            Some(n) => n,
            None => slots,
        };
        let data_dir = base.join(
            file.data_dir
                .unwrap_or_else(|| PathBuf::from("provider-data")),
        );
        Ok(Self {
            data_dir,
            serve,
            public_url,
            poll_interval: duration("poll-interval", file.poll_interval, "2s")?.max(1),
            shutdown_grace: duration("shutdown-grace", file.shutdown_grace, "60s")?,
            store_grace: duration("store-grace", file.store_grace, "1d")?,
            graphql: graphql_ws(file.graphql)?,
            tx_timeout: duration("tx-timeout", file.tx_timeout, "2m")?.max(1),
            withdraw_above: file
                .withdraw_above
                .map(|v| amount("withdraw-above", &v))
                .transpose()?,
            metadata_uri: file.metadata_uri.unwrap_or_default(),
            hardware: file.hardware.into(),
            offers,
            max_concurrent,
            take_open_jobs: file.work.take_open_jobs.unwrap_or(true),
            bid_floor: file
                .work
                .bid_floor
                .map(|v| amount("work.bid-floor", &v))
                .transpose()?,
            bid_step: amount(
                "work.bid-step",
                file.work.bid_step.as_deref().unwrap_or("1"),
            )?,
            container_runtime: file.work.container_runtime,
        })
    }
}

/// One offer's policy, checked.
fn offer_policy(value: toml::Value) -> Result<OfferPolicy, ConfigError> {
    let file = OfferFile::deserialize(value).map_err(|source| ConfigError::Toml {
        path: PathBuf::from("provider.toml"),
        source,
    })?;
    let offer = OfferPolicy {
        hardware: file.hardware.into(),
        price: amount("offer.price", &file.price)?,
        min_duration: duration("offer.min-duration", file.min_duration, "5m")?,
        max_duration: duration("offer.max-duration", file.max_duration, "1h")?,
        max_concurrent: file.max_concurrent.unwrap_or(1),
        lifetime: duration("offer.lifetime", file.lifetime, "1d")?,
        renew_before: duration("offer.renew-before", file.renew_before, "1h")?,
    };
    if offer.max_concurrent == 0 {
        return Err(ConfigError::Value {
            key: "offer.max-concurrent",
            why: "must be at least 1".to_owned(),
        });
    }
    if offer.renew_before >= offer.lifetime {
        return Err(ConfigError::Value {
            key: "offer.renew-before",
            why: "must be shorter than offer.lifetime".to_owned(),
        });
    }
    if offer.min_duration < MIN_JOB_DURATION {
        return Err(ConfigError::Value {
            key: "offer.min-duration",
            why: format!("must be at least {MIN_JOB_DURATION} s (the market's shortest job)"),
        });
    }
    for (key, value) in [
        ("offer.max-duration", offer.max_duration),
        ("offer.lifetime", offer.lifetime),
    ] {
        if value > MAX_PERIOD {
            return Err(ConfigError::Value {
                key,
                why: format!(
                    "must be at most {MAX_PERIOD} s (30 days, the market's longest period)"
                ),
            });
        }
    }
    if offer.min_duration > offer.max_duration {
        return Err(ConfigError::Value {
            key: "offer.min-duration",
            why: "must not exceed offer.max-duration".to_owned(),
        });
    }
    Ok(offer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_file_gets_defaults_and_mistakes_are_named() {
        let config = ProviderConfig::parse("[offer]\nprice = \"80\"\n", Path::new("/etc/pond"))
            .expect("parsed");
        assert_eq!(config.data_dir, Path::new("/etc/pond/provider-data"));
        assert_eq!(config.public_url, "http://127.0.0.1:7070");
        assert_eq!(config.offers.len(), 1);
        assert_eq!(config.offers[0].max_duration, 3600);
        assert_eq!(config.max_concurrent, 1);
        assert!(config.take_open_jobs && config.bid_floor.is_none());

        let unknown = ProviderConfig::parse("[offer]\nprice = \"80\"\nprise = 1\n", Path::new("."));
        assert!(
            matches!(unknown, Err(ConfigError::Toml { .. })),
            "{unknown:?}"
        );
        for (text, key) in [
            ("[offer]\nprice = \"eighty\"\n", "offer.price"),
            ("serve = \"localhost\"\n[offer]\nprice = \"1\"\n", "serve"),
            (
                "[offer]\nprice = \"1\"\nmax-concurrent = 0\n",
                "offer.max-concurrent",
            ),
            (
                "[offer]\nprice = \"1\"\nlifetime = \"1h\"\nrenew-before = \"2h\"\n",
                "offer.renew-before",
            ),
            (
                "public-url = \"ftp://x\"\n[offer]\nprice = \"1\"\n",
                "public-url",
            ),
            (
                "graphql = \"http://127.0.0.1:4000/graphql\"\n[offer]\nprice = \"1\"\n",
                "graphql",
            ),
        ] {
            match ProviderConfig::parse(text, Path::new(".")) {
                Err(ConfigError::Value { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_list_of_offers_prices_hardware_classes_and_durations_apart() {
        let text = "[[offer]]\nprice = \"5\"\nmax-duration = \"15m\"\nhardware = { gpus = 0, gpu-memory-gb = 0 }\n\
                    [[offer]]\nprice = \"80\"\nmin-duration = \"10m\"\nmax-duration = \"2h\"\nmax-concurrent = 3\n";
        let config = ProviderConfig::parse(text, Path::new(".")).expect("parsed");
        let [cpu, any] = &config.offers[..] else {
            panic!("two offers: {:?}", config.offers)
        };
        assert_eq!((cpu.price.as_str(), cpu.max_duration), ("5", 900));
        assert_eq!(
            (
                cpu.hardware.gpus,
                cpu.hardware.gpu_memory_gb,
                cpu.hardware.cpu_cores
            ),
            (Some(0), Some(0), None)
        );
        assert_eq!((any.price.as_str(), any.min_duration), ("80", 600));
        assert_eq!(any.hardware, HardwareOverrides::default());
        assert_eq!(config.max_concurrent, 4, "every offer's slots");
        let more = format!("{text}[work]\nmax-concurrent = 6\n");
        let more = ProviderConfig::parse(&more, Path::new(".")).expect("parsed");
        assert_eq!(more.max_concurrent, 6);
        // Fewer runs than creators can open deals: deals would time out.
        let fewer = format!("{text}[work]\nmax-concurrent = 3\n");
        assert!(matches!(
            ProviderConfig::parse(&fewer, Path::new(".")),
            Err(ConfigError::Value {
                key: "work.max-concurrent",
                ..
            })
        ));
        // What the market refuses is refused here, before any posting.
        for (offer, key) in [
            ("min-duration = \"4m\"", "offer.min-duration"),
            ("max-duration = \"31d\"", "offer.max-duration"),
            ("lifetime = \"31d\"", "offer.lifetime"),
        ] {
            let text = format!("[offer]\nprice = \"1\"\n{offer}\n");
            match ProviderConfig::parse(&text, Path::new(".")) {
                Err(ConfigError::Value { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }

        // A mistake names the offer it is in.
        let bad = "[[offer]]\nprice = \"1\"\n[[offer]]\nprice = \"1\"\nmin-duration = \"2h\"\n";
        match ProviderConfig::parse(bad, Path::new(".")) {
            Err(ConfigError::Offer { number: 2, source }) => assert!(
                matches!(
                    *source,
                    ConfigError::Value {
                        key: "offer.min-duration",
                        ..
                    }
                ),
                "{source:?}"
            ),
            other => panic!("{other:?}"),
        }
        let unknown =
            "[[offer]]\nprice = \"1\"\nhardware = { gpu = 1 }\n[[offer]]\nprice = \"1\"\n";
        match ProviderConfig::parse(unknown, Path::new(".")) {
            Err(e @ ConfigError::Offer { number: 1, .. }) => {
                assert!(e.to_string().contains("gpu"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        for text in [
            "offer = []\n",
            "[work]\nmax-concurrent = 0\n[offer]\nprice = \"1\"\n",
        ] {
            assert!(
                matches!(
                    ProviderConfig::parse(text, Path::new(".")),
                    Err(ConfigError::Value { .. })
                ),
                "{text}"
            );
        }
    }
}
