//! A query's cost is what it reads: strangers' queries that could read
//! too much are refused before they run, a response is bounded in bytes on
//! both backends, a saturated server sheds load at once, and indexing
//! never waits for readers (issue 16, items 5 and 6).

mod common;

use std::time::{Duration, Instant};

use alloy::{primitives::B256, transports::http::reqwest};
use futures::{SinkExt, StreamExt};
use pond_graphql::{budget, router, Server};
use pond_indexer::{store::BlockRecord, testkit};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn first_error(answer: &Value) -> &str {
    answer["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Every field of a job: a full page of them must stay within the cost.
const EVERY_JOB_FIELD: &str = "id removed creator relayer state moduleHash moduleUri inputHash \
     inputUri minHardware { gpuCount gpuMemoryGb cpuCores ramGb diskGb } maxDuration maxPrice \
     matchDeadline biddingEnd matchMode price bestBid bestBidder postedBlock postedAt updatedAt";

/// The attack of the issue: 700 aliases of a 1 000-row page (45 KB) were
/// accepted and each made every other client wait about 10 s. Now it and
/// a nested page of pages are refused before any database work, a full
/// page with every field is still served, and while three clients send
/// the attack in a loop a normal client is answered as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_that_could_read_too_much_are_refused_before_they_run() {
    let url = testkit::sqlite_url();
    let state = common::api_state_over(&url).await;
    common::index_jobs(&state.store, 1_000, 16).await;
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let client = reqwest::Client::new();

    let aliases: String = (0..700)
        .map(|i| format!("a{i}: jobs(first: 1000) {{ edges {{ node {{ id }} }} }} "))
        .collect();
    let attack = format!("{{ {aliases} }}");
    assert!(attack.len() > 30_000, "{}", attack.len());
    let (status, answer) = common::post(&client, &server.url(), &attack).await;
    assert_eq!(status, 200);
    assert_eq!(first_error(&answer), "Query is too complex.", "{answer}");
    assert!(answer["data"].is_null(), "nothing ran: {answer}");

    // The page size through a variable is counted the same (300 aliases:
    // under the cost at the default page of 50, far over it at 1 000).
    let with_variable = format!(
        "query($n: Int) {{ {} }}",
        (0..300)
            .map(|i| format!("a{i}: jobs(first: $n) {{ edges {{ node {{ id }} }} }} "))
            .collect::<String>()
    );
    let answer: Value = client
        .post(server.url())
        .json(&json!({ "query": with_variable, "variables": { "n": 1000 } }))
        .send()
        .await
        .expect("http")
        .json()
        .await
        .expect("json");
    assert_eq!(first_error(&answer), "Query is too complex.", "{answer}");

    let nested = "{ providers(first: 1000) { edges { node { deals(first: 1000) { id } } } } }";
    let (_, answer) = common::post(&client, &server.url(), nested).await;
    assert_eq!(first_error(&answer), "Query is too complex.", "{answer}");

    // Market statistics count every job: at most one per query.
    let stats =
        "{ a: marketStats { jobsByState { count } } b: marketStats { jobsByState { count } } }";
    let (_, answer) = common::post(&client, &server.url(), stats).await;
    assert_eq!(first_error(&answer), "Query is too complex.", "{answer}");
    // Over the WebSocket only subscriptions are served: a query there
    // would escape this endpoint's limits.
    let mut socket = common::subscribed(&server.ws_url(), "graphql-transport-ws").await;
    let query = json!({
        "id": "q",
        "type": "subscribe",
        "payload": {"query": "{ jobs(first: 1000) { edges { node { id } } } }"},
    });
    socket
        .send(Message::Text(query.to_string().into()))
        .await
        .expect("sent");
    let refused = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("answered")
        .expect("open")
        .expect("message");
    let refused: Value = serde_json::from_str(refused.to_text().expect("text")).expect("json");
    // async-graphql answers an operation refused before it runs with a
    // result holding the error, then completes it.
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert!(
        refused["payload"]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("only subscriptions are served over the WebSocket")),
        "{refused}"
    );

    let full_page =
        format!("{{ jobs(first: 1000) {{ edges {{ node {{ {EVERY_JOB_FIELD} }} }} }} }}");
    let (_, answer) = common::post(&client, &server.url(), &full_page).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(
        answer["data"]["jobs"]["edges"].as_array().map(Vec::len),
        Some(1_000)
    );

    let attackers: Vec<_> = (0..3)
        .map(|_| {
            let (client, url, attack) = (client.clone(), server.url(), attack.clone());
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_secs(3);
                let mut sent = 0;
                while Instant::now() < until {
                    let (_, answer) = common::post(&client, &url, &attack).await;
                    assert_eq!(first_error(&answer), "Query is too complex.");
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let normal =
        "{ jobs(first: 50, where: { state: \"open\" }) { edges { node { id maxPrice } } } }";
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let (_, answer) = common::post(&client, &server.url(), normal).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(
            answer["data"]["jobs"]["edges"].as_array().map(Vec::len),
            Some(50),
            "{answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut attacks = 0;
    for attacker in attackers {
        attacks += attacker.await.expect("attacker");
    }
    assert!(attacks >= 3, "the attackers ran: {attacks}");
    // It was about 10 s per query before; now the normal client does not
    // wait for the attackers (a generous bound for a loaded debug build).
    assert!(
        slowest < Duration::from_secs(2),
        "slowest normal query {slowest:?}"
    );
}

/// Four parallel queries for jobs with 90 KB `moduleUri`s took the server
/// from 118 MB to more than 6 GB. Now the bytes one request reads are
/// bounded: on both backends, a page within the budget is served, one over
/// it (alone, or through aliases) gets the clear error, and a page of the
/// same rows without the long column is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_is_bounded_in_bytes_on_both_backends() {
    const URI: usize = 90_000;
    let fits = budget::MAX_RESPONSE_BYTES / URI / 2;
    let over = budget::MAX_RESPONSE_BYTES / URI + 1;
    for (backend, url) in testkit::both().await {
        let state = common::api_state_over(&url).await;
        common::index_jobs(&state.store, u64::try_from(over).expect("count"), URI).await;
        let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("server");
        let client = reqwest::Client::new();
        let page = |n: usize, fields: &str| {
            format!("{{ jobs(first: {n}) {{ edges {{ node {{ {fields} }} }} }} }}")
        };

        let (_, answer) = common::post(&client, &server.url(), &page(fits, "id moduleUri")).await;
        let edges = answer["data"]["jobs"]["edges"].as_array().expect("served");
        assert_eq!(edges.len(), fits, "{backend}");
        assert_eq!(
            edges[0]["node"]["moduleUri"].as_str().map(str::len),
            Some(URI),
            "{backend}"
        );

        let (status, answer) =
            common::post(&client, &server.url(), &page(over, "id moduleUri")).await;
        assert_eq!(status, 200, "{backend}");
        let message = first_error(&answer);
        assert!(
            message.starts_with("response too large") && message.contains("page with `after`"),
            "{backend}: {message}"
        );
        assert!(answer["data"].is_null(), "{backend}: no partial page");

        let twice = format!(
            "{{ a: jobs(first: {fits}) {{ edges {{ node {{ moduleUri }} }} }} \
               b: jobs(first: {fits}) {{ edges {{ node {{ moduleUri }} }} }} \
               c: jobs(first: {fits}) {{ edges {{ node {{ moduleUri }} }} }} }}"
        );
        let (_, answer) = common::post(&client, &server.url(), &twice).await;
        assert!(
            first_error(&answer).starts_with("response too large"),
            "{backend}: three pages that each fit, together over: {answer:.200}"
        );

        // Aliases send a column many times though it is read once: each
        // sent copy counts.
        let aliased: String = (0..10).map(|i| format!("a{i}: moduleUri ")).collect();
        let (_, answer) = common::post(&client, &server.url(), &page(fits, &aliased)).await;
        assert!(
            first_error(&answer).starts_with("response too large"),
            "{backend}: ten copies of each URI: {answer:.200}"
        );

        let (_, answer) = common::post(&client, &server.url(), &page(over, "id state")).await;
        assert_eq!(
            answer["data"]["jobs"]["edges"].as_array().map(Vec::len),
            Some(over),
            "{backend}: the same rows without the long column"
        );

        let one = "{ job(id: \"1\") { moduleUri } }";
        let (_, answer) = common::post(&client, &server.url(), one).await;
        assert_eq!(
            answer["data"]["job"]["moduleUri"].as_str().map(str::len),
            Some(URI),
            "{backend}"
        );
        server.stop();
    }
}

/// With PostgreSQL's readers all held (every job read waits behind a
/// table lock), one query more than the server serves at once is refused
/// at once with 503 and `Retry-After`, and the indexer still commits: its
/// writer has connections of its own. Once the lock goes, every held
/// query is answered. Readers carry PostgreSQL's own statement deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_sheds_load_at_once_and_indexing_goes_on() {
    use sqlx::{Connection as _, Executor as _};
    let url = testkit::postgres_url().await;
    let state = common::api_state_over(&url).await;
    let store = state.store.clone();
    common::index_jobs(&store, 10, 16).await;
    let deadline: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.reader())
        .await
        .expect("show");
    assert_eq!(deadline, "10s");
    // Loopback is one client address: let it hold more connections than
    // the server serves queries at once, as many clients together would.
    let limits = pond_listener::ConnectionLimits {
        max_per_peer: 4 * budget::MAX_IN_FLIGHT,
        ..pond_graphql::CONNECTION_LIMITS
    };
    let server = Server::start_with(
        router(state, None),
        "127.0.0.1:0".parse().expect("addr"),
        limits,
    )
    .await
    .expect("server");
    let client = reqwest::Client::new();

    let mut lock = sqlx::PgConnection::connect(&url)
        .await
        .expect("lock connection");
    lock.execute("BEGIN").await.expect("begin");
    lock.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let held: Vec<_> = (0..budget::MAX_IN_FLIGHT)
        .map(|_| {
            let (client, url) = (client.clone(), server.url());
            tokio::spawn(async move {
                common::post(&client, &url, "{ jobs { edges { node { id } } } }").await
            })
        })
        .collect();
    // Every held query has arrived and waits (loopback, well within this).
    tokio::time::sleep(Duration::from_secs(1)).await;

    let started = Instant::now();
    let response = client
        .post(server.url())
        .json(&json!({ "query": "{ jobs { edges { node { id } } } }" }))
        .send()
        .await
        .expect("http");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "SERVER_BUSY");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );

    let mut batch = store
        .begin(412_346)
        .await
        .expect("the writer is not starved");
    let block = BlockRecord {
        number: 2,
        hash: format!("{:#x}", B256::repeat_byte(2)),
        parent_hash: format!("{:#x}", B256::repeat_byte(1)),
        timestamp: 1_760_000_002,
    };
    batch.block(&block).await.expect("block");
    batch
        .commit(&block)
        .await
        .expect("committed while every reader waits");

    lock.execute("ROLLBACK").await.expect("unlock");
    assert_eq!(
        store
            .checkpoint()
            .await
            .expect("checkpoint")
            .map(|c| c.number),
        Some(2)
    );
    for query in held {
        let (status, answer) = query.await.expect("held query");
        assert_eq!(status, 200);
        assert_eq!(
            answer["data"]["jobs"]["edges"].as_array().map(Vec::len),
            Some(10),
            "{answer}"
        );
    }
}

