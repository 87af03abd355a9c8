//! Store upkeep: an agent's store keeps what it fetched (modules, inputs,
//! a provider's outputs) for `store-grace`, then garbage collection
//! removes whatever no pin reaches (a provider pins each deal's outputs
//! until the deal is over). Collection runs when the agent starts and
//! then at most every [`COLLECT_EVERY`], only while no run is in flight,
//! so a running job never loses a blob it is reading.

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
}

impl StoreUpkeep {
    /// Upkeep of `store`, keeping unpinned data for `grace_secs`.
    pub(crate) fn new(store: Arc<LocalStore>, grace_secs: u64) -> Self {
        Self {
            store,
            grace: Duration::from_secs(grace_secs),
            last: None,
        }
    }

    /// Collects garbage if it is due and nothing runs (`idle`). A failure
    /// is logged and tried again at the next due time: a full disk must
    /// not stop the agent's passes.
    pub(crate) async fn collect_if_due(&mut self, idle: bool) {
        if !idle || self.last.is_some_and(|t| t.elapsed() < COLLECT_EVERY) {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let (store, grace) = (Arc::clone(&self.store), self.grace);
        let collected = tokio::task::spawn_blocking(move || {
            store.collect_garbage(&pond_store::Limits::default(), grace)
        })
        .await;
        match collected {
            Ok(Ok(report)) if report.removed > 0 => tracing::info!(
                "store: removed {} blobs ({} bytes) no deal needs any more",
                report.removed,
                report.bytes_freed
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("store: collecting garbage: {e}"),
            Err(e) => tracing::warn!("store: collecting garbage stopped: {e}"),
        }
    }
}
