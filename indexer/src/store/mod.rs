//! Storage: SQLite (the embedded default: one file, WAL, one writer
//! connection and a read pool) or PostgreSQL (chosen by a `postgres://`
//! URL; several read-only API servers can share one database).
//!
//! Both backends run the same SQL through sqlx's `Any` driver, with their
//! own embedded migrations. Every write of a batch happens in one
//! transaction with the checkpoint that covers it, raw events are keyed by
//! (chain id, block, log index), and every projection write records the
//! row's previous image in the journal, so a reorg rolls back exactly the
//! rows written above the fork point on either backend.

mod budget;
pub mod query;
pub mod rows;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions, AnyRow},
    AnyConnection, AnyPool, Executor as _, Row as _,
};

pub use budget::ReadBudget;
pub use query::{Filter, Op, Order, PageQuery, PageRows, Plan, Statements};
pub use rows::{Row, Table, Val, TABLES};

use crate::feed::{self, Update};

/// Which database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0} (use sqlite://FILE or postgres://…)")]
    UnsupportedUrl(String),
    /// The database answered with an error.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value has the wrong shape.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A query named a column its table does not have.
    #[error("no such column: {0}")]
    UnknownColumn(String),
    /// A bounded read found more than it may hold in memory.
    #[error("the rows asked for hold more than {limit} bytes")]
    TooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// A list asked for an order no index of its table has (the API
    /// offers only orders that have one).
    #[error("no index of {table} is ordered by {column}")]
    Unindexed {
        /// The table.
        table: &'static str,
        /// The order column.
        column: &'static str,
    },
    /// The database belongs to another chain.
    #[error("database indexes chain {stored}, not {requested}")]
    WrongChain {
        /// Chain in the database.
        stored: u64,
        /// Chain requested.
        requested: u64,
    },
}

/// The longest one read may run: PostgreSQL cancels it then, and the
/// GraphQL API gives a request no longer.
pub const MAX_READ_TIME: std::time::Duration = std::time::Duration::from_secs(10);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The checkpoint: the last block whose events are all stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Chain id.
    pub chain_id: u64,
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: String,
}

/// A block of the batch being written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// Number.
    pub number: u64,
    /// Hash (0x-hex).
    pub hash: String,
    /// Parent hash.
    pub parent_hash: String,
    /// Timestamp.
    pub timestamp: u64,
}

/// A raw event row.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    /// Block number.
    pub block_number: u64,
    /// Index of the log in its block.
    pub log_index: u64,
    /// Block hash.
    pub block_hash: String,
    /// Transaction hash.
    pub tx_hash: String,
    /// Emitting contract address.
    pub address: String,
    /// Contract name.
    pub contract: String,
    /// Event name.
    pub name: String,
    /// Topics, JSON array of 0x-hex.
    pub topics: String,
    /// Data, 0x-hex.
    pub data: String,
    /// Block timestamp.
    pub timestamp: u64,
}

impl EventRecord {
    /// The record a row of [`rows::EVENTS`] holds (as [`Store::page`]
    /// reads it).
    #[must_use]
    pub fn from_row(row: &Row) -> Self {
        let int = |c: &str| uint(row.get(c).and_then(Val::int).unwrap_or_default());
        let text = |c: &str| {
            row.get(c)
                .and_then(Val::text)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            block_number: int("block_number"),
            log_index: int("log_index"),
            block_hash: text("block_hash"),
            tx_hash: text("tx_hash"),
            address: text("address"),
            contract: text("contract"),
            name: text("name"),
            topics: text("topics"),
            data: text("data"),
            timestamp: int("timestamp"),
        }
    }

    /// What the record holds, in bytes: its texts' lengths, 8 per number.
    #[must_use]
    pub fn size(&self) -> usize {
        [
            &self.block_hash,
            &self.tx_hash,
            &self.address,
            &self.contract,
            &self.name,
            &self.topics,
            &self.data,
        ]
        .iter()
        .map(|t| t.len())
        .fold(24, usize::saturating_add)
    }
}

/// A projection row that changed, for subscribers.
/// (Serialized with the table by name; see `feed`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    /// Table.
    pub table: &'static str,
    /// Key values.
    pub key: Vec<Val>,
    /// The row now (`None`: deleted).
    pub row: Option<Row>,
    /// When a reorg's rollback deleted the row: its last image before
    /// (so subscribers can be told what is gone).
    pub removed: Option<Row>,
}

/// The store.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// The PostgreSQL URL (for notification listeners).
    postgres_url: Option<String>,
    writer: AnyPool,
    reader: AnyPool,
    /// Each projection table's columns, as the migrated database has them.
    columns: Arc<HashMap<&'static str, Vec<String>>>,
}

async fn checkpoint_from(pool: &AnyPool) -> Result<Option<Checkpoint>, StoreError> {
    let row = sqlx::query("SELECT chain_id, block_number, block_hash FROM checkpoint WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| Checkpoint {
        chain_id: uint(r.get(0)),
        number: uint(r.get(1)),
        hash: r.get(2),
    }))
}

/// Ends a transaction begun by [`Store::begin_write`]: commits when
/// `result` is a success, rolls back (best effort: the connection is
/// dropped either way) when it is not.
async fn finish_write<T>(
    mut conn: AnyConnection,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(done) => {
            sqlx::query("COMMIT").execute(&mut conn).await?;
            Ok(done)
        }
        Err(error) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
            Err(error)
        }
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

