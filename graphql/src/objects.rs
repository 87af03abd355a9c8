//! The GraphQL object types: thin views over stored rows. Nested fields go
//! through one [`RowsLoader`], so a page of jobs with their deals and
//! providers costs a fixed number of SQL queries.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{dataloader::DataLoader, Context, Object, Result, SimpleObject};
use pond_indexer::{
    amount,
    store::{
        rows::{self, Table},
        Filter, Order, ReadBudget, Row, Store, Val,
    },
};

use crate::{
    budget,
    page::{self, ListShape, Listing},
    schema::{charge, page_size, store_error},
};

/// Most keys the loader reads in one query. Every loaded list is bounded
/// per key (a deal's steps, a case's votes, one row by key), so a batch
/// stays under [`LOADER_ROWS`].
pub const LOADER_BATCH: usize = 500;

/// Most rows one loader query reads.
const LOADER_ROWS: u64 = 10_000;

/// Most steps of one deal: each of its states once.
const MAX_DEAL_STEPS: usize = pond_bindings::states::DEAL_STATES.len();

/// Most votes in one case: 9 validators a round, 2 rounds (the mediation
/// contract's `MAX_VALIDATORS_PER_CASE` and `MAX_ROUNDS`).
const MAX_VOTES_PER_CASE: usize = 18;

/// Loads rows by one column's value, batched across a request.
pub struct RowsLoader {
    /// The store.
    pub store: Store,
    /// The request's byte budget, which every loaded row is taken from
    /// (the loader is made per request); `None` for the schema's own
    /// loader (subscription messages): each batch then has a budget of its
    /// own.
    pub budget: Option<Arc<ReadBudget>>,
}

/// What to load: rows of `table` whose `column` equals `value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoadKey {
    /// Table.
    pub table: &'static str,
    /// Column.
    pub column: &'static str,
    /// Value (stored text form).
    pub value: String,
}

impl async_graphql::dataloader::Loader<LoadKey> for RowsLoader {
    type Value = Arc<Vec<Row>>;
    type Error = Arc<pond_indexer::store::StoreError>;

    async fn load(&self, keys: &[LoadKey]) -> Result<HashMap<LoadKey, Self::Value>, Self::Error> {
        let mut groups: HashMap<(&'static str, &'static str), Vec<String>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.table, key.column))
                .or_default()
                .push(key.value.clone());
        }
        let mut out: HashMap<LoadKey, Vec<Row>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for ((table_name, column), values) in groups {
            let Some(table) = rows::table(table_name) else {
                continue;
            };
            let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
            let condition = format!("{column} IN ({})", placeholders.join(", "));
            let binds: Vec<Val> = values.iter().map(|v| Val::Text(v.clone())).collect();
            let order = table.key.join(", ");
            let own;
            let budget = match &self.budget {
                Some(budget) => budget.as_ref(),
                None => {
                    own = ReadBudget::new(budget::MAX_RESPONSE_BYTES);
                    &own
                }
            };
            let found = self
                .store
                .select_bounded(
                    table,
                    None,
                    &[condition],
                    &binds,
                    &order,
                    LOADER_ROWS,
                    budget,
                )
                .await
                .map_err(Arc::new)?;
            for row in found {
                let value = row
                    .get(column)
                    .and_then(Val::text)
                    .unwrap_or_default()
                    .to_owned();
                let key = LoadKey {
                    table: table_name,
                    column,
                    value,
                };
                out.entry(key).or_default().push(row);
            }
        }
        Ok(out.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// Loads rows of `table` with `column` = `value` through the request's loader.
pub async fn load(
    ctx: &Context<'_>,
    table: &'static Table,
    column: &'static str,
    value: &str,
) -> Result<Vec<Row>> {
    let _permit = crate::subscriptions::read_permit(ctx).await;
    let loader = ctx.data::<DataLoader<RowsLoader>>()?;
    let rows = loader
        .load_one(LoadKey {
            table: table.name,
            column,
            value: value.to_owned(),
        })
        .await
        .map_err(|e| match Arc::try_unwrap(e) {
            Ok(e) => store_error(e),
            Err(e) if matches!(*e, pond_indexer::store::StoreError::TooLarge { .. }) => {
                budget::too_large(budget::MAX_RESPONSE_BYTES)
            }
            Err(e) => {
                tracing::error!(error = %e, "store query failed");
                async_graphql::Error::new("internal error reading the index")
            }
        })?;
    Ok(rows.map(|r| (*r).clone()).unwrap_or_default())
}

/// Up to `first` rows of `table` with `column` = `value`, in `order`: a
/// nested list that may be long (a provider's deals, a job's bids), read
/// on its own with its own bound instead of through the loader.
async fn nested_page(
    ctx: &Context<'_>,
    shape: &'static ListShape,
    column: &'static str,
    value: String,
    order: Order,
    first: Option<i32>,
) -> Result<Vec<Row>> {
    let first = page_size(first)?;
    let _permit = crate::subscriptions::read_permit(ctx).await;
    let mut listing = Listing::new(shape);
    listing.push(Filter::eq(column, Val::Text(value)))?;
    listing.rows(ctx, order, first, None).await
}

/// A long text (a URI, event data) about to be sent, taken from the
/// request's budget per occurrence: a read counts a column once, but
/// aliases can send it many times.
fn sent(ctx: &Context<'_>, text: String) -> Result<String> {
    charge(ctx, text.len())?;
    Ok(text)
}

fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Val::text)
        .unwrap_or_default()
        .to_owned()
}

