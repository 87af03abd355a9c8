//! The query and subscription roots: typed filters, keyset pagination,
//! statistics, `_meta`, and subscriptions fed by the indexer's committed
//! batches.

use std::sync::{atomic::Ordering, Arc};

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use pond_indexer::{
    amount,
    follow::{Progress, Update},
    store::{
        rows::{self, Table},
        EventRecord, Filter, Row, Store, Val,
    },
};
use tokio::sync::broadcast;

use crate::{
    budget::{self, ReadBudget},
    objects::{Balance, Case, Deal, Event, Job, Offer, Provider, Validator},
    page::{self, Listing, Page},
    stats::{self, MarketStats},
};

/// Default page size.
pub const DEFAULT_PAGE: u64 = 50;
/// Largest page size.
pub const MAX_PAGE: u64 = 1_000;

/// What the resolvers share.
#[derive(Clone)]
pub struct ApiState {
    /// The store (read side).
    pub store: Store,
    /// Committed batches, from the indexer.
    pub updates: broadcast::Sender<Update>,
    /// The indexer's progress.
    pub progress: Arc<Progress>,
    /// Chain id.
    pub chain_id: u64,
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a ApiState> {
    ctx.data::<ApiState>()
}

pub(crate) fn bad(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into())
}

/// A store failure as the client sees it: a read over the request's
/// byte budget is the client's to fix; anything else is ours.
pub(crate) fn store_error(e: pond_indexer::store::StoreError) -> async_graphql::Error {
    if let pond_indexer::store::StoreError::TooLarge { .. } = e {
        return budget::too_large(budget::MAX_RESPONSE_BYTES);
    }
    tracing::error!(error = %e, "store query failed");
    bad("internal error reading the index")
}

/// The byte budget a read takes from: the request's, or, for a
/// subscription message (no request around it), one of its own per read.
pub(crate) enum Budget<'a> {
    /// The request's, shared by all its reads.
    Request(&'a ReadBudget),
    /// This read's alone.
    Own(ReadBudget),
}

impl std::ops::Deref for Budget<'_> {
    type Target = ReadBudget;
    fn deref(&self) -> &ReadBudget {
        match self {
            Self::Request(budget) => budget,
            Self::Own(budget) => budget,
        }
    }
}

/// The budget this read takes from (see [`Budget`]).
pub(crate) fn budget<'a>(ctx: &Context<'a>) -> Budget<'a> {
    ctx.data_opt::<std::sync::Arc<ReadBudget>>().map_or_else(
        || Budget::Own(ReadBudget::new(budget::MAX_RESPONSE_BYTES)),
        |budget| Budget::Request(budget),
    )
}

/// Takes `bytes` (read, or about to be sent) from this request's budget.
pub(crate) fn charge(ctx: &Context<'_>, bytes: usize) -> Result<()> {
    budget(ctx).take(bytes).map_err(store_error)
}

/// One row looked up by key, charged to the request's budget.
async fn charged_row(ctx: &Context<'_>, table: &'static Table, key: Val) -> Result<Option<Row>> {
    let row = state(ctx)?
        .store
        .row(table, &[key])
        .await
        .map_err(store_error)?;
    if let Some(row) = &row {
        charge(ctx, pond_indexer::store::row_size(row))?;
    }
    Ok(row)
}

/// Longest free-text filter value: every stored state, event and
/// contract name is far shorter.
const MAX_TEXT_ARG: usize = 64;