impl Store {
    /// Opens (and migrates) the database at `url`: `sqlite://FILE` (created
    /// if missing), `sqlite::memory:`, or `postgres://…`.
    ///
    /// # Errors
    /// Unsupported URL, connection or migration failure.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let store = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') || url.contains(":memory:") {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options: AnyConnectOptions = url.parse()?;
                // One writer; readers in WAL mode never block it.
                let writer = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA synchronous = NORMAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA busy_timeout = 5000")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
                    .await?;
                SQLITE_MIGRATIONS.run(&writer).await?;
                let reader = if url.contains(":memory:") {
                    writer.clone()
                } else {
                    AnyPoolOptions::new()
                        .max_connections(8)
                        // A ping per acquire doubles a point query's cost;
                        // a broken connection fails its query instead.
                        .test_before_acquire(false)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                sqlx::query("PRAGMA busy_timeout = 5000")
                                    .execute(&mut *conn)
                                    .await?;
                                Ok(())
                            })
                        })
                        .connect_with(options)
                        .await?
                };
                Self {
                    backend,
                    postgres_url: None,
                    writer,
                    reader,
                    columns: Arc::default(),
                }
            }
            Backend::Postgres => {
                // The writer has connections of its own: however many
                // queries wait for a reader, indexing never waits for them.
                let writer = AnyPoolOptions::new()
                    .max_connections(2)
                    .test_before_acquire(false)
                    .connect(url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&writer).await?;
                let reader = AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // The server itself cancels a read that outlives
                            // every reader's deadline, even one whose client
                            // went away.
                            let limit = MAX_READ_TIME.as_millis();
                            sqlx::query(&format!("SET statement_timeout = {limit}"))
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                Self {
                    backend,
                    postgres_url: Some(url.to_owned()),
                    writer,
                    reader,
                    columns: Arc::default(),
                }
            }
        };
        let mut columns = HashMap::new();
        let mut conn = store.writer.acquire().await?;
        for table in TABLES.into_iter().chain([&rows::EVENTS]) {
            let described = conn
                .describe(&format!("SELECT * FROM {}", table.name))
                .await?;
            let names = described
                .columns()
                .iter()
                .map(|c| sqlx::Column::name(c).to_owned())
                .collect();
            columns.insert(table.name, names);
        }
        drop(conn);
        Ok(Self {
            columns: Arc::new(columns),
            ..store
        })
    }

    /// `table`'s columns, in the database's order.
    #[must_use]
    pub fn columns(&self, table: &Table) -> &[String] {
        self.columns.get(table.name).map_or(&[], Vec::as_slice)
    }

    /// The backend.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL URL, if this store is one.
    #[must_use]
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }

    /// The read pool (queries).
    #[must_use]
    pub fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The checkpoint, if anything was indexed.
    ///
    /// # Errors
    /// Database failure.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        checkpoint_from(&self.reader).await
    }

    /// [`Store::checkpoint`] read on the writer's connections: the
    /// indexer's own reads never wait for the API's readers.
    pub(crate) async fn own_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        checkpoint_from(&self.writer).await
    }

    /// The stored hashes of the most recent `limit` blocks, newest first.
    ///
    /// # Errors
    /// Database failure.
    pub async fn recent_blocks(&self, limit: u64) -> Result<Vec<(u64, String)>, StoreError> {
        // On the writer's connections: the indexer asks, and must not wait
        // for the API's readers.
        let rows = sqlx::query("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT $1")
            .bind(int(limit))
            .fetch_all(&self.writer)
            .await?;
        Ok(rows.iter().map(|r| (uint(r.get(0)), r.get(1))).collect())
    }

    /// Starts a batch: one transaction that ends with [`Batch::commit`].
    ///
    /// # Errors
    /// Database failure.
    pub async fn begin(&self, chain_id: u64) -> Result<Batch, StoreError> {
        let mut conn = self.begin_write().await?;
        if let Some(stored) = sqlx::query("SELECT chain_id FROM checkpoint WHERE id = 1")
            .fetch_optional(&mut conn)
            .await?
        {
            let stored = uint(stored.get(0));
            if stored != chain_id {
                let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
                return Err(StoreError::WrongChain {
                    stored,
                    requested: chain_id,
                });
            }
        }
        Ok(Batch {
            conn,
            publish: self.backend == Backend::Postgres,
            new_events: Vec::new(),
            head: 0,
            ready: false,
            chain_id,
            cache: HashMap::new(),
            changes: 0,
            superseded: Vec::new(),
            touched: HashSet::new(),
            journal: Vec::new(),
            journal_from: 0,
            stored: None,
            pending: Vec::new(),
            block: 0,
            events: 0,
        })
    }

    /// Rolls back everything above block `number` (a reorg's fork point):
    /// projection rows from the journal, raw events, block hashes, and the
    /// checkpoint. Returns the removed events, oldest first, and the rows
    /// as they are after the rollback.
    ///
    /// # Errors
    /// Database failure.
    pub async fn rollback_to(
        &self,
        number: u64,
    ) -> Result<(Vec<EventRecord>, Vec<Changed>), StoreError> {
        let mut conn = self.begin_write().await?;
        let mut result = rollback(&mut conn, number).await;
        if let (Ok((events, changed)), Backend::Postgres) = (&result, self.backend) {
            let update = Update::Removed {
                fork: number,
                events: events.clone(),
                changed: changed.clone(),
            };
            if let Err(error) = feed::publish(&mut conn, update, 0, false).await {
                result = Err(error);
            }
        }
        finish_write(conn, result).await
    }

    /// Empties the index (every projection row, raw event, block hash,
    /// journal entry and the checkpoint), in one transaction: the chain it
    /// followed is gone (a reset or restored chain that lost more blocks
    /// than a rollback can undo), and it is indexed again from the start.
    /// On PostgreSQL the same transaction tells other API servers
    /// (`LISTEN/NOTIFY`) that everything above `fork` is removed.
    ///
    /// # Errors
    /// Database failure (then nothing is removed).
    pub async fn reset(&self, fork: u64) -> Result<(), StoreError> {
        let mut conn = self.begin_write().await?;
        let mut emptied: Result<(), StoreError> = Ok(());
        let tables = rows::TABLES.iter().map(|t| t.name).chain([
            "events",
            "blocks",
            "journal",
            "checkpoint",
        ]);
        for table in tables {
            // Names from this crate's own list, never from input.
            if let Err(e) = sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut conn)
                .await
            {
                emptied = Err(e.into());
                break;
            }
        }
        if emptied.is_ok() && self.backend == Backend::Postgres {
            let update = Update::Removed {
                fork,
                events: Vec::new(),
                changed: Vec::new(),
            };
            emptied = feed::publish(&mut conn, update, 0, false).await;
        }
        finish_write(conn, emptied).await
    }

    /// A writer connection, detached from the pool, inside a transaction
    /// that holds the write lock from its start (`BEGIN IMMEDIATE` on
    /// SQLite, so a reader's upgrade can never deadlock it).
    async fn begin_write(&self) -> Result<AnyConnection, StoreError> {
        let mut conn = self.writer.acquire().await?.detach();
        sqlx::query(if self.backend == Backend::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        })
        .execute(&mut conn)
        .await?;
        Ok(conn)
    }

    /// Forgets journal entries and block hashes below `number` (older than
    /// any reorg the indexer will handle).
    ///
    /// # Errors
    /// Database failure.
    pub async fn prune_below(&self, number: u64) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            feed::prune(&mut *self.writer.acquire().await?).await?;
        }
        sqlx::query("DELETE FROM journal WHERE block_number < $1")
            .bind(int(number))
            .execute(&self.writer)
            .await?;
        sqlx::query("DELETE FROM blocks WHERE number < $1")
            .bind(int(number))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Raw events in order, after (block, log index) `after`, at most `limit`.
    ///
    /// # Errors
    /// Database failure.
    pub async fn events_after(
        &self,
        after: (u64, u64),
        limit: u64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT block_number, log_index, block_hash, tx_hash, address, contract, name, topics, data, timestamp \
             FROM events WHERE block_number > $1 OR (block_number = $1 AND log_index > $2) \
             ORDER BY block_number, log_index LIMIT $3",
        )
        .bind(int(after.0))
        .bind(int(after.1))
        .bind(int(limit))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(event_record).collect())
    }

    /// One projection row by key.
    ///
    /// # Errors
    /// Database failure.
    pub async fn row(&self, table: &Table, key: &[Val]) -> Result<Option<Row>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        load(&mut conn, table, key).await
    }

    /// Every row of `table` in key order (tests and checksums).
    ///
    /// # Errors
    /// Database failure.
    pub async fn all_rows(&self, table: &Table) -> Result<Vec<Row>, StoreError> {
        let order = table.key.join(", ");
        let rows = sqlx::query(&format!("SELECT * FROM {} ORDER BY {order}", table.name))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| decode_row(table, r)).collect()
    }

    /// Rows of `table` matching `conditions` (SQL with `$1…` placeholders
    /// bound to `binds` in order), ordered by `order`, at most `limit`.
    /// Callers build `conditions` and `order` from fixed column names only.
    ///
    /// # Errors
    /// Database failure.
    pub async fn select(
        &self,
        table: &Table,
        conditions: &[String],
        binds: &[Val],
        order: &str,
        limit: u64,
    ) -> Result<Vec<Row>, StoreError> {
        let read = Read::unbounded(order, limit);
        self.select_from(table, None, conditions, binds, read).await
    }

    /// [`Store::select`] reading only `columns` when given (each one of
    /// [`Store::columns`]), each row taken from `budget` as it streams in
    /// ([`row_size`]): the read stops with [`StoreError::TooLarge`] as soon
    /// as the budget is spent, so memory stays bounded whatever the rows
    /// hold, however many reads share the budget.
    ///
    /// # Errors
    /// [`StoreError::TooLarge`]; [`StoreError::UnknownColumn`]; database
    /// failure.
    #[allow(clippy::too_many_arguments)]
    pub async fn select_bounded(
        &self,
        table: &Table,
        columns: Option<&[&str]>,
        conditions: &[String],
        binds: &[Val],
        order: &str,
        limit: u64,
        budget: &ReadBudget,
    ) -> Result<Vec<Row>, StoreError> {
        if let Some(columns) = columns {
            self.check_columns(table, columns)?;
        }
        let read = Read {
            order,
            limit,
            offset: 0,
            budget: Some(budget),
        };
        self.select_from(table, columns, conditions, binds, read)
            .await
    }

    fn check_columns(&self, table: &Table, columns: &[&str]) -> Result<(), StoreError> {
        let known = self.columns(table);
        match columns.iter().find(|c| !known.iter().any(|k| k == *c)) {
            Some(unknown) => Err(StoreError::UnknownColumn(format!(
                "{}.{unknown}",
                table.name
            ))),
            None => Ok(()),
        }
    }

    /// [`Store::select`] reading only `columns` (each one of
    /// [`Store::columns`]): rows then hold just those.
    ///
    /// # Errors
    /// [`StoreError::UnknownColumn`] for a column the table lacks;
    /// database failure.
    pub async fn select_columns(
        &self,
        table: &Table,
        columns: &[&str],
        conditions: &[String],
        binds: &[Val],
        order: &str,
        limit: u64,
    ) -> Result<Vec<Row>, StoreError> {
        self.check_columns(table, columns)?;
        let read = Read::unbounded(order, limit);
        self.select_from(table, Some(columns), conditions, binds, read)
            .await
    }

    /// The row at position `n` (from 0) of [`Store::select`]'s order: a
    /// median or percentile without reading the rows before it.
    ///
    /// # Errors
    /// Database failure.
    pub async fn select_nth(
        &self,
        table: &Table,
        conditions: &[String],
        binds: &[Val],
        order: &str,
        n: u64,
    ) -> Result<Option<Row>, StoreError> {
        let read = Read {
            offset: n,
            ..Read::unbounded(order, 1)
        };
        Ok(self
            .select_from(table, None, conditions, binds, read)
            .await?
            .pop())
    }

    async fn select_from(
        &self,
        table: &Table,
        columns: Option<&[&str]>,
        conditions: &[String],
        binds: &[Val],
        read: Read<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        use futures::TryStreamExt as _;
        let Read {
            order,
            limit,
            offset,
            budget,
        } = read;
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let columns = columns.map_or_else(|| "*".to_owned(), |c| c.join(", "));
        let sql = format!(
            "SELECT {columns} FROM {}{filter} ORDER BY {order} LIMIT {} OFFSET {offset}",
            table.name,
            limit.min(10_000)
        );
        let mut query = sqlx::query(&sql);
        for value in binds {
            query = match value {
                Val::Int(v) => query.bind(*v),
                Val::Text(v) => query.bind(v.clone()),
                Val::Null => query.bind(None::<String>),
            };
        }
        // Streamed, so a bounded read stops at its bound instead of
        // holding every row first.
        let mut stream = query.fetch(&self.reader);
        let mut rows = Vec::new();
        while let Some(r) = stream.try_next().await? {
            let row = decode_row(table, &r)?;
            if let Some(budget) = budget {
                budget.take(row_size(&row))?;
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// One page of a list, read as its [`Plan`] says: at most one row
    /// more than the page without residual filters, at most
    /// [`query::SCAN_ROWS`] with them (then [`PageRows::resume`] says where
    /// the walk stopped). Each row returned is taken from `budget` as it
    /// streams in.
    ///
    /// # Errors
    /// [`StoreError::Unindexed`]; [`StoreError::UnknownColumn`];
    /// [`StoreError::TooLarge`] once `budget` is spent; database failure.
    pub async fn page(
        &self,
        table: &Table,
        query: &PageQuery<'_>,
        budget: &ReadBudget,
    ) -> Result<PageRows, StoreError> {
        let statements = self.planned(table, query)?;
        if statements.bound.is_none() {
            let mut conn = self.reader.acquire().await?;
            return read_page(&mut conn, table, &statements, query.first, budget).await;
        }
        // The page and its bound read one snapshot. sqlx's transaction
        // rolls back if this future is dropped (a request's deadline), so
        // no connection goes back to the pool inside one.
        let mut tx = self.reader.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let found = read_page(&mut tx, table, &statements, query.first, budget).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The database's plan for [`Store::page`]'s statements, one line per
    /// step (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN` with
    /// sequential scans and sorts priced out, so a plan that still has one
    /// has no index to use instead).
    ///
    /// # Errors
    /// As [`Store::page`].
    pub async fn explain_page(
        &self,
        table: &Table,
        query: &PageQuery<'_>,
    ) -> Result<Vec<String>, StoreError> {
        let Statements { page, binds, bound } = self.planned(table, query)?;
        // In a transaction that is never committed: the settings below are
        // local to it, so the pooled connection comes back as it was
        // whatever happens here.
        let mut tx = self.reader.begin().await?;
        if self.backend == Backend::Postgres {
            for setting in [
                "enable_seqscan = off",
                "enable_sort = off",
                "enable_incremental_sort = off",
                "enable_bitmapscan = off",
                // As a statement is planned once it has run a few times:
                // for any values.
                "plan_cache_mode = force_generic_plan",
            ] {
                sqlx::query(&format!("SET LOCAL {setting}"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let (explain, column) = match self.backend {
            Backend::Sqlite => ("EXPLAIN QUERY PLAN", 3),
            Backend::Postgres => ("EXPLAIN", 0),
        };
        let statements = std::iter::once((page, binds.len()))
            .chain(bound)
            .collect::<Vec<_>>();
        let mut lines = Vec::new();
        for (sql, used) in statements {
            let sql = format!("{explain} {sql}");
            let mut statement = sqlx::query(&sql);
            for value in binds.iter().take(used) {
                statement = bind(statement, value);
            }
            for row in statement.fetch_all(&mut *tx).await? {
                lines.push(row.try_get::<String, _>(column)?);
            }
        }
        tx.rollback().await?;
        Ok(lines)
    }

    fn planned(&self, table: &Table, query: &PageQuery<'_>) -> Result<Statements, StoreError> {
        if let Some(columns) = query.columns {
            self.check_columns(table, columns)?;
        }
        let plan = Plan::new(table, query).ok_or(StoreError::Unindexed {
            table: table.name,
            column: query.order.column,
        })?;
        Ok(plan.statements(
            table,
            query,
            self.columns(table),
            self.backend == Backend::Postgres,
        ))
    }

    /// The stored block `number`: (hash, timestamp).
    ///
    /// # Errors
    /// Database failure.
    pub async fn block(&self, number: u64) -> Result<Option<(String, u64)>, StoreError> {
        let row = sqlx::query("SELECT hash, timestamp FROM blocks WHERE number = $1")
            .bind(int(number))
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| (r.get(0), uint(r.get(1)))))
    }

    /// `(value, count)` of `column` in `table` (statistics).
    ///
    /// # Errors
    /// Database failure.
    pub async fn count_by(
        &self,
        table: &Table,
        column: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM {} GROUP BY {column} ORDER BY {column}",
            table.name
        );
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<Option<String>, _>(0).unwrap_or_default(),
                    uint(r.get(1)),
                )
            })
            .collect())
    }

    /// Number of raw events.
    ///
    /// # Errors
    /// Database failure.
    pub async fn event_count(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(&self.reader)
            .await?;
        Ok(uint(row.get(0)))
    }
}

