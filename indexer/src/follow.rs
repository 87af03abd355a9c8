//! Following the chain: backfill in adaptive block ranges (several in
//! flight, written in order), then live mode (WebSocket `newHeads`, polling
//! when the socket is down), with reorg detection against the stored block
//! hashes and rollback to the fork point.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use alloy::{
    primitives::Log as PrimitiveLog,
    providers::{Provider, ProviderBuilder, WsConnect},
    rpc::types::Log,
};
use futures::{stream, StreamExt};
use pond_bindings::Deployment;
use tokio::sync::{broadcast, watch};

use crate::{
    events::{self, Source, Watched},
    project::{self, Meta},
    rpc::{RpcClient, RpcError},
    store::{BlockRecord, EventRecord, Store, StoreError},
};

/// Why the indexer stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The RPC endpoint failed after retries.
    #[error("rpc: {0}")]
    Rpc(#[from] RpcError),
    /// The endpoint serves another chain than the deployment's.
    #[error("endpoint serves chain {actual}, the deployment is on {expected}")]
    WrongChain {
        /// Deployment's chain.
        expected: u64,
        /// Endpoint's chain.
        actual: u64,
    },
    /// A reorg deeper than the kept block window.
    #[error(
        "the chain lost more blocks than the {0} the index can roll back (a reset or restored \
         chain?): index it again from the deployment block with `pond up --rpc … --reindex`, \
         or delete the index database"
    )]
    ReorgTooDeep(u64),
}

/// Indexer settings.
#[derive(Clone, Debug)]
pub struct IndexerConfig {
    /// HTTP JSON-RPC endpoint.
    pub rpc_url: String,
    /// WebSocket endpoint for `newHeads` (polling only when `None`).
    pub ws_url: Option<String>,
    /// What to index.
    pub deployment: Deployment,
    /// Blocks to wait before indexing a block (0: index the head).
    pub confirmations: u64,
    /// First backfill range size.
    pub initial_range: u64,
    /// Largest range size.
    pub max_range: u64,
    /// Ranges fetched at once.
    pub concurrency: usize,
    /// Poll interval when no WebSocket head arrives.
    pub poll_interval: Duration,
    /// Recent blocks whose hashes are kept for reorg detection.
    pub reorg_window: u64,
    /// When the chain lost more blocks than `reorg_window` (a reset or
    /// restored chain), empty the index and follow the chain again from
    /// the deployment block instead of stopping with
    /// [`IndexerError::ReorgTooDeep`] (right for a chain this process runs
    /// itself).
    pub reindex_after_deep_reorg: bool,
}

impl IndexerConfig {
    /// Defaults for `deployment` at `rpc_url`.
    #[must_use]
    pub fn new(rpc_url: &str, deployment: Deployment) -> Self {
        Self {
            rpc_url: rpc_url.to_owned(),
            ws_url: None,
            deployment,
            confirmations: 0,
            initial_range: 2_000,
            max_range: 100_000,
            concurrency: 4,
            poll_interval: Duration::from_millis(500),
            reorg_window: 128,
            reindex_after_deep_reorg: false,
        }
    }
}

pub use crate::feed::Update;

/// Progress for `_meta`, `/ready` and metrics.
#[derive(Debug, Default)]
pub struct Progress {
    /// Last indexed block.
    pub indexed: AtomicU64,
    /// Last seen head.
    pub head: AtomicU64,
    /// Events indexed by this process.
    pub events: AtomicU64,
    /// 1 once caught up with the head at least once.
    pub ready: AtomicU64,
}

/// The indexer.
pub struct Indexer {
    store: Store,
    rpc: RpcClient,
    config: IndexerConfig,
    watched: Watched,
    updates: broadcast::Sender<Update>,
    /// Progress counters.
    pub progress: Arc<Progress>,
    range: u64,
}

/// How a backfill pipeline ended.
enum Pipeline {
    /// Written up to `next - 1` (the end, or a stop).
    Done { next: u64 },
    /// The provider refused the range starting at `next` as too large.
    TooLarge { next: u64, hint: Option<u64> },
}