/// Whether `value` may be compared with stored text: no control
/// characters (U+0000 is not even storable on PostgreSQL, and stored text
/// never holds it).
pub(crate) fn plain_text(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

/// A free-text filter argument (a state, an event or contract name); a
/// clear input error, the same on both backends, for control characters
/// or an over-long value.
fn text_arg(name: &str, value: String) -> Result<Val> {
    if value.len() <= MAX_TEXT_ARG && plain_text(&value) {
        Ok(Val::Text(value))
    } else {
        Err(bad(format!(
            "{name}: expected at most {MAX_TEXT_ARG} bytes without control characters, got {value:?}"
        )))
    }
}

/// A uint256 argument (decimal) in stored form.
fn uint_arg(name: &str, value: &str) -> Result<Val> {
    let parsed = amount::decode(value)
        .map_err(|_| bad(format!("{name}: expected a decimal integer, got {value:?}")))?;
    Ok(Val::Text(amount::encode(parsed)))
}

/// An address argument in stored form (lowercase 0x-hex).
fn address_arg(name: &str, value: &str) -> Result<Val> {
    let ok = value.len() == 42
        && value.starts_with("0x")
        && value[2..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(bad(format!(
            "{name}: expected a 0x-prefixed 20-byte address, got {value:?}"
        )));
    }
    Ok(Val::Text(value.to_lowercase()))
}

/// A list's `first` argument: [`DEFAULT_PAGE`] when absent.
///
/// # Errors
/// Outside 1..=[`MAX_PAGE`].
pub(crate) fn page_size(first: Option<i32>) -> Result<u64> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad(format!("first must be between 1 and {MAX_PAGE}, got {n}"))),
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum Direction {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Job filters.
#[derive(InputObject, Default)]
pub struct JobWhere {
    /// State: open, bidding, matched, cancelled, expired.
    pub state: Option<String>,
    /// Creator address.
    pub creator: Option<String>,
    /// Jobs a machine with this much GPU memory (GB) can run.
    pub gpu_memory_gb_at_least: Option<i64>,
    /// Jobs a machine with this many GPUs can run.
    pub gpu_count_at_least: Option<i64>,
    /// Maximum price at least this (decimal).
    pub max_price_gte: Option<String>,
    /// Posted at or after (unix seconds).
    pub posted_after: Option<i64>,
}

/// Job orderings (each backed by an index).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum JobOrder {
    /// By id.
    #[default]
    Id,
    /// By posting time.
    PostedAt,
    /// By maximum price.
    MaxPrice,
    /// By minimum GPU memory.
    MinGpuMemoryGb,
}

/// Deal filters.
#[derive(InputObject, Default)]
pub struct DealWhere {
    /// State.
    pub state: Option<String>,
    /// Provider address.
    pub provider: Option<String>,
    /// Creator address.
    pub creator: Option<String>,
    /// Job id.
    pub job_id: Option<String>,
}

/// Offer filters.
#[derive(InputObject, Default)]
pub struct OfferWhere {
    /// Provider address.
    pub provider: Option<String>,
    /// At least this much GPU memory (GB).
    pub gpu_memory_gb_gte: Option<i64>,
    /// Include cancelled offers.
    pub include_cancelled: Option<bool>,
}

/// Event filters.
#[derive(InputObject, Default)]
pub struct EventWhere {
    /// Event name (e.g. `JobPosted`).
    pub name: Option<String>,
    /// Contract name (e.g. `Market`).
    pub contract: Option<String>,
    /// From this block.
    pub from_block: Option<i64>,
    /// Up to this block.
    pub to_block: Option<i64>,
}

/// A block reference.
#[derive(SimpleObject)]
pub struct BlockRef {
    /// Number.
    pub number: i64,
    /// Hash.
    pub hash: String,
    /// Timestamp.
    pub timestamp: i64,
}

/// Indexing status.
#[derive(SimpleObject)]
pub struct Meta {
    /// Chain id.
    pub chain_id: i64,
    /// Last indexed block.
    pub indexed_block: Option<BlockRef>,
    /// Chain head the indexer last saw.
    pub head_block: i64,
    /// Head minus indexed.
    pub lag_blocks: i64,
    /// Caught up at least once.
    pub is_ready: bool,
}

