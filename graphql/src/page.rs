//! Lists: typed filters, keyset cursors and the connection a page is
//! served as. Every list is read through the store's planner
//! ([`pond_indexer::store::query`]), which walks an index in the list's
//! order: a page never sorts or reads more than a bounded number of rows.

use std::borrow::Cow;

use async_graphql::{
    connection::{Edge, EmptyFields, PageInfo},
    Context, Object, OutputType, Result, TypeName,
};
use pond_indexer::store::{
    rows::{self, Table},
    Filter, Op, Order, PageQuery, PageRows, Row, Store, Val,
};

use crate::schema::{bad, budget, page_size, plain_text, state, store_error};

/// A page of a list, as a Relay connection (`JobConnection`, …).
///
/// `pageInfo.endCursor` is where the next page starts. It is normally the
/// last edge's cursor; a page whose filters the list's index cannot seek
/// on reads at most a bounded number of rows
/// ([`pond_indexer::store::query::SCAN_ROWS`]) and may then hold fewer
/// edges than asked (even none) with `hasNextPage` true and an
/// `endCursor` past its last edge.
pub struct Page<T: OutputType> {
    edges: Vec<Edge<String, T, EmptyFields>>,
    more: bool,
    resume: Option<String>,
}

impl<T: OutputType> TypeName for Page<T> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", T::type_name()).into()
    }
}

#[Object(name_type)]
impl<T: OutputType> Page<T> {
    /// Where this page ends: `endCursor` continues the list (past the
    /// last edge when the page's walk stopped at its bound).
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: false,
            has_next_page: self.more,
            start_cursor: self.edges.first().map(|e| e.cursor.clone()),
            end_cursor: self
                .resume
                .clone()
                .or_else(|| self.edges.last().map(|e| e.cursor.clone())),
        }
    }

    /// The edges.
    async fn edges(&self) -> &[Edge<String, T, EmptyFields>] {
        &self.edges
    }

    /// The nodes.
    async fn nodes(&self) -> Vec<&T> {
        self.edges.iter().map(|e| &e.node).collect()
    }
}

/// What one list of the API offers: the planner test
/// (`graphql/tests/plans.rs`) runs every combination on both backends and
/// fails on one that sorts or scans, and [`Listing`] refuses a filter or
/// an order its shape does not declare, so the two cannot drift apart.
#[derive(Debug)]
pub struct ListShape {
    /// The field serving it (`jobs`, `Job.bids`, …).
    pub field: &'static str,
    /// Its table.
    pub table: &'static Table,
    /// Filters every query of it has.
    pub fixed: &'static [(&'static str, Op)],
    /// Filters a query may add, each at most once.
    pub filters: &'static [(&'static str, Op)],
    /// Its orders (column, tiebreak), ascending.
    pub orders: &'static [(&'static str, &'static str)],
    /// Whether each order may also run largest first.
    pub descending: bool,
    /// Whether it is a connection (a page cut short at its bound says
    /// where to resume); a plain list must seek on every filter.
    pub connection: bool,
}

impl ListShape {
    /// Its order by `column`, largest first when `descending`.
    ///
    /// # Errors
    /// An order the shape does not declare (a bug of this crate).
    pub fn order(&self, column: &str, descending: bool) -> Result<Order> {
        let (column, tiebreak) = *self
            .orders
            .iter()
            .find(|(c, _)| *c == column)
            .ok_or_else(|| undeclared(self, column))?;
        if descending && !self.descending {
            return Err(undeclared(self, "descending"));
        }
        Ok(Order {
            column,
            tiebreak,
            descending,
        })
    }
}

fn undeclared(shape: &ListShape, what: &str) -> async_graphql::Error {
    tracing::error!(
        field = shape.field,
        what,
        "a list used what its shape does not declare"
    );
    bad("internal error: this list cannot be read that way")
}

const JOB_ORDERS: &[(&str, &str)] = &[
    ("id", "id"),
    ("posted_at", "id"),
    ("max_price", "id"),
    ("min_gpu_memory_gb", "id"),
];

