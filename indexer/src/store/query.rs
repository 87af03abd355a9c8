//! Typed list queries and the plan that keeps each one bounded.
//!
//! A list is filters, an order and a page size. Its plan walks one index
//! in the list's order ([`Table::indexes`] or the primary key): the one
//! whose leading columns the most equality filters fix, followed by the
//! order column and its tiebreak. Filters the walk can seek on (those
//! leading equalities, any filter on the order column, the cursor) go to
//! the database's `WHERE`; so a page reads at most one row more than it
//! returns. Every other filter is *residual*: the walk tests it on each
//! row it passes, so it reads at most [`SCAN_ROWS`] rows; a page that
//! found fewer matches than asked stops there and says where to resume
//! ([`PageRows::resume`]). No list sorts, or reads, more than a bounded
//! number of rows, whatever the table holds; the planner test of each
//! backend (`graphql/tests/plans.rs`) holds the databases to it.

use super::rows::{Row, Table, Val};

/// The column a residual walk adds: 1 when a row passes every residual
/// filter.
pub(crate) const HIT: &str = "pond_hit";

/// How many rows a page with residual filters may read before it stops
/// and gives a resume point instead.
pub const SCAN_ROWS: u64 = 2_000;

/// A comparison a filter makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `column = value`.
    Eq,
    /// `column <= value`.
    AtMost,
    /// `column >= value`.
    AtLeast,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::AtMost => "<=",
            Self::AtLeast => ">=",
        }
    }
}

/// One filter: `column op value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// A column of the table (a name from this crate, never from input).
    pub column: &'static str,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: Val,
}

impl Filter {
    /// `column = value`.
    #[must_use]
    pub fn eq(column: &'static str, value: Val) -> Self {
        Self {
            column,
            op: Op::Eq,
            value,
        }
    }

    /// `column <= value`.
    #[must_use]
    pub fn at_most(column: &'static str, value: Val) -> Self {
        Self {
            column,
            op: Op::AtMost,
            value,
        }
    }

    /// `column >= value`.
    #[must_use]
    pub fn at_least(column: &'static str, value: Val) -> Self {
        Self {
            column,
            op: Op::AtLeast,
            value,
        }
    }
}

/// A list's order: by `column`, ties broken by `tiebreak` (unique among
/// the rows the equality filters leave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// The column ordered by.
    pub column: &'static str,
    /// The column that makes the order total.
    pub tiebreak: &'static str,
    /// Largest first.
    pub descending: bool,
}

impl Order {
    /// By `column`, then by the table's first key column, ascending.
    #[must_use]
    pub fn by(table: &Table, column: &'static str) -> Self {
        Self {
            column,
            tiebreak: table.key.first().copied().unwrap_or(column),
            descending: false,
        }
    }

    /// The same order, largest first when `descending`.
    #[must_use]
    pub fn descending(self, descending: bool) -> Self {
        Self { descending, ..self }
    }
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct PageQuery<'a> {
    /// Filters, all of which a row must pass.
    pub filters: Vec<Filter>,
    /// The order.
    pub order: Order,
    /// Rows wanted.
    pub first: u64,
    /// Start after the row with this (order value, tiebreak value).
    pub after: Option<(Val, Val)>,
    /// The columns to read (each one of the table's); every column when
    /// `None`. The order and tiebreak columns are always read.
    pub columns: Option<&'a [&'a str]>,
}

/// A page read.
#[derive(Clone, Debug, Default)]
pub struct PageRows {
    /// The rows, at most `first`.
    pub rows: Vec<Row>,
    /// Whether rows may follow.
    pub more: bool,
    /// When the walk stopped at [`SCAN_ROWS`] before finding `first` rows:
    /// the last row it read (not necessarily one that passed), to resume
    /// after.
    pub resume: Option<Row>,
}

/// How a list is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The index walked: its columns in order.
    pub index: Vec<&'static str>,
    /// Filters the walk seeks on (positions in [`PageQuery::filters`]).
    pub seek: Vec<usize>,
    /// Filters tested on each row read (positions).
    pub residual: Vec<usize>,
}

