//! What every agent's configuration file shares: how it is read (TOML,
//! unknown keys refused, relative paths relative to the file), and how
//! amounts and durations in it are checked.

use std::path::{Path, PathBuf};

use pond_client::units::{parse_amount, parse_duration};

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or an unknown key or wrong type.
    #[error("{}: {source}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// What the parser said (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range or does not parse.
    #[error("{key}: {why}")]
    Value {
        /// The key.
        key: &'static str,
        /// Why.
        why: String,
    },
    /// One entry of a list of offers is refused.
    #[error("offer {number} in the list: {source}")]
    Offer {
        /// Its place in the list, from 1.
        number: usize,
        /// Why.
        #[source]
        source: Box<ConfigError>,
    },
}

/// Reads `path` and parses it with `parse` (given the file's directory).
///
/// # Errors
/// The file cannot be read, or `parse` refuses it (TOML errors name the
/// file).
pub(crate) fn read<T>(
    path: &Path,
    parse: impl FnOnce(&str, &Path) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|e| e.in_file(path))
}

impl ConfigError {
    /// The error with TOML errors naming `path`.
    fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Toml { source, .. } => Self::Toml {
                path: path.to_owned(),
                source,
            },
            Self::Offer { number, source } => Self::Offer {
                number,
                source: Box::new(source.in_file(path)),
            },
            other => other,
        }
    }
}

/// A duration (`90s`, `5m`, `2h`, `1d`) in seconds, `default` when absent.
pub(crate) fn duration(
    key: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<u64, ConfigError> {
    parse_duration(value.as_deref().unwrap_or(default)).map_err(|e| ConfigError::Value {
        key,
        why: e.to_string(),
    })
}

/// An amount in tokens, checked now (18 decimals is the most any token
/// uses) so a typo fails at start, not at the first transaction; kept as
/// written until the token's decimals are known.
pub(crate) fn amount(key: &'static str, value: &str) -> Result<String, ConfigError> {
    parse_amount(value, 18)
        .map(|_| value.to_owned())
        .map_err(|e| ConfigError::Value {
            key,
            why: e.to_string(),
        })
}

/// A GraphQL subscription endpoint: `ws://…` (this build has no TLS for
/// WebSockets: reach a remote API through a local TLS-terminating proxy
/// or an SSH tunnel).
pub(crate) fn graphql_ws(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(url) if !url.starts_with("ws://") => Err(ConfigError::Value {
            key: "graphql",
            why: format!(
                "`{url}` is not a plain WebSocket URL such as ws://127.0.0.1:4000/graphql/ws \
                 (wss:// is not supported: use a local TLS proxy or an SSH tunnel)"
            ),
        }),
        other => Ok(other),
    }
}
