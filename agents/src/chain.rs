//! How agents act on the chain: their error type, transactions with a
//! receipt timeout, and the rule that a step the contracts refuse is
//! logged and skipped while a failure of the chain ends the pass.

use std::time::Duration;

use pond_client::ClientError;

use crate::journal::JournalError;

/// Why the agent cannot start, or why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The chain refused or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] pond_store::StoreError),
    /// An amount in the configuration does not parse with the token's
    /// decimals.
    #[error("{key}: {source}")]
    Amount {
        /// The key.
        key: &'static str,
        /// Why.
        #[source]
        source: pond_client::units::UnitError,
    },
    /// The data directory or the outputs' address cannot be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A transaction's receipt did not come within the configured time;
    /// the next pass sends what is still due.
    #[error("no receipt for {0} within the transaction timeout")]
    TxTimeout(String),
}

impl AgentError {
    /// Whether a later pass may succeed where this one failed (the chain
    /// or the disk was unavailable for a while).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Client(e) => e.is_retryable(),
            Self::TxTimeout(_) | Self::Journal(_) | Self::Store(_) | Self::Io { .. } => true,
            Self::Amount { .. } => false,
        }
    }
}

/// Sends one transaction, giving up on its receipt after `limit_secs` (a
/// dropped transaction is sent again by a later pass, since the step is
/// still due then).
///
/// # Errors
/// The client's error, or [`AgentError::TxTimeout`].
pub(crate) async fn send<T>(
    limit_secs: u64,
    what: String,
    transaction: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, AgentError> {
    match tokio::time::timeout(Duration::from_secs(limit_secs), transaction).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(AgentError::TxTimeout(what)),
    }
}

/// A step the contracts refused is logged and skipped; anything else ends
/// the pass.
///
/// # Errors
/// `result`'s error when a later pass may succeed.
pub(crate) fn refused_is_skipped(
    what: &str,
    result: Result<(), AgentError>,
) -> Result<(), AgentError> {
    match result {
        Err(e) if !e.is_retryable() => {
            tracing::warn!("{what}: {e}");
            Ok(())
        }
        other => other,
    }
}