fn opt_text(row: &Row, column: &str) -> Option<String> {
    row.get(column).and_then(Val::text).map(str::to_owned)
}

fn int(row: &Row, column: &str) -> i64 {
    row.get(column).and_then(Val::int).unwrap_or_default()
}

fn opt_int(row: &Row, column: &str) -> Option<i64> {
    row.get(column).and_then(Val::int)
}

/// A uint256 column as plain decimal.
fn num(row: &Row, column: &str) -> String {
    amount::plain(&text(row, column))
}

fn opt_num(row: &Row, column: &str) -> Option<String> {
    opt_text(row, column).map(|t| amount::plain(&t))
}

/// Hardware requirements or capabilities.
#[derive(SimpleObject)]
pub struct Hardware {
    /// GPUs.
    pub gpu_count: i64,
    /// Memory per GPU (GB).
    pub gpu_memory_gb: i64,
    /// CPU cores.
    pub cpu_cores: i64,
    /// RAM (GB).
    pub ram_gb: i64,
    /// Disk (GB).
    pub disk_gb: i64,
}

fn hardware(row: &Row, prefix: &str) -> Hardware {
    Hardware {
        gpu_count: int(row, &format!("{prefix}gpu_count")),
        gpu_memory_gb: int(row, &format!("{prefix}gpu_memory_gb")),
        cpu_cores: int(row, &format!("{prefix}cpu_cores")),
        ram_gb: int(row, &format!("{prefix}ram_gb")),
        disk_gb: int(row, &format!("{prefix}disk_gb")),
    }
}

/// A job: its row, and whether a reorg removed it (then the row is its
/// last image; only subscriptions show removed rows).
pub struct Job(pub Row, pub bool);

impl Job {
    /// A job as the index holds it.
    #[must_use]
    pub fn stored(row: Row) -> Self {
        Self(row, false)
    }
}