/// The backfill's live line: blocks done, events/s, ETA, every 2 s.
struct Report {
    from: u64,
    to: u64,
    events_before: u64,
    started: Instant,
    last: Instant,
}

impl Report {
    fn new(from: u64, to: u64, events_before: u64) -> Self {
        Self {
            from,
            to,
            events_before,
            started: Instant::now(),
            last: Instant::now(),
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn tick(&mut self, next: u64, events: u64) {
        if self.last.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last = Instant::now();
        let done = next.saturating_sub(self.from);
        let total = self.to + 1 - self.from;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let events = events.saturating_sub(self.events_before);
        let eta = total.saturating_sub(done) as f64 * secs / (done.max(1) as f64);
        tracing::info!(
            "backfill {done}/{total} blocks ({:.0}%), {:.0} events/s, ETA {eta:.0} s",
            done as f64 * 100.0 / total as f64,
            events as f64 / secs
        );
    }
}

struct Fetched {
    from: u64,
    to: u64,
    logs: Vec<Log>,
    blocks: Vec<BlockRecord>,
}

impl Indexer {
    /// An indexer writing to `store`.
    #[must_use]
    pub fn new(store: Store, config: IndexerConfig) -> Self {
        let (updates, _) = broadcast::channel(1024);
        Self {
            rpc: RpcClient::new(&config.rpc_url),
            watched: Watched::new(&config.deployment.contracts),
            range: config.initial_range.max(1),
            store,
            config,
            updates,
            progress: Arc::default(),
        }
    }

    /// The RPC client (its counters feed the metrics).
    #[must_use]
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// Subscribes to updates.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// The sender side (for servers created before the indexer runs).
    #[must_use]
    pub fn updates(&self) -> broadcast::Sender<Update> {
        self.updates.clone()
    }

    /// Indexes until `stop` turns true.
    ///
    /// # Errors
    /// Wrong chain, a store failure, an RPC endpoint that keeps failing, or
    /// a reorg deeper than the window.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), IndexerError> {
        let chain_id = self.rpc.chain_id().await?;
        if chain_id != self.config.deployment.chain_id {
            return Err(IndexerError::WrongChain {
                expected: self.config.deployment.chain_id,
                actual: chain_id,
            });
        }
        let mut heads = self.connect_heads().await;
        let started = Instant::now();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let head = self.rpc.block_number().await?;
            self.progress.head.store(head, Ordering::Relaxed);
            self.check_reorg(head).await?;
            let target = head.saturating_sub(self.config.confirmations);
            let next = match self.store.own_checkpoint().await? {
                Some(cp) => cp.number + 1,
                None => self.config.deployment.deployment_block,
            };
            if next <= target {
                self.catch_up(next, target, &stop).await?;
                continue;
            }
            if self.progress.ready.swap(1, Ordering::Relaxed) == 0 {
                tracing::info!(
                    block = target,
                    events = self.progress.events.load(Ordering::Relaxed),
                    seconds = started.elapsed().as_secs_f64(),
                    "caught up"
                );
            }
            // Wait for a new head: the socket, or the poll interval.
            let wait = tokio::time::sleep(self.config.poll_interval);
            tokio::select! {
                () = wait => {
                    if heads.is_none() {
                        heads = self.connect_heads().await;
                    }
                }
                head = next_head(&mut heads) => {
                    if head.is_none() {
                        tracing::warn!("newHeads subscription dropped; polling until it reconnects");
                        heads = None;
                    }
                }
                _ = stop.changed() => {}
            }
        }
    }

