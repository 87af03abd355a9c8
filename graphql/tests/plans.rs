//! The planner's promise, held against both databases: every list the API
//! offers ([`pond_graphql::page::SHAPES`]: each filter alone and combined,
//! each order in each direction, with and without a cursor) walks an
//! index in its own order. A plan that sorts, scans a table, or tests a
//! `WHERE` condition row by row instead of seeking on it fails here;
//! filters an index cannot seek on are residual and bounded by
//! `SCAN_ROWS` (and a plain list may have none). Then a residual walk is
//! run on real rows: it stops at its bound and resumes exactly.

use alloy::primitives::U256;
use pond_graphql::page::{ListShape, SHAPES};
use pond_indexer::{
    amount,
    store::{
        query::SCAN_ROWS, rows, BlockRecord, Filter, Op, Order, PageQuery, Plan, ReadBudget, Row,
        Store, Val,
    },
    testkit,
};

/// A value of the right type for `column` of `shape`'s table; upper
/// bounds far above lower ones, as a range a client asks for is (a
/// one-value range would rightly be walked by its own index).
fn sample(shape: &ListShape, column: &str, op: Op) -> Val {
    let n: u32 = if op == Op::AtMost { 1_000_000 } else { 7 };
    if shape.table.is_int(column) {
        Val::Int(n.into())
    } else {
        Val::Text(amount::encode(U256::from(n)))
    }
}