/// The query root.
pub struct QueryRoot;

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[Object]
impl QueryRoot {
    /// A job by id.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn job(&self, ctx: &Context<'_>, id: String) -> Result<Option<Job>> {
        let key = uint_arg("id", &id)?;
        Ok(charged_row(ctx, &rows::JOBS, key).await?.map(Job::stored))
    }

    /// Jobs, filtered and paginated.
    #[graphql(complexity = "budget::filtered_list_cost(first, child_complexity, filter.is_some())")]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<JobWhere>,
        order_by: Option<JobOrder>,
        direction: Option<Direction>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Job>> {
        let filter = filter.unwrap_or_default();
        let mut listing = Listing::new(&page::JOBS);
        // The most selective first: of two indexes that fix as many
        // leading columns, the planner takes the one on the filter given
        // first.
        if let Some(v) = filter.creator {
            listing.push(Filter::eq("creator", address_arg("creator", &v)?))?;
        }
        if let Some(v) = filter.state {
            listing.push(Filter::eq("state", text_arg("state", v)?))?;
        }
        if let Some(v) = filter.gpu_memory_gb_at_least {
            listing.push(Filter::at_most("min_gpu_memory_gb", Val::Int(v)))?;
        }
        if let Some(v) = filter.gpu_count_at_least {
            listing.push(Filter::at_most("min_gpu_count", Val::Int(v)))?;
        }
        if let Some(v) = filter.max_price_gte {
            listing.push(Filter::at_least("max_price", uint_arg("maxPriceGte", &v)?))?;
        }
        if let Some(v) = filter.posted_after {
            listing.push(Filter::at_least("posted_at", Val::Int(v)))?;
        }
        let column = match order_by.unwrap_or_default() {
            JobOrder::Id => "id",
            JobOrder::PostedAt => "posted_at",
            JobOrder::MaxPrice => "max_price",
            JobOrder::MinGpuMemoryGb => "min_gpu_memory_gb",
        };
        let order = page::JOBS.order(column, direction == Some(Direction::Desc))?;
        listing.page(ctx, order, first, after, Job::stored).await
    }

    /// A deal by id.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn deal(&self, ctx: &Context<'_>, id: String) -> Result<Option<Deal>> {
        let key = uint_arg("id", &id)?;
        Ok(charged_row(ctx, &rows::DEALS, key).await?.map(Deal::stored))
    }

    /// Deals, filtered and paginated by id.
    #[graphql(complexity = "budget::filtered_list_cost(first, child_complexity, filter.is_some())")]
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<DealWhere>,
        direction: Option<Direction>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Deal>> {
        let filter = filter.unwrap_or_default();
        let mut listing = Listing::new(&page::DEALS);
        // The most selective first: of two indexes that fix as many
        // leading columns, the planner takes the one on the filter given
        // first.
        if let Some(v) = filter.job_id {
            listing.push(Filter::eq("job_id", uint_arg("jobId", &v)?))?;
        }
        if let Some(v) = filter.provider {
            listing.push(Filter::eq("provider", address_arg("provider", &v)?))?;
        }
        if let Some(v) = filter.creator {
            listing.push(Filter::eq("creator", address_arg("creator", &v)?))?;
        }
        if let Some(v) = filter.state {
            listing.push(Filter::eq("state", text_arg("state", v)?))?;
        }
        let order = page::DEALS.order("id", direction == Some(Direction::Desc))?;
        listing.page(ctx, order, first, after, Deal::stored).await
    }

    /// A provider by address.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn provider(&self, ctx: &Context<'_>, address: String) -> Result<Option<Provider>> {
        let key = address_arg("address", &address)?;
        Ok(charged_row(ctx, &rows::PROVIDERS, key).await?.map(Provider))
    }

    /// Providers by address.
    #[graphql(complexity = "budget::list_cost(first, child_complexity)")]
    async fn providers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Provider>> {
        let order = page::PROVIDERS.order("address", false)?;
        Listing::new(&page::PROVIDERS)
            .page(ctx, order, first, after, Provider)
            .await
    }

    /// A validator by address.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn validator(&self, ctx: &Context<'_>, address: String) -> Result<Option<Validator>> {
        let key = address_arg("address", &address)?;
        Ok(charged_row(ctx, &rows::VALIDATORS, key)
            .await?
            .map(Validator::from))
    }

    /// Validators by address.
    #[graphql(complexity = "budget::list_cost(first, child_complexity)")]
    async fn validators(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Validator>> {
        let order = page::VALIDATORS.order("address", false)?;
        Listing::new(&page::VALIDATORS)
            .page(ctx, order, first, after, Validator::from)
            .await
    }

    /// Offers, filtered and paginated by id.
    #[graphql(complexity = "budget::filtered_list_cost(first, child_complexity, filter.is_some())")]
    async fn offers(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<OfferWhere>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Offer>> {
        let filter = filter.unwrap_or_default();
        let mut listing = Listing::new(&page::OFFERS);
        if let Some(v) = filter.provider {
            listing.push(Filter::eq("provider", address_arg("provider", &v)?))?;
        }
        if !filter.include_cancelled.unwrap_or(false) {
            listing.push(Filter::eq("cancelled", Val::Int(0)))?;
        }
        if let Some(v) = filter.gpu_memory_gb_gte {
            listing.push(Filter::at_least("gpu_memory_gb", Val::Int(v)))?;
        }
        let order = page::OFFERS.order("id", false)?;
        listing.page(ctx, order, first, after, Offer::from).await
    }

    /// A mediation case by id.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn case(&self, ctx: &Context<'_>, id: String) -> Result<Option<Case>> {
        let key = uint_arg("id", &id)?;
        Ok(charged_row(ctx, &rows::CASES, key).await?.map(Case::from))
    }

    /// Vault balances of an account.
    #[graphql(complexity = "budget::READ_COST + child_complexity")]
    async fn balance(&self, ctx: &Context<'_>, account: String) -> Result<Option<Balance>> {
        let key = address_arg("account", &account)?;
        Ok(charged_row(ctx, &rows::BALANCES, key)
            .await?
            .map(Balance::from))
    }

    /// Raw events in chain order; `after` is the last event's `blockNumber:logIndex`.
    #[graphql(complexity = "budget::list_cost(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<EventWhere>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<Event>> {
        let filter = filter.unwrap_or_default();
        let first = page_size(first)?;
        let mut listing = Listing::new(&page::EVENTS);
        if let Some(v) = filter.contract {
            listing.push(Filter::eq("contract", text_arg("contract", v)?))?;
        }
        if let Some(v) = filter.name {
            listing.push(Filter::eq("name", text_arg("name", v)?))?;
        }
        if let Some(v) = filter.from_block {
            listing.push(Filter::at_least("block_number", Val::Int(v)))?;
        }
        if let Some(v) = filter.to_block {
            listing.push(Filter::at_most("block_number", Val::Int(v)))?;
        }
        let after = match after {
            Some(after) => {
                let parsed = after
                    .split_once(':')
                    .and_then(|(b, l)| Some((b.parse::<i64>().ok()?, l.parse::<i64>().ok()?)));
                let (block, log) = parsed.ok_or_else(|| {
                    bad(format!(
                        "malformed cursor {after:?}: expected block:logIndex"
                    ))
                })?;
                Some((Val::Int(block), Val::Int(log)))
            }
            None => None,
        };
        let order = page::EVENTS.order("block_number", false)?;
        let events = listing.rows(ctx, order, first, after).await?;
        Ok(events
            .iter()
            .map(|row| Event::from(&EventRecord::from_row(row)))
            .collect())
    }

    /// Market statistics; volume for the last `days` days with deals
    /// (default 30, at most 366).
    #[graphql(complexity = "budget::MARKET_STATS_COST + child_complexity")]
    async fn market_stats(&self, ctx: &Context<'_>, days: Option<i32>) -> Result<MarketStats> {
        let days = usize::try_from(days.unwrap_or(30).clamp(1, 366)).unwrap_or(30);
        stats::market_stats(ctx, days).await
    }

    /// Indexing status.
    #[graphql(
        name = "_meta",
        complexity = "2 * budget::READ_COST + child_complexity"
    )]
    async fn meta(&self, ctx: &Context<'_>) -> Result<Meta> {
        let api = state(ctx)?;
        let checkpoint = api.store.checkpoint().await.map_err(store_error)?;
        let head = api.progress.head.load(Ordering::Relaxed);
        let indexed_block = match &checkpoint {
            Some(cp) => {
                let timestamp = api
                    .store
                    .block(cp.number)
                    .await
                    .map_err(store_error)?
                    .map_or(0, |(_, t)| t);
                Some(BlockRef {
                    number: i(cp.number),
                    hash: cp.hash.clone(),
                    timestamp: i(timestamp),
                })
            }
            None => None,
        };
        let indexed = checkpoint.map_or(0, |cp| cp.number);
        Ok(Meta {
            chain_id: i(api.chain_id),
            indexed_block,
            head_block: i(head),
            lag_blocks: i(head.saturating_sub(indexed)),
            is_ready: api.progress.ready.load(Ordering::Relaxed) == 1,
        })
    }
}