#[Object]
impl Job {
    /// Job id (decimal).
    async fn id(&self) -> String {
        num(&self.0, "id")
    }
    /// True when a chain reorganization removed this job (its posting is
    /// no longer on the chain): this is its last image. Only the
    /// `jobChanges` subscription shows removed jobs.
    async fn removed(&self) -> bool {
        self.1
    }
    /// Creator address.
    async fn creator(&self) -> String {
        text(&self.0, "creator")
    }
    /// Relayer (zero address when posted directly).
    async fn relayer(&self) -> String {
        text(&self.0, "relayer")
    }
    /// open, bidding, matched, cancelled or expired.
    async fn state(&self) -> String {
        text(&self.0, "state")
    }
    /// Container module hash.
    async fn module_hash(&self) -> String {
        text(&self.0, "module_hash")
    }
    /// Container module URI.
    async fn module_uri(&self, ctx: &Context<'_>) -> Result<String> {
        sent(ctx, text(&self.0, "module_uri"))
    }
    /// Input hash.
    async fn input_hash(&self) -> String {
        text(&self.0, "input_hash")
    }
    /// Input URI.
    async fn input_uri(&self, ctx: &Context<'_>) -> Result<String> {
        sent(ctx, text(&self.0, "input_uri"))
    }
    /// Minimum hardware.
    async fn min_hardware(&self) -> Hardware {
        hardware(&self.0, "min_")
    }
    /// Longest run (seconds).
    async fn max_duration(&self) -> i64 {
        int(&self.0, "max_duration")
    }
    /// Highest price (token units, decimal).
    async fn max_price(&self) -> String {
        num(&self.0, "max_price")
    }
    /// Match deadline (unix seconds).
    async fn match_deadline(&self) -> i64 {
        int(&self.0, "match_deadline")
    }
    /// End of the bidding window (0: no auction).
    async fn bidding_end(&self) -> i64 {
        int(&self.0, "bidding_end")
    }
    /// direct, take or auction, once matched.
    async fn match_mode(&self) -> Option<String> {
        opt_text(&self.0, "match_mode")
    }
    /// Price agreed.
    async fn price(&self) -> Option<String> {
        opt_num(&self.0, "price")
    }
    /// Best bid so far.
    async fn best_bid(&self) -> Option<String> {
        opt_num(&self.0, "best_bid")
    }
    /// Best bidder so far.
    async fn best_bidder(&self) -> Option<String> {
        opt_text(&self.0, "best_bidder")
    }
    /// Block the job was posted in.
    async fn posted_block(&self) -> i64 {
        int(&self.0, "posted_block")
    }
    /// When it was posted (unix seconds).
    async fn posted_at(&self) -> i64 {
        int(&self.0, "posted_at")
    }
    /// Last change (unix seconds).
    async fn updated_at(&self) -> i64 {
        int(&self.0, "updated_at")
    }
    /// The deal, once matched.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<Deal>> {
        let Some(deal) = opt_text(&self.0, "deal_id") else {
            return Ok(None);
        };
        Ok(load(ctx, &rows::DEALS, "id", &deal)
            .await?
            .into_iter()
            .next()
            .map(Deal::stored))
    }
    /// Bids, for auctions: the best (lowest price) first; the first
    /// `first` (default 50, at most 1 000).
    #[graphql(complexity = "budget::nested_list_cost(first, child_complexity)")]
    async fn bids(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<Bid>> {
        // Stored amounts are zero-padded, so text order is numeric order.
        let bids = nested_page(
            ctx,
            &page::JOB_BIDS,
            "job_id",
            text(&self.0, "id"),
            page::JOB_BIDS.order("price", false)?,
            first,
        )
        .await?;
        Ok(bids
            .into_iter()
            .map(|row| Bid {
                provider: text(&row, "provider"),
                price: num(&row, "price"),
                outbid: int(&row, "outbid") != 0,
                placed_at: int(&row, "placed_at"),
            })
            .collect())
    }
}

/// A bid.
#[derive(SimpleObject)]
pub struct Bid {
    /// Bidder.
    pub provider: String,
    /// Price.
    pub price: String,
    /// A lower bid replaced it.
    pub outbid: bool,
    /// When (unix seconds).
    pub placed_at: i64,
}

/// A deal: its row, and whether a reorg removed it (then the row is its
/// last image; only subscriptions show removed rows).
pub struct Deal(pub Row, pub bool);

impl Deal {
    /// A deal as the index holds it.
    #[must_use]
    pub fn stored(row: Row) -> Self {
        Self(row, false)
    }
}

/// One state a deal went through.
#[derive(SimpleObject)]
pub struct DealStep {
    /// State entered.
    pub state: String,
    /// Block.
    pub block_number: i64,
    /// Log index in the block.
    pub log_index: i64,
    /// Transaction.
    pub tx_hash: String,
    /// Time (unix seconds).
    pub timestamp: i64,
}