/// `marketStats` counts every job and deal: a flood of it reaches the
/// database once per indexed block, not once per request. While the
/// tables it reads are locked, requests at the checkpoint it was computed
/// at are answered from memory; once the index moves, it is computed
/// again and sees the new rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_stats_reach_the_database_once_per_indexed_block() {
    use sqlx::{Connection as _, Executor as _};
    let url = testkit::postgres_url().await;
    let state = common::api_state_over(&url).await;
    let store = state.store.clone();
    common::index_jobs(&store, 10, 16).await;
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let query = "{ marketStats(days: 7) { jobsByState { state count } } }";
    let (status, first) = common::post(&client, &server.url(), query).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["data"]["marketStats"]["jobsByState"],
        json!([{ "state": "open", "count": 10 }])
    );

    let mut lock = sqlx::PgConnection::connect(&url)
        .await
        .expect("lock connection");
    lock.execute("BEGIN").await.expect("begin");
    lock.execute("LOCK TABLE jobs, deals IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    // Fewer than one address's connection cap (32), all at once, each
    // asking for another number of days: the counts do not depend on it,
    // so none of them reads the tables again.
    let flood: Vec<_> = (1..=30)
        .map(|days| {
            let (client, url) = (client.clone(), server.url());
            let query = query.replace("days: 7", &format!("days: {days}"));
            tokio::spawn(async move { common::post(&client, &url, &query).await })
        })
        .collect();
    for request in flood {
        let (status, answer) = tokio::time::timeout(Duration::from_secs(5), request)
            .await
            .expect("answered from memory while the tables are locked")
            .expect("request");
        assert_eq!((status, &answer), (200, &first));
    }

    // The index moves (a new block with no jobs): the next request
    // computes again, so it waits for the lock, then answers.
    let mut batch = store.begin(412_346).await.expect("batch");
    let block = BlockRecord {
        number: 2,
        hash: format!("{:#x}", B256::repeat_byte(2)),
        parent_hash: format!("{:#x}", B256::repeat_byte(1)),
        timestamp: 1_760_000_002,
    };
    batch.block(&block).await.expect("block");
    batch.commit(&block).await.expect("commit");
    let recomputed = {
        let (client, url) = (client.clone(), server.url());
        tokio::spawn(async move { common::post(&client, &url, query).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !recomputed.is_finished(),
        "a new block is not answered from memory"
    );
    lock.execute("ROLLBACK").await.expect("unlock");
    let (status, answer) = recomputed.await.expect("request");
    assert_eq!((status, &answer), (200, &first));
}