/// A reorg's removals.
#[derive(SimpleObject, Clone)]
pub struct Removal {
    /// The fork point (kept).
    pub fork_block: i64,
    /// Removed events, oldest first.
    pub events: Vec<Event>,
}

/// The subscription root. Every stream is pushed after a committed batch;
/// nothing polls. A subscriber too slow to keep up is ended with an error
/// rather than left with a silent gap.
pub struct SubscriptionRoot;

fn updates(ctx: &Context<'_>) -> Result<impl Stream<Item = Result<Update>>> {
    let receiver = state(ctx)?.updates.subscribe();
    Ok(tokio_stream_from(receiver))
}

fn tokio_stream_from(receiver: broadcast::Receiver<Update>) -> impl Stream<Item = Result<Update>> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        let item = match receiver.recv().await {
            Ok(update) => Ok(update),
            Err(broadcast::error::RecvError::Lagged(n)) => Err(bad(format!(
                "subscriber fell {n} updates behind; resubscribe"
            ))),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((item, receiver))
    })
}

fn matches_row(row: &Row, id: &Option<Val>, account: &Option<Val>, parties: &[&str]) -> bool {
    let id_ok = id.as_ref().is_none_or(|v| row.get("id") == Some(v));
    let account_ok = account
        .as_ref()
        .is_none_or(|v| parties.iter().any(|p| row.get(*p) == Some(v)));
    id_ok && account_ok
}