#[Object]
impl Deal {
    /// Deal id.
    async fn id(&self) -> String {
        num(&self.0, "id")
    }
    /// True when a chain reorganization removed this deal (its match is no
    /// longer on the chain): this is its last image. Only the
    /// `dealChanges` subscription shows removed deals.
    async fn removed(&self) -> bool {
        self.1
    }
    /// Job id.
    async fn job_id(&self) -> String {
        num(&self.0, "job_id")
    }
    /// Provider address.
    async fn provider(&self) -> String {
        text(&self.0, "provider")
    }
    /// Creator address.
    async fn creator(&self) -> String {
        text(&self.0, "creator")
    }
    /// Offer id (0 for auctions).
    async fn offer_id(&self) -> String {
        num(&self.0, "offer_id")
    }
    /// Price.
    async fn price(&self) -> String {
        num(&self.0, "price")
    }
    /// Results collateral.
    async fn results_collateral(&self) -> String {
        num(&self.0, "results_collateral")
    }
    /// Timeout collateral.
    async fn timeout_collateral(&self) -> String {
        num(&self.0, "timeout_collateral")
    }
    /// active, committed, revealed, challenged, completed, timed_out or rejected.
    async fn state(&self) -> String {
        text(&self.0, "state")
    }
    /// Execution deadline.
    async fn execution_deadline(&self) -> i64 {
        int(&self.0, "execution_deadline")
    }
    /// Result commitment.
    async fn commitment(&self) -> Option<String> {
        opt_text(&self.0, "commitment")
    }
    /// Reveal deadline.
    async fn reveal_deadline(&self) -> Option<i64> {
        opt_int(&self.0, "reveal_deadline")
    }
    /// Revealed result hash.
    async fn result_hash(&self) -> Option<String> {
        opt_text(&self.0, "result_hash")
    }
    /// Revealed result URI.
    async fn result_uri(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        opt_text(&self.0, "result_uri")
            .map(|uri| sent(ctx, uri))
            .transpose()
    }
    /// Judge deadline.
    async fn judge_deadline(&self) -> Option<i64> {
        opt_int(&self.0, "judge_deadline")
    }
    /// Mediation case, if challenged.
    async fn case_id(&self) -> Option<String> {
        opt_num(&self.0, "case_id")
    }
    /// accepted, finalized, mediation or undecided (mediation found no majority).
    async fn completion(&self) -> Option<String> {
        opt_text(&self.0, "completion")
    }
    /// Paid to the provider.
    async fn paid(&self) -> Option<String> {
        opt_num(&self.0, "paid")
    }
    /// Protocol fee.
    async fn fee(&self) -> Option<String> {
        opt_num(&self.0, "fee")
    }
    /// Compensation to the creator.
    async fn compensation(&self) -> Option<String> {
        opt_num(&self.0, "compensation")
    }
    /// Opened (unix seconds).
    async fn opened_at(&self) -> i64 {
        int(&self.0, "opened_at")
    }
    /// Last change (unix seconds).
    async fn updated_at(&self) -> i64 {
        int(&self.0, "updated_at")
    }
    /// Every state with its block and time.
    #[graphql(complexity = "budget::bounded_list_cost(MAX_DEAL_STEPS, child_complexity)")]
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<DealStep>> {
        Ok(
            load(ctx, &rows::DEAL_HISTORY, "deal_id", &text(&self.0, "id"))
                .await?
                .into_iter()
                .map(|row| DealStep {
                    state: text(&row, "state"),
                    block_number: int(&row, "block_number"),
                    log_index: int(&row, "log_index"),
                    tx_hash: text(&row, "tx_hash"),
                    timestamp: int(&row, "timestamp"),
                })
                .collect(),
        )
    }
    /// The job.
    async fn job(&self, ctx: &Context<'_>) -> Result<Option<Job>> {
        Ok(load(ctx, &rows::JOBS, "id", &text(&self.0, "job_id"))
            .await?
            .into_iter()
            .next()
            .map(Job::stored))
    }
    /// The mediation case, if the deal was challenged.
    async fn case(&self, ctx: &Context<'_>) -> Result<Option<Case>> {
        let Some(case) = opt_text(&self.0, "case_id") else {
            return Ok(None);
        };
        Ok(load(ctx, &rows::CASES, "id", &case)
            .await?
            .into_iter()
            .next()
            .map(Case::from))
    }
    /// The provider's record.
    async fn provider_record(&self, ctx: &Context<'_>) -> Result<Option<Provider>> {
        Ok(
            load(ctx, &rows::PROVIDERS, "address", &text(&self.0, "provider"))
                .await?
                .into_iter()
                .next()
                .map(Provider),
        )
    }
}

/// A provider.
pub struct Provider(pub Row);