/// Every query `shape` offers.
fn queries(shape: &'static ListShape) -> Vec<PageQuery<'static>> {
    let mut out = Vec::new();
    for subset in 0..1u32 << shape.filters.len() {
        let mut filters: Vec<Filter> = shape
            .fixed
            .iter()
            .map(|&(column, op)| Filter {
                column,
                op,
                value: sample(shape, column, op),
            })
            .collect();
        for (i, &(column, op)) in shape.filters.iter().enumerate() {
            if subset & (1 << i) != 0 {
                filters.push(Filter {
                    column,
                    op,
                    value: sample(shape, column, op),
                });
            }
        }
        for &(column, _) in shape.orders {
            for descending in [false, true] {
                if descending && !shape.descending {
                    continue;
                }
                let order = shape.order(column, descending).expect("declared");
                // No cursor, one in the stored form, and a crafted one
                // whose text no floor can be compared with.
                for cursor in 0..3 {
                    let crafted = || Val::Text("9".into());
                    let after = match cursor {
                        0 => None,
                        1 => Some((
                            sample(shape, order.column, Op::Eq),
                            sample(shape, order.tiebreak, Op::Eq),
                        )),
                        _ if shape.table.is_int(order.column) => continue,
                        _ => Some((crafted(), crafted())),
                    };
                    out.push(PageQuery {
                        filters: filters.clone(),
                        order,
                        first: 50,
                        after,
                        columns: None,
                    });
                }
            }
        }
    }
    out
}

/// Why `lines` (the plan of `query`) is not a bounded index walk, if it
/// is not.
fn unbounded(
    backend: &str,
    table: &str,
    plan: &Plan,
    query: &PageQuery<'_>,
    lines: &[String],
) -> Option<String> {
    let text = lines.join("\n");
    let seeks = !plan.seek.is_empty() || query.after.is_some();
    if backend == "sqlite" {
        if text.contains("TEMP B-TREE") {
            return Some("sorts".into());
        }
        // SQLite keeps a residual walk's order only as a co-routine (a
        // subquery it did not flatten into the page's query).
        if !plan.residual.is_empty() && !text.contains("CO-ROUTINE walk") {
            return Some("does not walk as a co-routine, so its order is not kept".into());
        }
        let reads: Vec<&String> = lines
            .iter()
            .filter(|l| {
                l.contains(&format!("SCAN {table}")) || l.contains(&format!("SEARCH {table}"))
            })
            .collect();
        if reads.is_empty() {
            return Some("reads the table in no way this test knows".into());
        }
        for access in reads {
            if let Some(why) = sqlite_read_unbounded(access, seeks, plan, query) {
                return Some(why);
            }
        }
        None
    } else {
        if text.contains("Seq Scan") {
            return Some("scans the table".into());
        }
        if text.contains("Sort") {
            return Some("sorts".into());
        }
        // A condition an index walk tests row by row instead of seeking.
        let mut node = "";
        for line in lines {
            if line.trim_start().starts_with("->") || !line.starts_with(' ') {
                node = line;
            } else if line.trim_start().starts_with("Filter:") && node.contains("Index") {
                return Some(format!("filters rows the index walks ({node})"));
            }
        }
        None
    }
}

/// Why one SQLite table read of a list's plan is unbounded, if it is.
fn sqlite_read_unbounded(
    access: &str,
    seeks: bool,
    plan: &Plan,
    query: &PageQuery<'_>,
) -> Option<String> {
    {
        let access = access.trim_start();
        if seeks && !access.starts_with("SEARCH") {
            return Some("scans instead of seeking".into());
        }
        // Each filter the plan seeks on must be one of the index's
        // constraints, shown in parentheses.
        let constraints: Vec<&str> = access
            .split_once('(')
            .map_or("", |(_, c)| c)
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        let cursor = query.after.as_ref().map(|_| query.order.column);
        for column in plan
            .seek
            .iter()
            .map(|&i| query.filters[i].column)
            .chain(cursor)
        {
            if !constraints.contains(&column) {
                return Some(format!("does not seek on {column}"));
            }
        }
        None
    }
}

#[tokio::test]
async fn every_list_the_api_offers_walks_an_index_on_both_backends() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        if backend == "postgres" {
            // PostgreSQL weighs indexes by statistics, which autovacuum
            // keeps on a live index: give it some, or it cannot tell an
            // event name from a range of blocks. (SQLite's planner, with
            // no statistics, is held to the plan structurally.)
            for sql in [
                "INSERT INTO events (chain_id, block_number, log_index, block_hash, tx_hash, \
                 address, contract, name, topics, data, timestamp) \
                 SELECT 1, g, 0, '0x', '0x', '0x', 'C' || (g % 8), 'N' || (g % 40), '[]', '0x', g \
                 FROM generate_series(1, 5000) g",
                "ANALYZE events",
            ] {
                sqlx::query(sql)
                    .execute(store.reader())
                    .await
                    .expect("events for statistics");
            }
        }
        let mut checked = 0;
        for shape in SHAPES {
            for query in queries(shape) {
                let plan = Plan::new(shape.table, &query)
                    .unwrap_or_else(|| panic!("{}: no index for {:?}", shape.field, query.order));
                if !shape.connection {
                    assert!(
                        plan.residual.is_empty(),
                        "{}: a plain list cannot resume, yet {query:?} has residual filters",
                        shape.field
                    );
                }
                let lines = store
                    .explain_page(shape.table, &query)
                    .await
                    .expect("explain");
                if let Some(why) = unbounded(backend, shape.table.name, &plan, &query, &lines) {
                    panic!(
                        "{backend}: {} {why}: {query:?}\nplan: {plan:?}\n{}",
                        shape.field,
                        lines.join("\n")
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 1_000, "{backend}: only {checked} shapes");
    }
}

#[tokio::test]
async fn every_index_the_planner_knows_exists_on_both_backends() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        let sql = if backend == "sqlite" {
            "SELECT m.tbl_name, group_concat(i.name, ',') FROM sqlite_master m, \
             pragma_index_info(m.name) i WHERE m.type = 'index' GROUP BY m.name"
        } else {
            "SELECT c.relname::TEXT, string_agg(a.attname::TEXT, ',' ORDER BY k.ord) \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' \
             CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             GROUP BY x.indexrelid, c.relname"
        };
        let found: Vec<(String, String)> = sqlx::query_as(sql)
            .fetch_all(store.reader())
            .await
            .expect("indexes");
        for table in rows::TABLES.into_iter().chain([&rows::EVENTS]) {
            for index in table.indexes {
                let columns = index.join(",");
                assert!(
                    found.iter().any(|(t, c)| t == table.name && *c == columns),
                    "{backend}: no index {}({columns}); found {found:?}",
                    table.name
                );
            }
        }
    }
}

