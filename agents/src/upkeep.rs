//! Store upkeep: an agent's store keeps what it fetched (modules, inputs,
//! a provider's outputs) for `store-grace`, then garbage collection
//! removes whatever no pin reaches (a provider pins each deal's outputs,
//! module and inputs until the deal is over; a validator pins a case's job
//! data while it works the vote out). Collection runs in the background
//! when the agent starts and then at most every [`COLLECT_EVERY`].

use std::{sync::Arc, time::Duration};

use pond_store::LocalStore;

/// The least time between two collections.
pub(crate) const COLLECT_EVERY: Duration = Duration::from_secs(3600);

/// When an agent's store was last collected, and how long fetched data
/// is kept.
#[derive(Debug)]
pub(crate) struct StoreUpkeep {
    store: Arc<LocalStore>,
    grace: Duration,
    last: Option<std::time::Instant>,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl StoreUpkeep {
    /// Upkeep of `store`, keeping unpinned data for `grace_secs`.
    pub(crate) fn new(store: Arc<LocalStore>, grace_secs: u64) -> Self {
        Self {
            store,
            grace: Duration::from_secs(grace_secs),
            last: None,
            running: None,
        }
    }

    /// Starts a collection in the background if one is due and none runs.
    /// A failure is logged and tried again at the next due time: a full
    /// disk must not stop the agent's passes.
    pub(crate) fn collect_if_due(&mut self) {
        if self.running.as_ref().is_some_and(|r| !r.is_finished())
            || self.last.is_some_and(|t| t.elapsed() < COLLECT_EVERY)
        {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let (store, grace) = (Arc::clone(&self.store), self.grace);
        self.running = Some(tokio::task::spawn_blocking(move || {
            match store.collect_garbage(&pond_store::Limits::default(), grace) {
                Ok(report) if report.removed > 0 => tracing::info!(
                    "store: removed {} blobs ({} bytes) no deal needs any more",
                    report.removed,
                    report.bytes_freed
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("store: collecting garbage: {e}"),
            }
        }));
    }
}