#[Object]
impl Provider {
    /// Address.
    async fn address(&self) -> String {
        text(&self.0, "address")
    }
    /// Hardware.
    async fn hardware(&self) -> Hardware {
        hardware(&self.0, "")
    }
    /// Metadata URI.
    async fn metadata_uri(&self, ctx: &Context<'_>) -> Result<String> {
        sent(ctx, text(&self.0, "metadata_uri"))
    }
    /// Deals completed.
    async fn completed(&self) -> i64 {
        int(&self.0, "completed")
    }
    /// Deals failed (timed out).
    async fn failed(&self) -> i64 {
        int(&self.0, "failed")
    }
    /// Disputes won.
    async fn disputes_won(&self) -> i64 {
        int(&self.0, "disputes_won")
    }
    /// Disputes lost.
    async fn disputes_lost(&self) -> i64 {
        int(&self.0, "disputes_lost")
    }
    /// Total earnings.
    async fn earnings(&self) -> String {
        num(&self.0, "earnings")
    }
    /// Total slashed.
    async fn slashed(&self) -> String {
        num(&self.0, "slashed")
    }
    /// Registered (unix seconds).
    async fn registered_at(&self) -> i64 {
        int(&self.0, "registered_at")
    }
    /// The provider's deals, newest first: the first `first` (default 50,
    /// at most 1 000; `deals(where: { provider })` pages through all).
    #[graphql(complexity = "budget::nested_list_cost(first, child_complexity)")]
    async fn deals(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<Deal>> {
        // Ids are zero-padded text, so text order is numeric order.
        let deals = nested_page(
            ctx,
            &page::PROVIDER_DEALS,
            "provider",
            text(&self.0, "address"),
            page::PROVIDER_DEALS.order("id", true)?,
            first,
        )
        .await?;
        Ok(deals.into_iter().map(Deal::stored).collect())
    }
}

/// A validator.
#[derive(SimpleObject)]
pub struct Validator {
    /// Address.
    pub address: String,
    /// Stake.
    pub stake: String,
    /// Unbonding.
    pub unbonding: String,
    /// Cases open.
    pub active_cases: i64,
    /// Votes with the majority.
    pub with_majority: i64,
    /// Votes against the majority.
    pub against_majority: i64,
    /// Cases not revealed.
    pub no_shows: i64,
    /// Undecided cases.
    pub undecided: i64,
    /// Earned.
    pub earned: String,
    /// Slashed.
    pub slashed: String,
}

impl From<Row> for Validator {
    fn from(row: Row) -> Self {
        Self {
            address: text(&row, "address"),
            stake: num(&row, "stake"),
            unbonding: num(&row, "unbonding"),
            active_cases: int(&row, "active_cases"),
            with_majority: int(&row, "with_majority"),
            against_majority: int(&row, "against_majority"),
            no_shows: int(&row, "no_shows"),
            undecided: int(&row, "undecided"),
            earned: num(&row, "earned"),
            slashed: num(&row, "slashed"),
        }
    }
}

/// An offer.
#[derive(SimpleObject)]
pub struct Offer {
    /// Offer id.
    pub id: String,
    /// Provider.
    pub provider: String,
    /// Hardware offered.
    pub hardware: Hardware,
    /// Price.
    pub price: String,
    /// Shortest job it takes (seconds).
    pub min_duration: i64,
    /// Longest job (seconds).
    pub max_duration: i64,
    /// Deals at once.
    pub max_concurrent: i64,
    /// Expiry (unix seconds).
    pub expiry: i64,
    /// Deals running.
    pub active_deals: i64,
    /// Cancelled.
    pub cancelled: bool,
}

impl From<Row> for Offer {
    fn from(row: Row) -> Self {
        Self {
            id: num(&row, "id"),
            provider: text(&row, "provider"),
            hardware: hardware(&row, ""),
            price: num(&row, "price"),
            min_duration: int(&row, "min_duration"),
            max_duration: int(&row, "max_duration"),
            max_concurrent: int(&row, "max_concurrent"),
            expiry: int(&row, "expiry"),
            active_deals: int(&row, "active_deals"),
            cancelled: int(&row, "cancelled") != 0,
        }
    }
}

/// A mediation case.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Case {
    /// The stored key, for loading votes.
    #[graphql(skip)]
    pub key: String,
    /// Case id.
    pub id: String,
    /// Deal id.
    pub deal_id: String,
    /// awaiting_randomness, voting or resolved.
    pub state: String,
    /// Round (0 or 1 after a redraw).
    pub round: i64,
    /// Drawn validators.
    pub validators: Vec<String>,
    /// provider_right, provider_wrong or no_decision.
    pub outcome: Option<String>,
    /// Votes agreeing with the provider.
    pub agree: Option<i64>,
    /// Votes disagreeing.
    pub disagree: Option<i64>,
    /// Mediation fee.
    pub fee: String,
}