/// How [`Store::select_from`] reads: order, window and byte budget.
struct Read<'a> {
    order: &'a str,
    limit: u64,
    offset: u64,
    budget: Option<&'a ReadBudget>,
}

impl<'a> Read<'a> {
    fn unbounded(order: &'a str, limit: u64) -> Self {
        Self {
            order,
            limit,
            offset: 0,
            budget: None,
        }
    }
}

/// What a row holds, in bytes: each text's length, 8 per other value.
#[must_use]
pub fn row_size(row: &Row) -> usize {
    row.values()
        .map(|v| v.text().map_or(8, str::len))
        .fold(0, usize::saturating_add)
}

fn event_record(r: &AnyRow) -> EventRecord {
    EventRecord {
        block_number: uint(r.get(0)),
        log_index: uint(r.get(1)),
        block_hash: r.get(2),
        tx_hash: r.get(3),
        address: r.get(4),
        contract: r.get(5),
        name: r.get(6),
        topics: r.get(7),
        data: r.get(8),
        timestamp: uint(r.get(9)),
    }
}

/// Reads a page's rows on `conn` ([`Store::page`]): at most `first`,
/// whether more follow, and where a walk cut short stopped.
async fn read_page(
    conn: &mut AnyConnection,
    table: &Table,
    statements: &Statements,
    first: u64,
    budget: &ReadBudget,
) -> Result<PageRows, StoreError> {
    use futures::TryStreamExt as _;
    let Statements { page, binds, bound } = statements;
    let mut statement = sqlx::query(page);
    for value in binds {
        statement = bind(statement, value);
    }
    let mut found = PageRows::default();
    {
        let mut stream = statement.fetch(&mut *conn);
        while let Some(r) = stream.try_next().await? {
            let row = decode_row(table, &r)?;
            budget.take(row_size(&row))?;
            found.rows.push(row);
        }
    }
    if found.rows.len() as u64 > first {
        found.rows.pop();
        found.more = true;
    } else if let Some((sql, used)) = bound {
        // Too few rows passed: if the walk went as far as it may, more
        // may follow where it stopped.
        let mut statement = sqlx::query(sql);
        for value in binds.iter().take(*used) {
            statement = bind(statement, value);
        }
        if let Some(r) = statement.fetch_optional(&mut *conn).await? {
            found.more = true;
            found.resume = Some(decode_row(table, &r)?);
        }
    }
    Ok(found)
}