fn job(id: u64, gpu: i64) -> Row {
    let text = |s: &str| Val::Text(s.to_owned());
    let int = Val::Int;
    [
        ("id", Val::Text(amount::encode(U256::from(id)))),
        (
            "creator",
            text("0x00000000000000000000000000000000000000aa"),
        ),
        (
            "relayer",
            text("0x0000000000000000000000000000000000000000"),
        ),
        ("state", text("open")),
        ("module_hash", text("0x")),
        ("module_uri", text("")),
        ("input_hash", text("0x")),
        ("input_uri", text("")),
        ("min_gpu_count", int(0)),
        ("min_gpu_memory_gb", int(gpu)),
        ("min_cpu_cores", int(1)),
        ("min_ram_gb", int(1)),
        ("min_disk_gb", int(1)),
        ("max_duration", int(600)),
        ("max_price", Val::Text(amount::encode(U256::from(id)))),
        ("match_deadline", int(0)),
        ("bidding_end", int(0)),
        ("match_mode", Val::Null),
        ("deal_id", Val::Null),
        ("price", Val::Null),
        ("refunded", Val::Null),
        ("best_bid", Val::Null),
        ("best_bidder", Val::Null),
        ("posted_block", int(1)),
        ("posted_at", int(i64::try_from(id).unwrap_or_default())),
        ("updated_at", int(0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn a_residual_walk_stops_at_its_bound_and_resumes_exactly() {
    // Jobs 1..=N; only every 1 000th needs a large GPU. Ordered by price
    // among open jobs, the GPU filter is residual: each page may read
    // SCAN_ROWS rows, then says where it stopped.
    let total = SCAN_ROWS * 2 + 500;
    let wanted: Vec<u64> = (1..=total).filter(|id| id % 1_000 == 0).collect();
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        let mut batch = store.begin(1).await.expect("begin");
        let block = BlockRecord {
            number: 1,
            hash: format!("0x{}", "11".repeat(32)),
            parent_hash: format!("0x{}", "00".repeat(32)),
            timestamp: 1,
        };
        batch.block(&block).await.expect("block");
        for id in 1..=total {
            let gpu = if id % 1_000 == 0 { 80 } else { 8 };
            let row = job(id, gpu);
            let key = [row["id"].clone()];
            batch.put(&rows::JOBS, &key, Some(row)).await.expect("put");
        }
        batch.commit(&block).await.expect("commit");

        let mut after = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let query = PageQuery {
                filters: vec![
                    Filter::eq("state", Val::Text("open".into())),
                    Filter {
                        column: "min_gpu_memory_gb",
                        op: Op::AtLeast,
                        value: Val::Int(80),
                    },
                ],
                order: Order::by(&rows::JOBS, "max_price"),
                first: 10,
                after: after.clone(),
                columns: None,
            };
            let page = store
                .page(&rows::JOBS, &query, &ReadBudget::new(1 << 24))
                .await
                .expect("page");
            pages += 1;
            assert!(pages < 10, "{backend}: the walk does not progress");
            seen.extend(page.rows.iter().map(|r| {
                amount::decode(r["id"].text().unwrap_or_default())
                    .unwrap_or_default()
                    .to::<u64>()
            }));
            if !page.more {
                assert!(page.resume.is_none(), "{backend}");
                break;
            }
            let last = page
                .resume
                .as_ref()
                .or(page.rows.last())
                .expect("a page with more has a place to resume");
            after = Some((last["max_price"].clone(), last["id"].clone()));
        }
        assert_eq!(seen, wanted, "{backend}");
        // Each page read at most SCAN_ROWS rows: three walks for all.
        assert_eq!(pages, 3, "{backend}");
    }
}
