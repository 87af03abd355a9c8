//! What subscribers hear after each committed batch, and how it reaches
//! API servers in other processes.
//!
//! The indexer hands every [`Update`] to its in-process subscribers. With
//! PostgreSQL it also appends the update to the `updates` table inside the
//! batch's own transaction and sends `NOTIFY pond_updates` there, so an
//! update is published exactly when (and only if) its rows commit. Other
//! API servers on the same database run [`listen`]: `LISTEN pond_updates`,
//! then read every update after the last one they saw, in commit order.
//! The read also runs every second without a notification, so a dropped
//! listener connection loses nothing.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row as _};
use tokio::sync::{broadcast, watch};

use crate::{
    follow::Progress,
    store::{rows, Changed, EventRecord, Row, Store, StoreError, Val},
};

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "pond_updates";

/// Updates kept in the `updates` table for listeners that fell behind.
const KEEP: i64 = 10_000;

/// What subscribers hear after each committed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Update {
    /// Blocks up to `to` were indexed.
    Indexed {
        /// Last block.
        to: u64,
        /// New events in order.
        events: Vec<EventRecord>,
        /// Every row change, in order: a row changed by several events
        /// appears once per change, its last image being the stored one.
        changed: Vec<Changed>,
    },
    /// A reorg removed everything above `fork`.
    Removed {
        /// The fork point (kept).
        fork: u64,
        /// Removed events, oldest first.
        events: Vec<EventRecord>,
        /// Rows as restored.
        changed: Vec<Changed>,
    },
}

/// An update as stored, with the indexer's view of the chain head.
#[derive(Serialize, Deserialize)]
struct Published {
    update: Update,
    /// The head the indexer had seen (0: unknown).
    head: u64,
    /// The indexer had caught up at least once.
    ready: bool,
}

/// Appends `update` to the `updates` table and notifies listeners, inside
/// the caller's open PostgreSQL transaction (delivered on commit).
pub(crate) async fn publish(
    conn: &mut AnyConnection,
    update: Update,
    head: u64,
    ready: bool,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&Published {
        update,
        head,
        ready,
    })
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let seq: i64 = sqlx::query("INSERT INTO updates (payload) VALUES ($1) RETURNING seq")
        .bind(payload)
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(seq.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets all but the last [`KEEP`] published updates.
pub(crate) async fn prune(conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM updates WHERE seq < (SELECT COALESCE(MAX(seq), 0) FROM updates) - $1")
        .bind(KEEP)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Why listening failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Only PostgreSQL carries notifications between processes.
    #[error("updates travel between processes only through PostgreSQL")]
    NotPostgres,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener connection failed.
    #[error("listener: {0}")]
    Listener(#[from] sqlx::Error),
}

/// Relays the updates another process's indexer publishes to `updates`,
/// in commit order, and keeps `progress` (indexed block, head, readiness)
/// in step, until `stop` turns true. Starts from the current end of the
/// feed: updates published before the call are not replayed.
///
/// # Errors
/// The store is not PostgreSQL, or it fails at the start.
pub async fn listen(
    store: Store,
    updates: broadcast::Sender<Update>,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, FeedError> {
    let Some(url) = store.postgres_url() else {
        return Err(FeedError::NotPostgres);
    };
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    let mut last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM updates")
        .fetch_one(store.reader())
        .await
        .map_err(StoreError::from)?
        .get(0);
    if let Some(checkpoint) = store.checkpoint().await? {
        progress.indexed.store(checkpoint.number, Ordering::Relaxed);
    }
    if let Some(published) = read_after(&store, last - 1, 1).await?.pop() {
        note_progress(&progress, &published.1);
    }
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                received = tokio::time::timeout(Duration::from_secs(1), listener.recv()) => {
                    if let Ok(Err(error)) = received {
                        // PgListener reconnects on the next recv; the read
                        // below catches up on whatever was missed.
                        tracing::warn!(%error, "update listener");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            loop {
                let published = match read_after(&store, last, 500).await {
                    Ok(published) => published,
                    Err(error) => {
                        tracing::warn!(%error, "reading published updates");
                        break;
                    }
                };
                let Some(&(seq, _)) = published.last() else {
                    break;
                };
                for (_, published) in published {
                    note_progress(&progress, &published);
                    let _ = updates.send(published.update);
                }
                last = seq;
            }
        }
    }))
}

fn note_progress(progress: &Progress, published: &Published) {
    let indexed = match &published.update {
        Update::Indexed { to, .. } => *to,
        Update::Removed { fork, .. } => *fork,
    };
    progress.indexed.store(indexed, Ordering::Relaxed);
    if published.head > 0 {
        progress
            .head
            .store(published.head.max(indexed), Ordering::Relaxed);
    }
    if published.ready {
        progress.ready.store(1, Ordering::Relaxed);
    }
}

async fn read_after(
    store: &Store,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Published)>, StoreError> {
    let rows = sqlx::query("SELECT seq, payload FROM updates WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(store.reader())
        .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.get(1);
            let published: Published = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("published update: {e}")))?;
            Ok((row.get(0), published))
        })
        .collect()
}

/// [`Changed`] on the wire: the table by name.
#[derive(Serialize, Deserialize)]
struct ChangedWire {
    table: String,
    key: Vec<Val>,
    row: Option<Row>,
    #[serde(default)]
    removed: Option<Row>,
}

impl Serialize for Changed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ChangedWire {
            table: self.table.to_owned(),
            key: self.key.clone(),
            row: self.row.clone(),
            removed: self.removed.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Changed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ChangedWire::deserialize(deserializer)?;
        let table = rows::table(&wire.table)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown table {}", wire.table)))?;
        Ok(Self {
            table: table.name,
            key: wire.key,
            row: wire.row,
            removed: wire.removed,
        })
    }
}
