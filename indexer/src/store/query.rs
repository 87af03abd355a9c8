//! Typed list queries and the plan that keeps each one bounded.
//!
//! A list is filters, an order and a page size. Its plan walks one index
//! in the list's order ([`Table::indexes`] or the primary key): the one
//! whose leading columns the most equality filters fix, followed by the
//! order column and its tiebreak. Filters the walk can seek on (those
//! leading equalities, any filter on the order column, the cursor) go to
//! the database's `WHERE`; so a page reads at most one row more than it
//! returns. Every other filter is *residual*: the walk reads at most
//! [`SCAN_ROWS`] rows and the database tests it on each, returning only
//! the rows that pass; the walk stops as soon as the page is full, and a
//! page that found fewer
//! matches than asked by the bound says where to resume
//! ([`PageRows::resume`]). No list sorts, or reads more than a bounded
//! number of rows, whatever the table holds; the planner test of each
//! backend (`graphql/tests/plans.rs`) holds the databases to it.

use super::rows::{Row, Table, Val};

/// How many rows a page with residual filters may read before it stops
/// and gives a resume point instead.
pub const SCAN_ROWS: u64 = 1_000;

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

    /// The statements that read `query`'s page.
    ///
    /// `known` is every column of the table; `ordered_subqueries` says
    /// whether the database keeps a subquery's order through an outer
    /// `ORDER BY` without sorting again (PostgreSQL does; SQLite does not,
    /// and delivers a co-routine's rows in its order anyway).
    pub(crate) fn statements(
        &self,
        table: &Table,
        query: &PageQuery<'_>,
        known: &[String],
        ordered_subqueries: bool,
    ) -> Statements {
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
        // so only the later one is given (it implies the other). When the
        // two cannot be compared (a cursor not in the stored form), the
        // filter is tested within the bounded walk instead: a crafted
        // cursor must not make the other start a test of every row.
        let (mut start, mut after) = (None, query.after.as_ref());
        let mut demoted = None;
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
                    None => {
                        demoted = start;
                        start = None;
                    }
                }
            }
        }
        let mut conditions: Vec<String> = self
            .seek
            .iter()
            .filter(|&&i| start != Some(i) && demoted != Some(i))
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
        let seek_binds = binds.len();
        let residual: Vec<String> = self
            .residual
            .iter()
            .chain(demoted.as_ref())
            .map(|&i| condition(&query.filters[i], &mut binds))
            .collect();
        let mut columns: Vec<&str> = match query.columns {
            None => known.iter().map(String::as_str).collect(),
            Some(wanted) => wanted.to_vec(),
        };
        for c in [column, tiebreak] {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        // The walk also reads what the residual filters test.
        let mut walked = columns.clone();
        for &i in &self.residual {
            if !walked.contains(&query.filters[i].column) {
                walked.push(query.filters[i].column);
            }
        }
        let (columns, walked) = if query.columns.is_none() {
            ("*".to_owned(), "*".to_owned())
        } else {
            (columns.join(", "), walked.join(", "))
        };
        let first = query.first.clamp(1, u64::MAX - 1);
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
        let table = table.name;
        if residual.is_empty() {
            return Statements {
                page: format!(
                    "SELECT {columns} FROM {table}{filter} ORDER BY {order} LIMIT {}",
                    first + 1
                ),
                binds,
                bound: None,
            };
        }
        // The walk: at most SCAN_ROWS rows in the index's order, filtered
        // by the database, which stops as soon as the page is full. Only
        // when it is not is the walk's last position read (from the index
        // alone), to say where to resume.
        let outer_order = if ordered_subqueries {
            format!(" ORDER BY {order}")
        } else {
            String::new()
        };
        let walk = format!("SELECT {walked} FROM {table}{filter} ORDER BY {order}");
        let page = format!(
            "SELECT {columns} FROM ({walk} LIMIT {SCAN_ROWS}) AS walk WHERE {}{outer_order} LIMIT {}",
            residual.join(" AND "),
            first + 1
        );
        let keys = if column == tiebreak {
            column.to_owned()
        } else {
            format!("{column}, {tiebreak}")
        };
        let bound = format!(
            "SELECT {keys} FROM {table}{filter} ORDER BY {order} LIMIT 1 OFFSET {}",
            SCAN_ROWS - 1
        );
        Statements {
            page,
            bound: Some((bound, seek_binds)),
            binds,
        }
    }
}

/// The statements of a page ([`Plan::statements`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statements {
    /// The page's rows, at most one more than asked.
    pub page: String,
    /// The values of its placeholders, in order.
    pub binds: Vec<Val>,
    /// For a walk with residual filters: the statement reading the
    /// walk's last position (order and tiebreak of its
    /// [`SCAN_ROWS`]-th row, if it has one), with how many of
    /// [`Statements::binds`] it takes (the first ones).
    pub bound: Option<(String, usize)>,
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

    /// Some of the jobs table's columns, as a database would list them.
    fn known() -> Vec<String> {
        ["id", "state", "min_gpu_memory_gb", "max_price"]
            .map(str::to_owned)
            .to_vec()
    }

    fn jobs(filters: Vec<Filter>, column: &'static str) -> (Plan, String) {
        let query = PageQuery {
            filters,
            order: Order::by(&JOBS, column),
            first: 50,
            after: Some((Val::Text("5".into()), Val::Text("7".into()))),
            columns: None,
        };
        let plan = Plan::new(&JOBS, &query).expect("an index");
        let statements = plan.statements(&JOBS, &query, &known(), false);
        (plan, statements.page)
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
            "SELECT * FROM (SELECT * FROM jobs WHERE state = $1 AND max_price >= $2 \
             ORDER BY max_price ASC, id ASC LIMIT 1000) AS walk \
             WHERE min_gpu_memory_gb <= $3 LIMIT 51"
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
    fn a_cursor_databases_may_order_differently_tests_the_floor_within_the_walk() {
        // "~" sorts after digits bytewise but before them in many
        // PostgreSQL collations: only digit strings of one width fold. Given
        // both as starts, a database would seek on one and test the other on
        // every row of the index; so the cursor starts the walk and the
        // floor is tested within its bound.
        let query = PageQuery {
            filters: vec![Filter::at_least("max_price", Val::Text("1000".into()))],
            order: Order::by(&JOBS, "max_price"),
            first: 10,
            after: Some((Val::Text("~".into()), Val::Text(String::new()))),
            columns: None,
        };
        let plan = Plan::new(&JOBS, &query).expect("an index");
        let statements = plan.statements(&JOBS, &query, &known(), false);
        assert_eq!(
            statements.page,
            "SELECT * FROM (SELECT * FROM jobs WHERE (max_price, id) > ($1, $2) \
             ORDER BY max_price ASC, id ASC LIMIT 1000) AS walk \
             WHERE max_price >= $3 LIMIT 11"
        );
        assert_eq!(
            statements.bound,
            Some((
                "SELECT max_price, id FROM jobs WHERE (max_price, id) > ($1, $2) \
                 ORDER BY max_price ASC, id ASC LIMIT 1 OFFSET 999"
                    .to_owned(),
                2
            ))
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