impl Plan {
    /// The plan for `query` on `table`: `None` when no index has the
    /// query's order (a list the API must not offer).
    #[must_use]
    pub fn new(table: &Table, query: &PageQuery<'_>) -> Option<Self> {
        let Order {
            column, tiebreak, ..
        } = query.order;
        let mut tail = vec![column];
        if column != tiebreak {
            tail.push(tiebreak);
        }
        let fixed = |c: &str| {
            query
                .filters
                .iter()
                .any(|f| f.column == c && f.op == Op::Eq)
        };
        let index = std::iter::once(table.key)
            .chain(table.indexes.iter().copied())
            .filter(|index| {
                index.len() >= tail.len()
                    && index.ends_with(&tail)
                    && index[..index.len() - tail.len()].iter().all(|c| fixed(c))
            })
            // The most fixed leading columns; on a tie, the one whose
            // leading column's filter came first (callers give the most
            // selective first), then the first declared.
            .map(|index| {
                let first = query
                    .filters
                    .iter()
                    .position(|f| {
                        f.op == Op::Eq && index.len() > tail.len() && f.column == index[0]
                    })
                    .unwrap_or(usize::MAX);
                (index, first)
            })
            .fold(
                None::<(&[&str], usize)>,
                |best, (index, first)| match best {
                    Some((best, at))
                        if best.len() > index.len()
                            || (best.len() == index.len() && at <= first) =>
                    {
                        Some((best, at))
                    }
                    _ => Some((index, first)),
                },
            )?
            .0;
        let prefix = &index[..index.len() - tail.len()];
        let (seek, residual) = (0..query.filters.len()).partition(|&i| {
            let filter = &query.filters[i];
            filter.column == column || (filter.op == Op::Eq && prefix.contains(&filter.column))
        });
        Some(Self {
            index: index.to_vec(),
            seek,
            residual,
        })
    }

    /// The `SELECT` and its binds, reading at most `limit` rows; residual
    /// filters become the column `pond_hit` (1 when a row passes).
    pub(crate) fn sql(&self, table: &Table, query: &PageQuery<'_>) -> (String, Vec<Val>, u64) {
        let Order {
            column,
            tiebreak,
            descending,
        } = query.order;
        let mut binds = Vec::new();
        let condition = |filter: &Filter, binds: &mut Vec<Val>| {
            binds.push(filter.value.clone());
            format!("{} {} ${}", filter.column, filter.op.sql(), binds.len())
        };
        // A filter where the walk starts and a cursor are both starts: a
        // database seeks on one of them and tests the other on every row,
        // so only the later one is given (it implies the other).
        let (mut start, mut after) = (None, query.after.as_ref());
        if let Some((value, key)) = after {
            // What the cursor's condition compares: its key alone when the
            // order column is the tiebreak.
            let value = if column == tiebreak { key } else { value };
            let starts = |f: &Filter| {
                f.column == column && f.op == if descending { Op::AtMost } else { Op::AtLeast }
            };
            start = self
                .seek
                .iter()
                .copied()
                .find(|&i| starts(&query.filters[i]));
            if let Some(i) = start {
                match compare(value, &query.filters[i].value) {
                    Some(ord) if ord.is_ge() != descending || ord.is_eq() => {}
                    Some(_) => {
                        after = None;
                        start = None;
                    }
                    None => start = None,
                }
            }
        }
        let mut conditions: Vec<String> = self
            .seek
            .iter()
            .filter(|&&i| start != Some(i))
            .map(|&i| condition(&query.filters[i], &mut binds))
            .collect();
        let comparison = if descending { "<" } else { ">" };
        if let Some((value, key)) = after {
            if column == tiebreak {
                binds.push(key.clone());
                conditions.push(format!("{tiebreak} {comparison} ${}", binds.len()));
            } else {
                binds.push(value.clone());
                binds.push(key.clone());
                let (a, b) = (binds.len() - 1, binds.len());
                conditions.push(format!("({column}, {tiebreak}) {comparison} (${a}, ${b})"));
            }
        }
        let residual: Vec<String> = self
            .residual
            .iter()
            .map(|&i| condition(&query.filters[i], &mut binds))
            .collect();
        let mut columns = match query.columns {
            None => "*".to_owned(),
            Some(wanted) => {
                let mut all: Vec<&str> = wanted.to_vec();
                for c in [column, tiebreak] {
                    if !all.contains(&c) {
                        all.push(c);
                    }
                }
                all.join(", ")
            }
        };
        let first = query.first.clamp(1, u64::MAX - 1);
        let limit = if residual.is_empty() {
            first + 1
        } else {
            columns.push_str(&format!(
                ", CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT) AS {HIT}",
                residual.join(" AND ")
            ));
            (first + 1).max(SCAN_ROWS)
        };
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let dir = if descending { "DESC" } else { "ASC" };
        let order = if column == tiebreak {
            format!("{column} {dir}")
        } else {
            format!("{column} {dir}, {tiebreak} {dir}")
        };
        let sql = format!(
            "SELECT {columns} FROM {}{filter} ORDER BY {order} LIMIT {limit}",
            table.name
        );
        (sql, binds, limit)
    }
}