/// `jobs`.
pub static JOBS: ListShape = ListShape {
    field: "jobs",
    table: &rows::JOBS,
    fixed: &[],
    filters: &[
        ("state", Op::Eq),
        ("creator", Op::Eq),
        ("min_gpu_memory_gb", Op::AtMost),
        ("min_gpu_count", Op::AtMost),
        ("max_price", Op::AtLeast),
        ("posted_at", Op::AtLeast),
    ],
    orders: JOB_ORDERS,
    descending: true,
    connection: true,
};

/// `deals`.
pub static DEALS: ListShape = ListShape {
    field: "deals",
    table: &rows::DEALS,
    fixed: &[],
    filters: &[
        ("job_id", Op::Eq),
        ("provider", Op::Eq),
        ("creator", Op::Eq),
        ("state", Op::Eq),
    ],
    orders: &[("id", "id")],
    descending: true,
    connection: true,
};

/// `providers`.
pub static PROVIDERS: ListShape = ListShape {
    field: "providers",
    table: &rows::PROVIDERS,
    fixed: &[],
    filters: &[],
    orders: &[("address", "address")],
    descending: false,
    connection: true,
};

/// `validators`.
pub static VALIDATORS: ListShape = ListShape {
    field: "validators",
    table: &rows::VALIDATORS,
    fixed: &[],
    filters: &[],
    orders: &[("address", "address")],
    descending: false,
    connection: true,
};

/// `offers`.
pub static OFFERS: ListShape = ListShape {
    field: "offers",
    table: &rows::OFFERS,
    fixed: &[],
    filters: &[
        ("provider", Op::Eq),
        ("cancelled", Op::Eq),
        ("gpu_memory_gb", Op::AtLeast),
    ],
    orders: &[("id", "id")],
    descending: false,
    connection: true,
};

/// `events`.
pub static EVENTS: ListShape = ListShape {
    field: "events",
    table: &rows::EVENTS,
    fixed: &[],
    filters: &[
        ("contract", Op::Eq),
        ("name", Op::Eq),
        ("block_number", Op::AtLeast),
        ("block_number", Op::AtMost),
    ],
    orders: &[("block_number", "log_index")],
    descending: false,
    connection: false,
};

/// `Job.bids`.
pub static JOB_BIDS: ListShape = ListShape {
    field: "Job.bids",
    table: &rows::BIDS,
    fixed: &[("job_id", Op::Eq)],
    filters: &[],
    orders: &[("price", "provider")],
    descending: false,
    connection: false,
};

/// `Provider.deals`.
pub static PROVIDER_DEALS: ListShape = ListShape {
    field: "Provider.deals",
    table: &rows::DEALS,
    fixed: &[("provider", Op::Eq)],
    filters: &[],
    orders: &[("id", "id")],
    descending: true,
    connection: false,
};

/// Every list the API offers.
pub static SHAPES: [&ListShape; 8] = [
    &JOBS,
    &DEALS,
    &PROVIDERS,
    &VALIDATORS,
    &OFFERS,
    &EVENTS,
    &JOB_BIDS,
    &PROVIDER_DEALS,
];

/// The filters of one list query.
pub(crate) struct Listing {
    shape: &'static ListShape,
    filters: Vec<Filter>,
}

impl Listing {
    pub(crate) fn new(shape: &'static ListShape) -> Self {
        debug_assert!(
            SHAPES.iter().any(|s| std::ptr::eq(*s, shape)),
            "{} is not in SHAPES, so the planner test does not see it",
            shape.field
        );
        Self {
            shape,
            filters: Vec::new(),
        }
    }

    /// Adds a filter.
    ///
    /// # Errors
    /// A filter the shape does not declare (a bug of this crate).
    pub(crate) fn push(&mut self, filter: Filter) -> Result<()> {
        let declared = (filter.column, filter.op);
        if !self.shape.fixed.contains(&declared) && !self.shape.filters.contains(&declared) {
            return Err(undeclared(self.shape, filter.column));
        }
        self.filters.push(filter);
        Ok(())
    }

