//! How agents act on the chain: their error type, transactions with a
//! receipt timeout, and the rule that a step the contracts refuse is
//! logged and skipped while a failure of the chain ends the pass.

use std::{future::Future, time::Duration};

use tokio::task::{Id, JoinSet};

use alloy::primitives::U256;
use pond_client::ClientError;

use crate::{
    journal::JournalError,
    metrics::{self, Metrics},
    wake::Wakeups,
};

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
    /// An offer's hardware class asks for more than the machine has.
    #[error("offer {number}: its hardware {offered:?} exceeds this machine's {machine:?}; lower the offer's hardware fields")]
    OfferExceedsMachine {
        /// The offer's place in the configuration, from 1.
        number: usize,
        /// The class offered.
        offered: pond_client::hardware::Hardware,
        /// The machine.
        machine: pond_client::hardware::Hardware,
    },
}

impl AgentError {
    /// Whether a later pass may succeed where this one failed (the chain
    /// or the disk was unavailable for a while).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Client(e) => e.is_retryable(),
            Self::TxTimeout(_) | Self::Journal(_) | Self::Store(_) | Self::Io { .. } => true,
            Self::Amount { .. } | Self::OfferExceedsMachine { .. } => false,
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
    Ok(within(limit_secs, what, transaction).await??)
}

/// [`send`] that leaves the client's answer to the caller, which tells
/// the refusals it expects (not due yet, done already) from failures.
///
/// # Errors
/// [`AgentError::TxTimeout`].
pub(crate) async fn within<T>(
    limit_secs: u64,
    what: String,
    transaction: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<Result<T, ClientError>, AgentError> {
    tokio::time::timeout(Duration::from_secs(limit_secs), transaction)
        .await
        .map_err(|_| AgentError::TxTimeout(what))
}

/// A step the contracts refused is logged and skipped; anything else ends
/// the pass.
///
/// # Errors
/// `result`'s error when a later pass may succeed.
pub(crate) fn refused_is_skipped(
    metrics: &Metrics,
    what: &str,
    result: Result<(), AgentError>,
) -> Result<(), AgentError> {
    match result {
        Err(e) if !e.is_retryable() => {
            metrics.add(metrics::REFUSED, 1);
            tracing::warn!("{what}: {e}");
            Ok(())
        }
        other => other,
    }
}

/// The longest pause between passes while the chain keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Work running in the background, each task under a key (a deal, a
/// case's round), so that a task that panics is still known by its key.
#[derive(Debug)]
pub(crate) struct Tasks<K, T> {
    set: JoinSet<T>,
    keys: std::collections::HashMap<Id, K>,
}

impl<K: Clone + PartialEq, T: Send + 'static> Tasks<K, T> {
    pub(crate) fn new() -> Self {
        Self {
            set: JoinSet::new(),
            keys: std::collections::HashMap::new(),
        }
    }

    /// Starts `work` under `key`.
    pub(crate) fn spawn(&mut self, key: K, work: impl Future<Output = T> + Send + 'static) {
        let task = self.set.spawn(work);
        self.keys.insert(task.id(), key);
    }

    /// Whether work under `key` is running.
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.keys.values().any(|k| k == key)
    }

    /// How many tasks are running.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The next task to finish: its key, and its output or why it failed.
    async fn next(&mut self) -> Option<(K, Result<T, String>)> {
        loop {
            let done = self.set.join_next_with_id().await?;
            let (id, output) = match done {
                Ok((id, output)) => (id, Ok(output)),
                Err(failed) => (failed.id(), Err(failed.to_string())),
            };
            if let Some(key) = self.keys.remove(&id) {
                return Some((key, output));
            }
        }
    }
}

/// An agent as [`run_passes`] drives it: passes over the chain, and work
/// running in the background between them.
pub(crate) trait Passes {
    /// What background work is known by.
    type Key: Clone + PartialEq;
    /// What background work gives back.
    type Work: Send + 'static;

    /// Which agent, for logs.
    const NAME: &'static str;

    /// Time between passes when all is well, seconds.
    fn poll_interval(&self) -> u64;

    /// The agent's metrics.
    fn metrics(&self) -> &Metrics;

    /// One pass over the chain.
    async fn pass(&mut self) -> Result<(), AgentError>;

    /// The background work.
    fn tasks(&mut self) -> &mut Tasks<Self::Key, Self::Work>;

    /// Keeps what background work gave back (or why it failed).
    async fn finished(&mut self, key: Self::Key, output: Result<Self::Work, String>);

    /// How long a stop waits for work in flight to finish, seconds.
    fn shutdown_grace(&self) -> u64;

    /// Stops taking new work: the agent is shutting down.
    fn drain(&mut self);

    /// Whether work a short wait would finish is still in flight (a run,
    /// a result not yet revealed, a vote not yet committed), as the last
    /// pass saw it.
    fn in_flight(&self) -> bool;
}

/// Runs passes until `stop` completes; a pass that fails is logged and
/// retried with a growing pause (the chain may be down), and finished
/// background work is kept at once (its next step follows in the next
/// pass). A notice from `wakeups` starts the next pass early (at most one
/// pass a second). When `stop` completes the agent takes no new work and
/// goes on until what is in flight is done or its shutdown grace is over;
/// whatever is left then is resumed from the journal by the next start.
///
/// # Errors
/// Only a failure no later pass can mend.
pub(crate) async fn run_passes<A: Passes>(
    agent: &mut A,
    wakeups: Option<&Wakeups>,
    stop: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    passes(agent, wakeups, stop, false).await?;
    let grace = agent.shutdown_grace();
    if grace > 0 {
        agent.drain();
        tracing::info!(
            "{}: stopping; finishing work in flight for up to {grace} s (taking no new work)",
            A::NAME
        );
        // One bound for the whole drain: a pass that hangs (a node that
        // stopped answering) does not hold a stop past its grace.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(grace);
        let drained = passes(agent, wakeups, std::future::pending(), true);
        match tokio::time::timeout_at(deadline, drained).await {
            Ok(done) => done?,
            Err(_) => tracing::warn!(
                "{}: work still in flight after the shutdown grace; the next start resumes it from the journal",
                A::NAME
            ),
        }
    }
    agent.tasks().set.shutdown().await;
    Ok(())
}