/// How two values of one column compare, when every database orders them
/// the same way: two integers, or two digit strings of one width (stored
/// amounts and ids; any collation orders those as numbers). `None` for
/// anything else (the caller then keeps both conditions).
fn compare(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match (a, b) {
        (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
        (Val::Text(a), Val::Text(b)) if a.len() == b.len() && digits(a) && digits(b) => {
            Some(a.cmp(b))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rows::{DEALS, JOBS};

    fn jobs(filters: Vec<Filter>, column: &'static str) -> (Plan, String) {
        let query = PageQuery {
            filters,
            order: Order::by(&JOBS, column),
            first: 50,
            after: Some((Val::Text("5".into()), Val::Text("7".into()))),
            columns: None,
        };
        let plan = Plan::new(&JOBS, &query).expect("an index");
        let (sql, _, _) = plan.sql(&JOBS, &query);
        (plan, sql)
    }

    #[test]
    fn the_walk_seeks_on_the_state_and_the_order_column() {
        let (plan, sql) = jobs(
            vec![
                Filter::eq("state", Val::Text("open".into())),
                Filter::at_most("min_gpu_memory_gb", Val::Int(24)),
                Filter::at_least("max_price", Val::Text("9".into())),
            ],
            "max_price",
        );
        assert_eq!(plan.index, ["state", "max_price", "id"]);
        assert_eq!(plan.seek, [0, 2]);
        assert_eq!(plan.residual, [1]);
        // The cursor (5, 7) is before the floor 9: the floor alone starts
        // the walk.
        assert_eq!(
            sql,
            "SELECT *, CAST(CASE WHEN min_gpu_memory_gb <= $3 THEN 1 ELSE 0 END AS BIGINT) AS pond_hit \
             FROM jobs WHERE state = $1 AND max_price >= $2 \
             ORDER BY max_price ASC, id ASC LIMIT 2000"
        );
    }

    #[test]
    fn a_cursor_past_the_floor_replaces_it() {
        let (_, sql) = jobs(
            vec![Filter::at_least("max_price", Val::Text("3".into()))],
            "max_price",
        );
        assert!(
            sql.ends_with("FROM jobs WHERE (max_price, id) > ($1, $2) ORDER BY max_price ASC, id ASC LIMIT 51"),
            "{sql}"
        );
    }

    #[test]
    fn a_list_without_residual_filters_reads_one_row_more_than_its_page() {
        let (plan, sql) = jobs(vec![Filter::eq("creator", Val::Text("0xab".into()))], "id");
        assert_eq!(plan.index, ["creator", "id"]);
        assert!(plan.residual.is_empty());
        assert!(sql.ends_with("WHERE creator = $1 AND id > $2 ORDER BY id ASC LIMIT 51"));
    }

    #[test]
    fn the_index_fixing_the_most_leading_columns_wins() {
        let query = PageQuery {
            filters: vec![
                Filter::eq("state", Val::Text("open".into())),
                Filter::eq("job_id", Val::Text("1".into())),
            ],
            order: Order::by(&DEALS, "id").descending(true),
            first: 10,
            after: None,
            columns: None,
        };
        let plan = Plan::new(&DEALS, &query).expect("an index");
        // Both fix one column: the one on the filter given first wins.
        assert_eq!(plan.index, ["state", "id"]);
        assert_eq!(plan.residual, [1]);
        let mut query = query;
        query.filters.reverse();
        let plan = Plan::new(&DEALS, &query).expect("an index");
        assert_eq!(plan.index, ["job_id", "id"]);
        assert_eq!(plan.residual, [1]);
    }

    #[test]
    fn a_cursor_databases_may_order_differently_keeps_the_floor() {
        // "~" sorts after digits bytewise but before them in many
        // PostgreSQL collations: only digit strings of one width fold.
        let query = PageQuery {
            filters: vec![Filter::at_least("max_price", Val::Text("1000".into()))],
            order: Order::by(&JOBS, "max_price"),
            first: 10,
            after: Some((Val::Text("~".into()), Val::Text(String::new()))),
            columns: None,
        };
        let plan = Plan::new(&JOBS, &query).expect("an index");
        let (sql, _, _) = plan.sql(&JOBS, &query);
        assert!(
            sql.contains("WHERE max_price >= $1 AND (max_price, id) > ($2, $3)"),
            "{sql}"
        );
    }

    #[test]
    fn an_order_without_an_index_has_no_plan() {
        let query = PageQuery {
            filters: Vec::new(),
            order: Order::by(&JOBS, "min_ram_gb"),
            first: 10,
            after: None,
            columns: None,
        };
        assert_eq!(Plan::new(&JOBS, &query), None);
    }
}