impl From<Row> for Case {
    fn from(row: Row) -> Self {
        Self {
            key: text(&row, "id"),
            id: num(&row, "id"),
            deal_id: num(&row, "deal_id"),
            state: text(&row, "state"),
            round: int(&row, "round"),
            validators: serde_json::from_str(&text(&row, "validators")).unwrap_or_default(),
            outcome: opt_text(&row, "outcome"),
            agree: opt_int(&row, "agree"),
            disagree: opt_int(&row, "disagree"),
            fee: num(&row, "fee"),
        }
    }
}

#[async_graphql::ComplexObject]
impl Case {
    /// Votes committed in this case, by validator address.
    #[graphql(complexity = "budget::bounded_list_cost(MAX_VOTES_PER_CASE, child_complexity)")]
    async fn votes(&self, ctx: &Context<'_>) -> Result<Vec<Vote>> {
        Ok(load(ctx, &rows::VOTES, "case_id", &self.key)
            .await?
            .into_iter()
            .map(|row| Vote {
                validator: text(&row, "validator"),
                commitment: text(&row, "commitment"),
                result_hash: opt_text(&row, "result_hash"),
                output_digest: opt_text(&row, "output_digest"),
                agrees_with_provider: opt_int(&row, "agrees_with_provider").map(|v| v != 0),
                outcome: opt_text(&row, "outcome"),
                earned: opt_num(&row, "earned"),
                slashed: opt_num(&row, "slashed"),
            })
            .collect())
    }
}

/// A validator's vote in a case.
#[derive(SimpleObject)]
pub struct Vote {
    /// Validator.
    pub validator: String,
    /// The committed hash.
    pub commitment: String,
    /// The revealed result hash, once revealed.
    pub result_hash: Option<String>,
    /// The revealed digest of the outputs the vote stands for, once revealed.
    pub output_digest: Option<String>,
    /// Whether the revealed result matches the provider's.
    pub agrees_with_provider: Option<bool>,
    /// with_majority, against_majority, no_show or undecided, once settled.
    pub outcome: Option<String>,
    /// Earned when settled.
    pub earned: Option<String>,
    /// Slashed when settled.
    pub slashed: Option<String>,
}

/// Vault balances of an account.
#[derive(SimpleObject)]
pub struct Balance {
    /// Account.
    pub account: String,
    /// Free to withdraw or spend.
    pub available: String,
    /// Locked as escrow, collateral or stake.
    pub locked: String,
}

impl From<Row> for Balance {
    fn from(row: Row) -> Self {
        Self {
            account: text(&row, "account"),
            available: num(&row, "available"),
            locked: num(&row, "locked"),
        }
    }
}

/// A raw event.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Event {
    /// Block.
    pub block_number: i64,
    /// Log index in the block.
    pub log_index: i64,
    /// Block hash.
    pub block_hash: String,
    /// Transaction.
    pub tx_hash: String,
    /// Emitting contract's name.
    pub contract: String,
    /// Emitting contract's address.
    pub address: String,
    /// Event name.
    pub name: String,
    /// Topics.
    #[graphql(skip)]
    pub topics: Vec<String>,
    /// Data (hex).
    #[graphql(skip)]
    pub data: String,
    /// Block time.
    pub timestamp: i64,
}

#[async_graphql::ComplexObject]
impl Event {
    /// Topics.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        charge(ctx, self.topics.iter().map(String::len).sum())?;
        Ok(self.topics.clone())
    }
    /// Data (hex).
    async fn data(&self, ctx: &Context<'_>) -> Result<String> {
        sent(ctx, self.data.clone())
    }
}

impl From<&pond_indexer::store::EventRecord> for Event {
    fn from(e: &pond_indexer::store::EventRecord) -> Self {
        Self {
            block_number: i64::try_from(e.block_number).unwrap_or_default(),
            log_index: i64::try_from(e.log_index).unwrap_or_default(),
            block_hash: e.block_hash.clone(),
            tx_hash: e.tx_hash.clone(),
            contract: e.contract.clone(),
            address: e.address.clone(),
            name: e.name.clone(),
            topics: serde_json::from_str(&e.topics).unwrap_or_default(),
            data: e.data.clone(),
            timestamp: i64::try_from(e.timestamp).unwrap_or_default(),
        }
    }
}