/// The pass loop of [`run_passes`]: until `stop` completes or, when
/// `draining`, until no work is left in flight.
async fn passes<A: Passes>(
    agent: &mut A,
    wakeups: Option<&Wakeups>,
    stop: impl Future<Output = ()>,
    draining: bool,
) -> Result<(), AgentError> {
    let poll = Duration::from_secs(agent.poll_interval());
    let mut pause = poll;
    let mut stop = std::pin::pin!(stop);
    loop {
        if draining && agent.tasks().len() == 0 && !agent.in_flight() {
            tracing::info!("{}: work in flight finished; stopped", A::NAME);
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        let outcome = tokio::select! {
            outcome = agent.pass() => outcome,
            () = &mut stop => return Ok(()),
        };
        agent.metrics().add(metrics::PASSES, 1);
        let failing = match outcome {
            Ok(()) => {
                pause = poll;
                false
            }
            Err(e) if e.is_retryable() => {
                agent.metrics().add(metrics::PASS_ERRORS, 1);
                pause = (pause * 2).min(MAX_BACKOFF);
                tracing::warn!("{} pass failed, next in {pause:?}: {e}", A::NAME);
                true
            }
            Err(e) => return Err(e),
        };
        let busy = agent.tasks().len() > 0;
        let woken = async {
            match wakeups {
                // After a failed pass the pause holds: the chain may be down.
                Some(w) if !failing => {
                    w.changed().await;
                    // However busy the market, passes start at most this
                    // often (notices in between fold into this wake-up).
                    tokio::time::sleep_until(started + MIN_WAKE_GAP).await;
                }
                _ => std::future::pending().await,
            }
        };
        // While draining, the next step follows as soon as a run ends or
        // after a short pause: a stop should not wait out a long poll.
        let pause = if draining {
            pause.min(Duration::from_secs(1))
        } else {
            pause
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = woken => {}
            Some((key, output)) = agent.tasks().next(), if busy => agent.finished(key, output).await,
            () = &mut stop => return Ok(()),
        }
    }
}

/// The shortest time from one pass's start to the next when woken by a
/// notice.
const MIN_WAKE_GAP: Duration = Duration::from_secs(1);

/// Ids read per scan and pass at most, so one pass stays short on a busy
/// market; the next pass goes on from where this one stopped.
const MAX_SCAN: u64 = 500;

/// The ids one pass scans: from `cursor` to `count` (the number of ids
/// that exist), at most [`MAX_SCAN`] of them.
pub(crate) fn scan_window(cursor: U256, count: U256) -> impl Iterator<Item = U256> {
    let end = count.min(cursor.saturating_add(U256::from(MAX_SCAN - 1)));
    let first = cursor.max(U256::from(1));
    let n = if end < first {
        0
    } else {
        u64::try_from(end - first).map_or(MAX_SCAN, |d| d + 1)
    };
    (0..n).map(move |i| first + U256::from(i))
}

/// Serves `router` on `address` in the background (`what` names it in
/// errors and logs); the address bound.
///
/// # Errors
/// The address cannot be bound.
pub(crate) async fn serve(
    address: &str,
    router: axum::Router,
    what: &'static str,
) -> Result<std::net::SocketAddr, AgentError> {
    let io = |doing: String| {
        move |source| AgentError::Io {
            what: doing,
            source,
        }
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(io(format!("serving {what} on {address}")))?;
    let bound = listener
        .local_addr()
        .map_err(io("reading the bound address".to_owned()))?;
    // Public: a stranger's connections must not exhaust the agent.
    let listener = pond_listener::GuardedListener::new(listener, Default::default());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("the {what} server stopped: {e}");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_window_is_bounded_and_starts_at_the_cursor() {
        let ids = |c: u64, n: u64| -> Vec<u64> {
            scan_window(U256::from(c), U256::from(n))
                .map(|u| u.to::<u64>())
                .collect()
        };
        assert_eq!(ids(1, 3), vec![1, 2, 3]);
        assert_eq!(ids(3, 3), vec![3]);
        assert!(ids(4, 3).is_empty());
        assert!(ids(1, 0).is_empty());
        let long = ids(10, 10_000);
        assert_eq!(long.len() as u64, MAX_SCAN);
        assert_eq!((long[0], long[long.len() - 1]), (10, 10 + MAX_SCAN - 1));
    }

    /// A run that panics (a bug in an executor, a host fault) is reported
    /// under its key, as a failure the agent keeps (the deal is retried),
    /// and the other runs go on.
    #[tokio::test]
    async fn a_panicking_run_is_a_failure_known_by_its_key() {
        let mut tasks: Tasks<u32, u32> = Tasks::new();
        tasks.spawn(1, async { panic!("an executor bug") });
        tasks.spawn(2, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            7
        });
        assert_eq!(tasks.len(), 2);
        let (key, output) = tasks.next().await.expect("one finished");
        assert_eq!(key, 1);
        let why = output.expect_err("a panic is a failure");
        assert!(why.contains("panicked"), "{why}");
        assert!(tasks.contains(&2) && !tasks.contains(&1));
        assert_eq!(tasks.next().await, Some((2, Ok(7))));
        assert_eq!(tasks.len(), 0);
    }
}
