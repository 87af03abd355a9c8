//! What one request may cost: a query's cost is what it reads.
//!
//! - **Values, before it runs.** Each list field is charged a fixed
//!   [`READ_COST`] (one database read) plus its page size times what each
//!   item asks for, multiplied through nesting and aliases (the schema's
//!   complexity, [`list_cost`]); a scalar is 1. A query over [`MAX_COST`]
//!   is refused before any database work.
//! - **Bytes, as it runs.** Each request gets a [`ReadBudget`] of
//!   [`MAX_RESPONSE_BYTES`]: every row is taken from it as it streams in
//!   (the store stops reading when it is spent), and each long text a
//!   response sends (URIs, event data) is taken again per occurrence, so
//!   neither long stored strings nor many aliases can make one request
//!   hold more.
//! - **Over the WebSocket** only subscriptions are served, each operation
//!   costing at most [`MAX_SUBSCRIPTION_COST`]; a message's reads are each
//!   bounded by [`MAX_RESPONSE_BYTES`].
//! - **Requests at once.** At most [`MAX_IN_FLIGHT`] queries run at once;
//!   one more is answered at once with 503 and `Retry-After` instead of
//!   queueing for the database without bound.

pub use pond_indexer::store::ReadBudget;

use crate::schema::{DEFAULT_PAGE, MAX_PAGE};

/// The most a query may cost (values it can return, plus [`READ_COST`]
/// per list read). A full page of 1 000 jobs with every field costs about
/// 30 000.
pub const MAX_COST: usize = 100_000;

/// What one list read costs beyond its values.
pub const READ_COST: usize = 10;

/// The most a subscription may cost: what each of its messages may read.
pub const MAX_SUBSCRIPTION_COST: usize = 1_000;

/// What market statistics cost: full counts by state and a median per day
/// and class, so at most one per query.
pub const MARKET_STATS_COST: usize = MAX_COST / 2;

/// The most bytes of stored values one request may read (texts by length,
/// other values 8 bytes).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The most queries served at once; more are refused with 503.
pub const MAX_IN_FLIGHT: usize = 64;

/// The cost of a list field with page size `first` whose items each cost
/// `child`: [`READ_COST`] plus the page (as the resolver will take it,
/// out-of-range values at the bound: the resolver refuses them anyway)
/// times `child`.
#[must_use]
pub fn list_cost(first: Option<i32>, child: usize) -> usize {
    let page = first.map_or(DEFAULT_PAGE, |n| {
        u64::try_from(n).unwrap_or(1).clamp(1, MAX_PAGE)
    });
    READ_COST.saturating_add(
        usize::try_from(page)
            .unwrap_or(usize::MAX)
            .saturating_mul(child),
    )
}

/// What filters that may not all be seekable add to a list: its walk may
/// read up to [`pond_indexer::store::query::SCAN_ROWS`] rows in the
/// database, and costs as much.
pub const WALK_COST: usize = 1_000;

/// [`list_cost`] for a list that may walk past rows its filters refuse
/// (`filtered`: the query gave filters).
#[must_use]
pub fn filtered_list_cost(first: Option<i32>, child: usize, filtered: bool) -> usize {
    let walk = if filtered { WALK_COST } else { 0 };
    list_cost(first, child).saturating_add(walk)
}

/// What a nested page costs beyond its values: a query of its own per
/// parent row (a provider's deals, a job's bids), not batched.
pub const NESTED_READ_COST: usize = 50;

/// [`list_cost`] for a page read once per parent row
/// ([`NESTED_READ_COST`]).
#[must_use]
pub fn nested_list_cost(first: Option<i32>, child: usize) -> usize {
    list_cost(first, child).saturating_add(NESTED_READ_COST - READ_COST)
}

/// The cost of a list that holds at most `most` items by the protocol's
/// own bounds (a deal's steps, a case's votes).
#[must_use]
pub fn bounded_list_cost(most: usize, child: usize) -> usize {
    READ_COST.saturating_add(most.saturating_mul(child))
}

/// The error of a request that reads more than `limit` bytes.
#[must_use]
pub fn too_large(limit: usize) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "response too large: the values asked for hold more than {limit} bytes, the limit of one request; \
         ask for fewer rows or fields and page with `after`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_costs_its_page_times_its_items_plus_a_read() {
        assert_eq!(list_cost(None, 3), READ_COST + 50 * 3);
        assert_eq!(list_cost(Some(1_000), 3), READ_COST + 3_000);
        // Out of range: charged at the bound (the resolver refuses it).
        assert_eq!(list_cost(Some(1_000_000), 3), READ_COST + 3_000);
        assert_eq!(list_cost(Some(-5), 3), READ_COST + 3);
        assert_eq!(list_cost(Some(1), usize::MAX), usize::MAX);
    }
}
