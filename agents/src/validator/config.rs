//! `validator.toml`: how much a validator agent keeps staked and how it
//! runs jobs. Amounts in tokens, durations like `2s` or `2m`; relative
//! paths are relative to the file.
//!
//! ```toml
//! data-dir = "validator-data"   # journal, store, scratch space
//! stake = "200"                 # topped up from the vault balance; never unbonded
//! poll-interval = "2s"
//! shutdown-grace = "60s"       # on a stop, finish votes being worked out and commit them
//! store-grace = "1d"            # keep fetched job data this long
//! graphql = "ws://127.0.0.1:4000/graphql/ws"  # wake at once on mediation events (no key: poll only)
//! keep-cases = true             # also draw committees and resolve cases when due
//! container-runtime = "podman"  # image jobs (no key: WASM jobs only)
//! metrics = "127.0.0.1:9101"    # Prometheus metrics at /metrics (no key: not served)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::settings::{amount, duration, graphql_ws, read, ConfigError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    data_dir: Option<PathBuf>,
    stake: String,
    poll_interval: Option<String>,
    shutdown_grace: Option<String>,
    store_grace: Option<String>,
    graphql: Option<String>,
    tx_timeout: Option<String>,
    keep_cases: Option<bool>,
    container_runtime: Option<PathBuf>,
    metrics: Option<String>,
}

/// A validator agent's configuration, checked; the stake still in tokens.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// Journal, store and scratch space.
    pub data_dir: PathBuf,
    /// The stake kept, tokens.
    pub stake: String,
    /// Time between passes, seconds.
    pub poll_interval: u64,
    /// On a stop, how long votes being worked out may take to be
    /// committed, seconds (`0`: stop at once).
    pub shutdown_grace: u64,
    /// How long the store keeps fetched job data, seconds.
    pub store_grace: u64,
    /// Pond's GraphQL subscription endpoint: a mediation event there
    /// starts the next pass at once (`None`: passes only every
    /// `poll_interval`).
    pub graphql: Option<String>,
    /// How long a transaction may wait for its receipt, seconds.
    pub tx_timeout: u64,
    /// Draw committees and resolve cases when due (any validator may).
    pub keep_cases: bool,
    /// Image jobs' runtime (`None`: WASM jobs only).
    pub container_runtime: Option<PathBuf>,
    /// Where to serve Prometheus metrics (`None`: nowhere).
    pub metrics: Option<String>,
}

impl ValidatorConfig {
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
            path: PathBuf::from("validator.toml"),
            source,
        })?;
        Ok(Self {
            data_dir: base.join(
                file.data_dir
                    .unwrap_or_else(|| PathBuf::from("validator-data")),
            ),
            stake: amount("stake", &file.stake)?,
            poll_interval: duration("poll-interval", file.poll_interval, "2s")?.max(1),
            shutdown_grace: duration("shutdown-grace", file.shutdown_grace, "60s")?,
            store_grace: duration("store-grace", file.store_grace, "1d")?,
            graphql: graphql_ws(file.graphql)?,
            tx_timeout: duration("tx-timeout", file.tx_timeout, "2m")?.max(1),
            keep_cases: file.keep_cases.unwrap_or(true),
            container_runtime: file.container_runtime,
            metrics: match file.metrics {
                Some(address) if address.parse::<std::net::SocketAddr>().is_err() => {
                    return Err(ConfigError::Value {
                        key: "metrics",
                        why: format!("`{address}` is not an address such as 127.0.0.1:9101"),
                    })
                }
                other => other,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stake_is_required_and_checked() {
        let config =
            ValidatorConfig::parse("stake = \"200\"\n", Path::new("/srv")).expect("parsed");
        assert_eq!(config.data_dir, Path::new("/srv/validator-data"));
        assert!(config.keep_cases);
        assert!(matches!(
            ValidatorConfig::parse("poll-interval = \"1s\"\n", Path::new(".")),
            Err(ConfigError::Toml { .. })
        ));
        assert!(matches!(
            ValidatorConfig::parse("stake = \"lots\"\n", Path::new(".")),
            Err(ConfigError::Value { key: "stake", .. })
        ));
    }
}