/// The rows of `table` an update changed, in order, each with whether a
/// reorg removed it (then the row is its last image).
fn changed_rows(update: &Update, table: &'static str) -> Vec<(Row, bool)> {
    let changed = match update {
        Update::Indexed { changed, .. } | Update::Removed { changed, .. } => changed,
    };
    changed
        .iter()
        .filter(|c| c.table == table)
        .filter_map(|c| match (&c.row, &c.removed) {
            (Some(row), _) => Some((row.clone(), false)),
            (None, Some(last)) => Some((last.clone(), true)),
            (None, None) => None,
        })
        .collect()
}

#[Subscription]
impl SubscriptionRoot {
    /// Jobs as they change (optionally one id, or one creator or relayer);
    /// a job a reorg removed comes once more with `removed: true`.
    async fn job_changes(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        account: Option<String>,
    ) -> Result<impl Stream<Item = Result<Job>>> {
        let id = id.map(|v| uint_arg("id", &v)).transpose()?;
        let account = account.map(|v| address_arg("account", &v)).transpose()?;
        let stream = updates(ctx)?;
        Ok(stream.flat_map(move |update| {
            let items: Vec<Result<Job>> = match update {
                Err(e) => vec![Err(e)],
                Ok(update) => changed_rows(&update, rows::JOBS.name)
                    .into_iter()
                    .filter(|(row, _)| matches_row(row, &id, &account, &["creator", "relayer"]))
                    .map(|(row, removed)| Ok(Job(row, removed)))
                    .collect(),
            };
            futures::stream::iter(items)
        }))
    }

    /// Deals as they change (optionally one id, or one provider or creator);
    /// a deal a reorg removed comes once more with `removed: true`.
    async fn deal_changes(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        account: Option<String>,
    ) -> Result<impl Stream<Item = Result<Deal>>> {
        let id = id.map(|v| uint_arg("id", &v)).transpose()?;
        let account = account.map(|v| address_arg("account", &v)).transpose()?;
        let stream = updates(ctx)?;
        Ok(stream.flat_map(move |update| {
            // In the order the batch changed them.
            let rows: Vec<(Row, bool)> = match &update {
                Err(_) => Vec::new(),
                Ok(update) => changed_rows(update, rows::DEALS.name),
            };
            let items: Vec<Result<Deal>> = match update {
                Err(e) => vec![Err(e)],
                Ok(_) => rows
                    .into_iter()
                    .filter(|(row, _)| matches_row(row, &id, &account, &["provider", "creator"]))
                    .map(|(row, removed)| Ok(Deal(row, removed)))
                    .collect(),
            };
            futures::stream::iter(items)
        }))
    }

    /// New events (optionally one name or contract), in chain order.
    async fn events(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        contract: Option<String>,
    ) -> Result<impl Stream<Item = Result<Event>>> {
        let stream = updates(ctx)?;
        Ok(stream.flat_map(move |update| {
            let items: Vec<Result<Event>> = match update {
                Err(e) => vec![Err(e)],
                Ok(Update::Indexed { events, .. }) => events
                    .iter()
                    .filter(|e| name.as_ref().is_none_or(|n| &e.name == n))
                    .filter(|e| contract.as_ref().is_none_or(|c| &e.contract == c))
                    .map(|e| Ok(Event::from(e)))
                    .collect(),
                Ok(Update::Removed { .. }) => Vec::new(),
            };
            futures::stream::iter(items)
        }))
    }

    /// Reorg removals.
    async fn removals(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Result<Removal>>> {
        let stream = updates(ctx)?;
        Ok(stream.filter_map(|update| async move {
            match update {
                Err(e) => Some(Err(e)),
                Ok(Update::Removed { fork, events, .. }) => Some(Ok(Removal {
                    fork_block: i(fork),
                    events: events.iter().map(Event::from).collect(),
                })),
                Ok(Update::Indexed { .. }) => None,
            }
        }))
    }
}