    async fn connect_heads(&self) -> Option<futures::stream::BoxStream<'static, u64>> {
        let url = self.config.ws_url.clone()?;
        let provider = ProviderBuilder::new()
            .connect_ws(WsConnect::new(url))
            .await
            .ok()?;
        let subscription = provider.subscribe_blocks().await.ok()?;
        // Keep the provider alive as long as the stream.
        let stream = subscription.into_stream().map(move |header| {
            let _ = &provider;
            header.number
        });
        Some(stream.boxed())
    }

    /// Indexes `[from, to]` in adaptive ranges. Up to `concurrency` ranges
    /// are fetched while earlier ones are written, always in order; a range
    /// the provider refuses as too large ends the pipeline, which restarts
    /// from the first unwritten block with a smaller range.
    async fn catch_up(
        &mut self,
        from: u64,
        to: u64,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), IndexerError> {
        let mut report = Report::new(from, to, self.progress.events.load(Ordering::Relaxed));
        let mut next = from;
        while next <= to && !*stop.borrow() {
            let range = AtomicU64::new(self.range);
            match self.pipeline(next, to, &range, stop, &mut report).await? {
                Pipeline::Done { next: after } => next = after,
                Pipeline::TooLarge { next: after, hint } => {
                    next = after;
                    let current = range.load(Ordering::Relaxed);
                    let wanted = hint.map_or(current / 2, |end| end.saturating_sub(next) + 1);
                    range.store(
                        wanted.clamp(1, current.saturating_sub(1).max(1)),
                        Ordering::Relaxed,
                    );
                }
            }
            self.range = range.load(Ordering::Relaxed);
        }
        Ok(())
    }

    /// Fetches ranges from `from` on (their size read from `range` as each
    /// starts) and writes them in order until `to`, a stop, or a range
    /// refused as too large.
    async fn pipeline(
        &self,
        from: u64,
        to: u64,
        range: &AtomicU64,
        stop: &watch::Receiver<bool>,
        report: &mut Report,
    ) -> Result<Pipeline, IndexerError> {
        let concurrency = self.config.concurrency.max(1);
        let head = to;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
        let produce = async move {
            let mut in_flight = futures::stream::FuturesOrdered::new();
            let mut start = from;
            loop {
                while in_flight.len() < concurrency && start <= to {
                    let end = (start + range.load(Ordering::Relaxed).max(1) - 1).min(to);
                    in_flight.push_back(self.timed_fetch(start, end, head));
                    start = end + 1;
                }
                // The writer may leave early (error, stop): stop fetching.
                let fetched = tokio::select! {
                    fetched = in_flight.next() => fetched,
                    () = sender.closed() => None,
                };
                let Some(fetched) = fetched else { break };
                let failed = fetched.is_err();
                if sender.send(fetched).await.is_err() || failed {
                    break;
                }
            }
        };
        let consume = async move {
            let mut next = from;
            while let Some(fetched) = receiver.recv().await {
                let (fetched, took) = match fetched {
                    Ok(fetched) => fetched,
                    Err(IndexerError::Rpc(RpcError::RangeTooLarge { hint, .. })) => {
                        return Ok(Pipeline::TooLarge { next, hint });
                    }
                    Err(other) => return Err(other),
                };
                // Quick, small answers: ask for more blocks at once.
                let quick =
                    took < Duration::from_secs(2) && fetched.logs.len() < 20_000 / concurrency;
                let span = fetched.to + 1 - fetched.from;
                if let Some(written) = self.write(fetched).await? {
                    next = written + 1;
                }
                if quick {
                    let grown = (span * 2).min(self.config.max_range);
                    range.fetch_max(grown, Ordering::Relaxed);
                }
                report.tick(next, self.progress.events.load(Ordering::Relaxed));
                if *stop.borrow() {
                    break;
                }
            }
            Ok(Pipeline::Done { next })
        };
        let (outcome, ()) = tokio::join!(consume, produce);
        outcome
    }

    /// [`Self::fetch`], and how long it took.
    async fn timed_fetch(
        &self,
        from: u64,
        to: u64,
        head: u64,
    ) -> Result<(Fetched, Duration), IndexerError> {
        let started = Instant::now();
        let fetched = self.fetch(from, to, head).await?;
        Ok((fetched, started.elapsed()))
    }

    async fn fetch(&self, from: u64, to: u64, head: u64) -> Result<Fetched, IndexerError> {
        let logs = self.rpc.logs(&self.watched.addresses(), from, to).await?;
        // Headers for every block inside the reorg window (to find fork
        // points) and for the range's last block (the checkpoint). Older
        // blocks with logs take hash and time from their logs when the
        // provider includes `blockTimestamp` (saving a request per block).
        let window_start = head.saturating_sub(self.config.reorg_window);
        let mut from_logs: std::collections::BTreeMap<u64, BlockRecord> = Default::default();
        let mut numbers: Vec<u64> = (from.max(window_start)..=to).collect();
        if numbers.last() != Some(&to) {
            numbers.push(to);
        }
        for log in &logs {
            let Some(n) = log.block_number else { continue };
            match (
                n < window_start && n != to,
                log.block_hash,
                log.block_timestamp,
            ) {
                (true, Some(hash), Some(timestamp)) => {
                    from_logs.entry(n).or_insert_with(|| BlockRecord {
                        number: n,
                        hash: format!("{hash:#x}"),
                        parent_hash: String::new(),
                        timestamp,
                    });
                }
                _ => numbers.push(n),
            }
        }
        numbers.sort_unstable();
        numbers.dedup();
        numbers.retain(|n| !from_logs.contains_key(n));
        let blocks: Vec<Result<BlockRecord, RpcError>> = stream::iter(numbers)
            .map(|n| async move {
                let block = self.rpc.block(n).await?;
                Ok(BlockRecord {
                    number: n,
                    hash: format!("{:#x}", block.header.hash),
                    parent_hash: format!("{:#x}", block.header.parent_hash),
                    timestamp: block.header.timestamp,
                })
            })
            .buffered(8)
            .collect()
            .await;
        let mut blocks = blocks.into_iter().collect::<Result<Vec<_>, _>>()?;
        blocks.extend(from_logs.into_values());
        blocks.sort_by_key(|b| b.number);
        Ok(Fetched {
            from,
            to,
            logs,
            blocks,
        })
    }

    /// Writes one fetched range in a batch; returns the block it
    /// checkpointed (`None` when the range held no block).
    async fn write(&self, fetched: Fetched) -> Result<Option<u64>, IndexerError> {
        let chain_id = self.config.deployment.chain_id;
        let mut batch = self.store.begin(chain_id).await?;
        // Rows changed deeper than the reorg window never roll back.
        let head = self.progress.head.load(Ordering::Relaxed);
        batch.journal_from(head.saturating_sub(self.config.reorg_window));
        // Events go in together at commit; the stored ones are known first.
        batch.cover(fetched.from, fetched.to).await?;
        let mut new_events = Vec::new();
        let mut logs = fetched.logs.into_iter().peekable();
        let mut last = None;
        for block in &fetched.blocks {
            batch.block(block).await?;
            while let Some(log) = logs.next_if(|l| l.block_number == Some(block.number)) {
                let Some(source) = self.watched.source(&log.address()) else {
                    continue;
                };
                let primitive: &PrimitiveLog = &log.inner;
                let decoded = events::decode(source, primitive);
                let name = decoded.as_ref().map_or("Unknown", |(_, name)| *name);
                let Some(record) = record(&log, block, source, name) else {
                    continue;
                };
                if !batch.event(&record).await? {
                    continue;
                }
                if let Some((event, _)) = decoded {
                    let meta = Meta {
                        block: block.number,
                        log_index: record.log_index,
                        tx_hash: log.transaction_hash.unwrap_or_default(),
                        timestamp: block.timestamp,
                    };
                    project::apply(&mut batch, &meta, &event).await?;
                }
                new_events.push(record);
            }
            last = Some(block.clone());
        }
        let Some(last) = last else {
            batch.abort().await;
            return Ok(None);
        };
        debug_assert_eq!(last.number, fetched.to);
        batch.progress(
            self.progress.head.load(Ordering::Relaxed),
            self.progress.ready.load(Ordering::Relaxed) == 1,
        );
        let (count, changed) = batch.commit(&last).await?;
        self.progress.indexed.store(last.number, Ordering::Relaxed);
        self.progress.events.fetch_add(count, Ordering::Relaxed);
        tracing::debug!(
            from = fetched.from,
            to = fetched.to,
            events = count,
            "indexed"
        );
        let _ = self.updates.send(Update::Indexed {
            to: last.number,
            events: new_events,
            changed,
        });
        let keep_from = last.number.saturating_sub(self.config.reorg_window);
        // Every 64 blocks (a batch may cover many, so: when it crosses a
        // multiple of 64).
        if keep_from > 0 && fetched.from.saturating_sub(1) / 64 != last.number / 64 {
            self.store.prune_below(keep_from).await?;
        }
        Ok(Some(last.number))
    }

    /// If the stored checkpoint is no longer on the chain, finds the fork
    /// point among the stored recent blocks and rolls back to it.
    async fn check_reorg(&self, head: u64) -> Result<(), IndexerError> {
        let Some(checkpoint) = self.store.own_checkpoint().await? else {
            return Ok(());
        };
        if checkpoint.number > head {
            // The chain got shorter than what was indexed: a reorg too.
        } else {
            let hash = self.rpc.block_hash(checkpoint.number).await?;
            if format!("{hash:#x}") == checkpoint.hash {
                return Ok(());
            }
        }
        let recent = self
            .store
            .recent_blocks(self.config.reorg_window + 1)
            .await?;
        let mut fork = None;
        for (number, stored) in &recent {
            if *number > head {
                continue;
            }
            let hash = self.rpc.block_hash(*number).await?;
            if format!("{hash:#x}") == *stored {
                fork = Some(*number);
                break;
            }
        }
        let fork = match fork {
            Some(fork) => fork,
            None if recent.last().map_or(0, |(n, _)| *n)
                <= self.config.deployment.deployment_block =>
            {
                self.config.deployment.deployment_block.saturating_sub(1)
            }
            None if self.config.reindex_after_deep_reorg => {
                tracing::warn!(
                    window = self.config.reorg_window,
                    "the chain lost more blocks than the index can roll back (a reset or \
                     restored chain): indexing it again from the deployment block"
                );
                let fork = self.config.deployment.deployment_block.saturating_sub(1);
                self.store.reset(fork).await?;
                self.progress.indexed.store(fork, Ordering::Relaxed);
                // Everything above the fork is gone: subscribers re-read.
                let _ = self.updates.send(Update::Removed {
                    fork,
                    events: Vec::new(),
                    changed: Vec::new(),
                });
                return Ok(());
            }
            None => return Err(IndexerError::ReorgTooDeep(self.config.reorg_window)),
        };
        tracing::warn!(fork, checkpoint = checkpoint.number, "reorg: rolling back");
        let (events, changed) = self.store.rollback_to(fork).await?;
        self.progress.indexed.store(fork, Ordering::Relaxed);
        let _ = self.updates.send(Update::Removed {
            fork,
            events,
            changed,
        });
        Ok(())
    }
}

/// The raw event row of `log`, emitted by `source` and named `name`.
fn record(log: &Log, block: &BlockRecord, source: Source, name: &str) -> Option<EventRecord> {
    let topics: Vec<String> = log.topics().iter().map(|t| format!("{t:#x}")).collect();
    Some(EventRecord {
        block_number: block.number,
        log_index: log.log_index?,
        block_hash: format!("{:#x}", log.block_hash.unwrap_or_default()),
        tx_hash: format!("{:#x}", log.transaction_hash.unwrap_or_default()),
        address: format!("{:#x}", log.address()),
        contract: source.name().to_owned(),
        name: name.to_owned(),
        topics: serde_json::to_string(&topics).unwrap_or_default(),
        data: format!("{}", log.data().data),
        timestamp: block.timestamp,
    })
}

async fn next_head(heads: &mut Option<futures::stream::BoxStream<'static, u64>>) -> Option<u64> {
    match heads {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