    /// One page in `order`, after the cursor `after`, served as a
    /// connection of `wrap`ped rows.
    pub(crate) async fn page<T: OutputType>(
        self,
        ctx: &Context<'_>,
        order: Order,
        first: Option<i32>,
        after: Option<String>,
        wrap: impl Fn(Row) -> T,
    ) -> Result<Page<T>> {
        let table = self.shape.table;
        let after = match after {
            Some(cursor) => {
                let (value, key) = decode_cursor(&cursor)?;
                // A value of the order column's own type, or the database
                // would be asked to compare, say, text with a number (the
                // value is not used when the order is by the key alone).
                let typed = order.column == order.tiebreak
                    || match value {
                        Val::Int(_) => table.is_int(order.column),
                        Val::Text(_) => !table.is_int(order.column),
                        Val::Null => false,
                    };
                if !typed {
                    return Err(bad(format!("malformed cursor {cursor:?}")));
                }
                Some((value, Val::Text(key)))
            }
            None => None,
        };
        let store = &state(ctx)?.store;
        let columns = node_columns(ctx, store, table, order);
        let query = PageQuery {
            filters: self.filters,
            order,
            first: page_size(first)?,
            after,
            columns: columns.as_deref(),
        };
        let found = store
            .page(table, &query, &budget(ctx))
            .await
            .map_err(store_error)?;
        Ok(connection(found, order, wrap))
    }

    /// Up to `first` rows in `order`, for a list served as a plain list
    /// (its filters are all ones its index seeks on, so it is never cut
    /// short).
    pub(crate) async fn rows(
        self,
        ctx: &Context<'_>,
        order: Order,
        first: u64,
        after: Option<(Val, Val)>,
    ) -> Result<Vec<Row>> {
        let query = PageQuery {
            filters: self.filters,
            order,
            first,
            after,
            columns: None,
        };
        let store = &state(ctx)?.store;
        let found = store
            .page(self.shape.table, &query, &budget(ctx))
            .await
            .map_err(store_error)?;
        Ok(found.rows)
    }
}

fn connection<T: OutputType>(page: PageRows, order: Order, wrap: impl Fn(Row) -> T) -> Page<T> {
    let cursor = |row: &Row| encode_cursor(row, order.column, order.tiebreak);
    Page {
        resume: page.resume.as_ref().map(cursor),
        more: page.more,
        edges: page
            .rows
            .into_iter()
            .map(|row| Edge::new(cursor(&row), wrap(row)))
            .collect(),
    }
}

/// The columns a connection's nodes need (the key, the order column and
/// each field asked of a node), when every field asked is a plain column
/// (its name in camelCase); `None`, meaning every column, when one is not
/// (a nested object, say). Reading fewer columns is most of a page's cost.
fn node_columns<'a>(
    ctx: &Context<'_>,
    store: &'a Store,
    table: &'static Table,
    order: Order,
) -> Option<Vec<&'a str>> {
    let known = store.columns(table);
    let mut columns: Vec<&str> = table.key.to_vec();
    for column in [order.column, order.tiebreak] {
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    for part in ctx.field().selection_set() {
        let nodes: Vec<_> = match part.name() {
            "edges" => part
                .selection_set()
                .filter(|f| f.name() == "node")
                .collect(),
            "nodes" => vec![part],
            _ => continue,
        };
        for field in nodes.iter().flat_map(|node| node.selection_set()) {
            if field.name() == "__typename" {
                continue;
            }
            let wanted = snake_case(field.name());
            let column = known.iter().find(|k| **k == wanted)?;
            if !columns.contains(&column.as_str()) {
                columns.push(column);
            }
        }
    }
    Some(columns)
}

/// `maxPrice` → `max_price`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn encode_cursor(row: &Row, column: &str, key: &str) -> String {
    let value = row.get(column).cloned().unwrap_or(Val::Null);
    let id = row
        .get(key)
        .and_then(Val::text)
        .unwrap_or_default()
        .to_owned();
    let json = serde_json::to_vec(&(value, id)).unwrap_or_default();
    json.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<(Val, String)> {
    let invalid = || bad(format!("malformed cursor {cursor:?}"));
    if !cursor.len().is_multiple_of(2) || cursor.len() > 2048 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let bytes = bytes.ok_or_else(invalid)?;
    let (value, id): (Val, String) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let value_is_plain = value.text().is_none_or(plain_text);
    if !value_is_plain || !plain_text(&id) {
        return Err(invalid());
    }
    Ok((value, id))
}