/// `value` bound to `statement`'s next placeholder.
fn bind<'q>(
    statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    value: &Val,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Val::Int(v) => statement.bind(*v),
        Val::Text(v) => statement.bind(v.clone()),
        Val::Null => statement.bind(None::<String>),
    }
}

fn decode_row(table: &Table, r: &AnyRow) -> Result<Row, StoreError> {
    let mut row = Row::new();
    for (i, column) in r.columns().iter().enumerate() {
        use sqlx::Column as _;
        let name = column.name();
        // By position: a lookup by name per value costs more than the value.
        let value = if table.is_int(name) {
            r.try_get::<Option<i64>, _>(i)?.into()
        } else {
            r.try_get::<Option<String>, _>(i)?.into()
        };
        row.insert(name.to_owned(), value);
    }
    Ok(row)
}

fn key_json(key: &[Val]) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

fn bind_val<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    table: &Table,
    column: &str,
    value: &Val,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Val::Int(v) => query.bind(*v),
        Val::Text(v) => query.bind(v.clone()),
        Val::Null if table.is_int(column) => query.bind(None::<i64>),
        Val::Null => query.bind(None::<String>),
    }
}

async fn load(
    conn: &mut AnyConnection,
    table: &Table,
    key: &[Val],
) -> Result<Option<Row>, StoreError> {
    let condition: Vec<String> = table
        .key
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", i + 1))
        .collect();
    let sql = format!(
        "SELECT * FROM {} WHERE {}",
        table.name,
        condition.join(" AND ")
    );
    let mut query = sqlx::query(&sql);
    for (column, value) in table.key.iter().zip(key) {
        query = bind_val(query, table, column, value);
    }
    let row = query.fetch_optional(&mut *conn).await?;
    row.map(|r| decode_row(table, &r)).transpose()
}

async fn write(
    conn: &mut AnyConnection,
    table: &Table,
    key: &[Val],
    row: Option<&Row>,
) -> Result<(), StoreError> {
    match row {
        None => {
            let condition: Vec<String> = table
                .key
                .iter()
                .enumerate()
                .map(|(i, column)| format!("{column} = ${}", i + 1))
                .collect();
            let sql = format!(
                "DELETE FROM {} WHERE {}",
                table.name,
                condition.join(" AND ")
            );
            let mut query = sqlx::query(&sql);
            for (column, value) in table.key.iter().zip(key) {
                query = bind_val(query, table, column, value);
            }
            query.execute(&mut *conn).await?;
        }
        Some(row) => {
            let columns: Vec<&str> = row.keys().map(String::as_str).collect();
            upsert_rows(conn, table, &columns, &[row]).await?;
        }
    }
    Ok(())
}

/// Numbered bind parameters per multi-row statement (PostgreSQL). Numbered
/// parameters on SQLite bind in quadratic time; see [`Placeholders`].
const MAX_PARAMS: usize = 999;

/// Inserts raw events in multi-row statements, skipping any already stored;
/// returns how many were new.
async fn insert_events(
    conn: &mut AnyConnection,
    chain_id: u64,
    events: &[EventRecord],
) -> Result<u64, StoreError> {
    const COLUMNS: usize = 11;
    let style = Placeholders::of(conn);
    let mut inserted = 0;
    for chunk in events.chunks(style.max_params() / COLUMNS) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| style.row(r * COLUMNS, COLUMNS))
            .collect();
        let sql = format!(
            "INSERT INTO events (chain_id, block_number, log_index, block_hash, tx_hash, address, contract, name, topics, data, timestamp) VALUES {} \
             ON CONFLICT (chain_id, block_number, log_index) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(int(chain_id))
                .bind(int(e.block_number))
                .bind(int(e.log_index))
                .bind(e.block_hash.clone())
                .bind(e.tx_hash.clone())
                .bind(e.address.clone())
                .bind(e.contract.clone())
                .bind(e.name.clone())
                .bind(e.topics.clone())
                .bind(e.data.clone())
                .bind(int(e.timestamp));
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// How a multi-row statement names its parameters.
#[derive(Clone, Copy)]
enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` in order (SQLite). SQLite finds a numbered parameter's
    /// name with a linear scan, so binding `$N`s costs the square of their
    /// count; anonymous ones bind in order.
    Anonymous,
}

impl Placeholders {
    fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "SQLite" {
            Self::Anonymous
        } else {
            Self::Numbered
        }
    }

    /// Parameters per statement (SQLite allows 32 766). 30 000 numbered
    /// ones made a SQLite backfill 32 times slower than 999 did; anonymous
    /// ones bind in linear time.
    fn max_params(self) -> usize {
        match self {
            Self::Anonymous => 32_000,
            Self::Numbered => MAX_PARAMS,
        }
    }

    /// One row's `(…)`: parameters `from+1 ..= from+n`.
    fn row(self, from: usize, n: usize) -> String {
        let list: Vec<String> = match self {
            Self::Numbered => (from + 1..=from + n).map(|i| format!("${i}")).collect(),
            Self::Anonymous => vec!["?".to_owned(); n],
        };
        format!("({})", list.join(", "))
    }
}

/// Upserts `rows` (all with exactly `columns`) in multi-row statements.
async fn upsert_rows(
    conn: &mut AnyConnection,
    table: &Table,
    columns: &[&str],
    rows: &[&Row],
) -> Result<(), StoreError> {
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !table.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let conflict = if updates.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        format!("DO UPDATE SET {}", updates.join(", "))
    };
    let width = columns.len().max(1);
    let style = Placeholders::of(conn);
    for chunk in rows.chunks((style.max_params() / width).max(1)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| style.row(r * width, width))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) {conflict}",
            table.name,
            columns.join(", "),
            values.join(", "),
            table.key.join(", "),
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for (column, value) in *row {
                query = bind_val(query, table, column, value);
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn rollback(
    conn: &mut AnyConnection,
    number: u64,
) -> Result<(Vec<EventRecord>, Vec<Changed>), StoreError> {
    let entries = sqlx::query(
        "SELECT tbl, row_key, previous FROM journal WHERE block_number > $1 ORDER BY seq DESC",
    )
    .bind(int(number))
    .fetch_all(&mut *conn)
    .await?;
    let mut restored: HashMap<(&'static str, String), Changed> = HashMap::new();
    // Each row's image before the rollback (its first journal entry met,
    // the latest change), for rows the rollback deletes.
    let mut before: HashMap<(&'static str, String), Option<Row>> = HashMap::new();
    for entry in entries {
        let name: String = entry.get(0);
        let key_text: String = entry.get(1);
        let previous: Option<String> = entry.get(2);
        let table = rows::table(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("journal names table {name}")))?;
        let key: Vec<Val> =
            serde_json::from_str(&key_text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row: Option<Row> = previous
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = (table.name, key_text);
        if !before.contains_key(&id) {
            let image = load(conn, table, &key).await?;
            before.insert(id.clone(), image);
        }
        write(conn, table, &key, row.as_ref()).await?;
        let removed = match &row {
            None => before.get(&id).cloned().flatten(),
            Some(_) => None,
        };
        restored.insert(
            id,
            Changed {
                table: table.name,
                key,
                row,
                removed,
            },
        );
    }
    sqlx::query("DELETE FROM journal WHERE block_number > $1")
        .bind(int(number))
        .execute(&mut *conn)
        .await?;
    let removed = sqlx::query(
        "SELECT block_number, log_index, block_hash, tx_hash, address, contract, name, topics, data, timestamp \
         FROM events WHERE block_number > $1 ORDER BY block_number, log_index",
    )
    .bind(int(number))
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM events WHERE block_number > $1")
        .bind(int(number))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM blocks WHERE number > $1")
        .bind(int(number))
        .execute(&mut *conn)
        .await?;
    let fork = sqlx::query("SELECT hash FROM blocks WHERE number = $1")
        .bind(int(number))
        .fetch_optional(&mut *conn)
        .await?;
    match fork {
        Some(row) => {
            let hash: String = row.get(0);
            sqlx::query("UPDATE checkpoint SET block_number = $1, block_hash = $2 WHERE id = 1")
                .bind(int(number))
                .bind(hash)
                .execute(&mut *conn)
                .await?;
        }
        None => {
            sqlx::query("DELETE FROM checkpoint WHERE id = 1")
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok((
        removed.iter().map(event_record).collect(),
        restored.into_values().collect(),
    ))
}

/// A row's identity in a batch: table and key (as JSON).
type RowId = (&'static str, String);

/// A row as the batch sees it: key values, current image (`None`:
/// deleted), and, once the batch changed it, the number of its latest
/// change (so subscribers see changes in the order they happened).
type Cached = (Vec<Val>, Option<Row>, Option<usize>);

/// One batch: raw events, projection changes and the checkpoint, written
/// in one transaction.
pub struct Batch {
    conn: AnyConnection,
    /// Publish the update for other processes (PostgreSQL).
    publish: bool,
    /// New events, kept when publishing.
    new_events: Vec<EventRecord>,
    head: u64,
    ready: bool,
    chain_id: u64,
    cache: HashMap<RowId, Cached>,
    /// Row changes so far (numbers each change).
    changes: usize,
    /// Images a later change in this batch replaced, with their change
    /// numbers: not written, but reported, so that a subscriber sees every
    /// change even when several blocks share a batch.
    superseded: Vec<(usize, &'static str, Vec<Val>, Option<Row>)>,
    touched: HashSet<(&'static str, String, u64)>,
    journal: Vec<(u64, &'static str, String, Option<Row>)>,
    /// Changes in blocks below this are final: not journaled, and their
    /// block hashes are not kept (no fork point can be there).
    journal_from: u64,
    /// Raw events already stored in the blocks this batch covers, when the
    /// caller declared them ([`Batch::cover`]); new events then wait in
    /// `pending` for one multi-row insert.
    stored: Option<HashSet<(u64, u64)>>,
    pending: Vec<EventRecord>,
    block: u64,
    events: u64,
}

impl Batch {
    /// Records a block; later writes belong to it.
    ///
    /// # Errors
    /// Database failure.
    pub async fn block(&mut self, block: &BlockRecord) -> Result<(), StoreError> {
        self.block = block.number;
        if block.number < self.journal_from {
            // Final: no fork point can be here. The checkpoint's own block
            // is written at commit.
            return Ok(());
        }
        insert_block(&mut self.conn, block).await
    }

    /// Declares that this batch writes blocks `from..=to`: the events
    /// already stored there are read once, and new events are then
    /// inserted together at commit instead of one statement each.
    ///
    /// # Errors
    /// Database failure.
    pub async fn cover(&mut self, from: u64, to: u64) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT block_number, log_index FROM events WHERE chain_id = $1 AND block_number BETWEEN $2 AND $3",
        )
        .bind(int(self.chain_id))
        .bind(int(from))
        .bind(int(to))
        .fetch_all(&mut self.conn)
        .await?;
        self.stored = Some(
            rows.iter()
                .map(|r| (uint(r.get(0)), uint(r.get(1))))
                .collect(),
        );
        Ok(())
    }
}

async fn insert_block(conn: &mut AnyConnection, block: &BlockRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4) ON CONFLICT (number) DO NOTHING")
        .bind(int(block.number))
        .bind(block.hash.clone())
        .bind(block.parent_hash.clone())
        .bind(int(block.timestamp))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Batch {
    /// Stores a raw event; `false` when it was already stored (then its
    /// projections must not run again).
    ///
    /// # Errors
    /// Database failure.
    pub async fn event(&mut self, event: &EventRecord) -> Result<bool, StoreError> {
        let inserted = match &mut self.stored {
            Some(stored) => {
                let new = stored.insert((event.block_number, event.log_index));
                if new {
                    self.pending.push(event.clone());
                }
                new
            }
            None => {
                insert_events(&mut self.conn, self.chain_id, std::slice::from_ref(event)).await?
                    == 1
            }
        };
        if inserted {
            self.events += 1;
            if self.publish {
                self.new_events.push(event.clone());
            }
        }
        Ok(inserted)
    }

    /// A projection row (from this batch's changes, else the database).
    ///
    /// # Errors
    /// Database failure.
    pub async fn get(
        &mut self,
        table: &'static Table,
        key: &[Val],
    ) -> Result<Option<Row>, StoreError> {
        let key_text = key_json(key);
        if let Some((_, row, _)) = self.cache.get(&(table.name, key_text.clone())) {
            return Ok(row.clone());
        }
        let row = load(&mut self.conn, table, key).await?;
        self.cache
            .insert((table.name, key_text), (key.to_vec(), row.clone(), None));
        Ok(row)
    }

    /// Sets (or with `None` deletes) a projection row.
    ///
    /// # Errors
    /// Database failure (loading the previous image for the journal).
    pub async fn put(
        &mut self,
        table: &'static Table,
        key: &[Val],
        row: Option<Row>,
    ) -> Result<(), StoreError> {
        let key_text = key_json(key);
        // Only a journal entry needs the previous image; in final blocks a
        // new row costs no read.
        if self.block >= self.journal_from
            && self
                .touched
                .insert((table.name, key_text.clone(), self.block))
        {
            let previous = self.get(table, key).await?;
            self.journal
                .push((self.block, table.name, key_text.clone(), previous));
        }
        let change = self.changes;
        self.changes += 1;
        let image = (key.to_vec(), row, Some(change));
        match self.cache.entry((table.name, key_text)) {
            std::collections::hash_map::Entry::Occupied(mut cached) => {
                let (key, row, earlier) = std::mem::replace(cached.get_mut(), image);
                // Changed before in this batch: subscribers see that image too.
                if let Some(earlier) = earlier {
                    self.superseded.push((earlier, table.name, key, row));
                }
            }
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(image);
            }
        }
        Ok(())
    }

    /// Writes the changed rows, the journal and the checkpoint, and
    /// commits. Returns the number of new events and every row change, in
    /// order (a row changed twice appears twice; its last image is the one
    /// written).
    ///
    /// # Errors
    /// Database failure (nothing is written then).
    pub async fn commit(
        mut self,
        checkpoint: &BlockRecord,
    ) -> Result<(u64, Vec<Changed>), StoreError> {
        let result = self.flush(checkpoint).await;
        match result {
            Ok(changed) => {
                sqlx::query("COMMIT").execute(&mut self.conn).await?;
                Ok((self.events, changed))
            }
            Err(error) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                Err(error)
            }
        }
    }

    /// Blocks below `block` are final (deeper than any reorg the caller
    /// will roll back): their row changes are not journaled, which saves
    /// most of a backfill's writes. Default 0: everything is journaled.
    pub fn journal_from(&mut self, block: u64) {
        self.journal_from = block;
    }

    /// The indexer's view of the chain when this batch commits, published
    /// with it for API servers in other processes.
    pub fn progress(&mut self, head: u64, ready: bool) {
        self.head = head;
        self.ready = ready;
    }

    /// Abandons the batch.
    pub async fn abort(mut self) {
        let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
    }

    async fn flush(&mut self, checkpoint: &BlockRecord) -> Result<Vec<Changed>, StoreError> {
        for (block, table, key, previous) in std::mem::take(&mut self.journal) {
            let previous = previous
                .map(|row| serde_json::to_string(&row))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("INSERT INTO journal (block_number, tbl, row_key, previous) VALUES ($1, $2, $3, $4)")
                .bind(int(block))
                .bind(table)
                .bind(key)
                .bind(previous)
                .execute(&mut self.conn)
                .await?;
        }
        insert_events(
            &mut self.conn,
            self.chain_id,
            &std::mem::take(&mut self.pending),
        )
        .await?;
        let latest: Vec<_> = std::mem::take(&mut self.cache)
            .into_iter()
            .filter_map(|((table, _), (key, row, change))| Some((change?, table, key, row)))
            .collect();
        // Only the latest image of each row is written; rows with the same
        // columns go together.
        let mut upserts: HashMap<(&'static str, Vec<&str>), Vec<&Row>> = HashMap::new();
        for (_, name, key, row) in &latest {
            let table = rows::table(name).ok_or_else(|| StoreError::Corrupt((*name).to_owned()))?;
            match row {
                Some(row) => upserts
                    .entry((table.name, row.keys().map(String::as_str).collect()))
                    .or_default()
                    .push(row),
                None => write(&mut self.conn, table, key, None).await?,
            }
        }
        for ((name, columns), group) in upserts {
            let table = rows::table(name).ok_or_else(|| StoreError::Corrupt(name.to_owned()))?;
            upsert_rows(&mut self.conn, table, &columns, &group).await?;
        }
        // Every change, in the order it happened.
        let mut all = latest;
        all.append(&mut self.superseded);
        all.sort_unstable_by_key(|(change, ..)| *change);
        let changed: Vec<Changed> = all
            .into_iter()
            .map(|(_, table, key, row)| Changed {
                table,
                key,
                row,
                removed: None,
            })
            .collect();
        if checkpoint.number < self.journal_from {
            insert_block(&mut self.conn, checkpoint).await?;
        }
        sqlx::query(
            "INSERT INTO checkpoint (id, chain_id, block_number, block_hash) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET chain_id = excluded.chain_id, block_number = excluded.block_number, block_hash = excluded.block_hash",
        )
        .bind(int(self.chain_id))
        .bind(int(checkpoint.number))
        .bind(checkpoint.hash.clone())
        .execute(&mut self.conn)
        .await?;
        if self.publish {
            let update = Update::Indexed {
                to: checkpoint.number,
                events: std::mem::take(&mut self.new_events),
                changed: changed.clone(),
            };
            feed::publish(&mut self.conn, update, self.head, self.ready).await?;
        }
        Ok(changed)
    }
}
