//! The API over a live index of devnode running Pond: queries reflect the
//! lifecycle, pages are keyset-paginated, bad input gets errors and the
//! server stays up, and a WebSocket subscriber sees each change once, in
//! order.

mod common;

use std::time::Duration;

use alloy::{
    primitives::{B256, U256},
    transports::http::reqwest,
};
use common::{api, scaled_out_api, Api};
use futures::{SinkExt, StreamExt};
use pond_deploy::testkit::{event, ok, tokens, Stack};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const RESULT: B256 = B256::repeat_byte(0xee);

async fn lifecycle(s: &Stack) -> U256 {
    let (creator, provider) = (s.accounts[1], s.accounts[2]);
    s.fund(creator, tokens(1_000)).await;
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let offer = s.post_offer(provider, tokens(80)).await;
    let receipt = s
        .post_job(creator, s.job_spec(tokens(100), offer, 0).await)
        .await;
    let matched: pond_bindings::market::IMarket::JobMatched = event(&receipt);
    s.deliver(provider, matched.dealId, RESULT).await;
    ok(s.deals()
        .acceptResult(matched.dealId)
        .from(creator)
        .send()
        .await)
    .await;
    matched.dealId
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_reflect_the_lifecycle() {
    let api = api().await;
    let deal = lifecycle(&api.stack).await;
    api.caught_up().await;
    let creator = format!("{:#x}", api.stack.accounts[1]);
    let provider = format!("{:#x}", api.stack.accounts[2]);
    let answer = api
        .query(&format!(
            r#"{{
              jobs(where: {{ state: "matched", gpuMemoryGbAtLeast: 24 }}) {{
                edges {{ node {{ id state matchMode price creator
                  deal {{ id state completion paid fee history {{ state }} providerRecord {{ completed earnings }} }} }} }}
                pageInfo {{ hasNextPage }}
              }}
              deal(id: "{deal}") {{ provider job {{ state }} }}
              balance(account: "{creator}") {{ available locked }}
              provider(address: "{provider}") {{ completed earnings hardware {{ gpuCount }} }}
              marketStats {{ jobsByState {{ state count }} dealsByState {{ state count }} volumeByDay {{ deals volume medianPrice gpuMemoryGb }} }}
              _meta {{ chainId isReady lagBlocks indexedBlock {{ number hash }} }}
            }}"#
        ))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let data = &answer["data"];
    let jobs = data["jobs"]["edges"].as_array().expect("edges");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0]["node"];
    assert_eq!(job["state"], "matched");
    assert_eq!(job["matchMode"], "direct");
    assert_eq!(job["price"], "80000000");
    assert_eq!(job["creator"], creator);
    assert_eq!(job["deal"]["state"], "completed");
    assert_eq!(job["deal"]["completion"], "accepted");
    assert_eq!(job["deal"]["paid"], "78000000");
    assert_eq!(job["deal"]["fee"], "2000000");
    let history: Vec<&str> = job["deal"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["state"].as_str())
        .collect();
    assert_eq!(history, ["active", "committed", "revealed", "completed"]);
    assert_eq!(job["deal"]["providerRecord"]["completed"], 1);
    assert_eq!(data["deal"]["provider"], provider);
    assert_eq!(data["deal"]["job"]["state"], "matched");
    let (available, locked) = api.stack.balances(api.stack.accounts[1]).await;
    assert_eq!(data["balance"]["available"], available.to_string());
    assert_eq!(data["balance"]["locked"], locked.to_string());
    assert_eq!(data["provider"]["earnings"], "78000000");
    assert_eq!(data["marketStats"]["volumeByDay"][0]["volume"], "80000000");
    assert_eq!(data["_meta"]["chainId"], 412_346);
    assert_eq!(data["_meta"]["isReady"], true);
    let _ = api.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_keyset_paginated_and_bad_input_gets_errors() {
    let api = api().await;
    let creator = api.stack.accounts[1];
    api.stack.fund(creator, tokens(1_000)).await;
    for _ in 0..5 {
        api.stack
            .post_job(creator, api.stack.job_spec(tokens(10), U256::ZERO, 0).await)
            .await;
    }
    api.caught_up().await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after
            .as_ref()
            .map_or(String::new(), |c| format!(", after: \"{c}\""));
        let answer = api
            .query(&format!(
                "{{ jobs(first: 2, orderBy: POSTED_AT, direction: DESC{cursor}) {{ edges {{ cursor node {{ id }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
            ))
            .await;
        let page = &answer["data"]["jobs"];
        for edge in page["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["id"].as_str().expect("id").to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["5", "4", "3", "2", "1"]);

    // A page of plain fields reads only their columns (here through a
    // fragment); a nested field makes it read whole rows. Same values.
    let fields = "id state creator maxPrice postedAt biddingEnd";
    let projected = api
        .query(&format!(
            "{{ jobs(first: 5) {{ nodes {{ __typename ...F }} }} }} fragment F on Job {{ {fields} }}"
        ))
        .await;
    let whole = api
        .query(&format!(
            "{{ jobs(first: 5) {{ nodes {{ __typename {fields} minHardware {{ gpuCount }} }} }} }}"
        ))
        .await;
    let mut whole_nodes = whole["data"]["jobs"]["nodes"].clone();
    for node in whole_nodes.as_array_mut().expect("nodes") {
        let hardware = node
            .as_object_mut()
            .expect("node")
            .remove("minHardware")
            .expect("minHardware");
        assert_eq!(hardware["gpuCount"], 1, "{whole}");
    }
    assert_eq!(
        projected["data"]["jobs"]["nodes"], whole_nodes,
        "{projected}"
    );
    assert_eq!(whole_nodes.as_array().map(Vec::len), Some(5));
    assert!(whole_nodes[0]["creator"]
        .as_str()
        .is_some_and(|c| c.starts_with("0x")));

    // Bad input: each gets errors, none takes the server down.
    let deep = "{ jobs { edges { node { deal { job { deal { job { deal { job { deal { job { id } } } } } } } } } } } }";
    for bad in [
        deep,
        "{ jobs(first: 5000) { edges { cursor } } }",
        "{ jobs(after: \"zz-not-a-cursor\") { edges { cursor } } }",
        "{ job(id: \"not a number\") { id } }",
        "{ jobs(first: \"two\") { edges { cursor } } }",
        "{ balance(account: \"0x12\") { available } }",
        "{ nope }",
        "{ jobs { edges { node { id } }",
    ] {
        let answer = api.query(bad).await;
        assert!(
            answer["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{bad}: {answer}"
        );
    }
    let oversized = "x".repeat(200_000);
    let status = reqwest::Client::new()
        .post(api.server.url())
        .json(&json!({ "query": oversized }))
        .send()
        .await
        .expect("http")
        .status();
    assert_eq!(status.as_u16(), 413);
    let base = api.server.url().replace("/graphql", "");
    let health = reqwest::get(format!("{base}/health"))
        .await
        .expect("health");
    assert!(health.status().is_success());
    let ready = reqwest::get(format!("{base}/ready")).await.expect("ready");
    assert!(ready.status().is_success());
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("pond_graphql_query_seconds_count"));
    assert!(metrics.contains("pond_indexed_block"));
    let graphiql = reqwest::get(api.server.url())
        .await
        .expect("graphiql")
        .text()
        .await
        .expect("html");
    assert!(graphiql.to_lowercase().contains("graphiql"));
    let _ = api.stop.send(true);
}

/// Subscribes to `dealChanges` over `protocol` (whose subscribe and data
/// message types differ), runs the lifecycle, and checks that each change
/// arrives once, in order.
/// The next message on `socket`, as JSON.
async fn next_message<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .expect("a message in time")
        .expect("open")
        .expect("message");
    serde_json::from_str(message.to_text().expect("text")).expect("json")
}

/// Deposits until the subscription `probe` (`Deposited` events) sees one:
/// then every subscription sent before it listens. One deposit is not
/// enough: it can be indexed before the probe is polled. Returns the
/// other messages seen meanwhile.
async fn probe_until_listening<S>(socket: &mut S, s: &Stack) -> Vec<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut others = Vec::new();
    for _ in 0..20 {
        s.fund(s.accounts[3], tokens(1)).await;
        let until = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, socket.next()).await {
            let value: Value =
                serde_json::from_str(message.to_text().expect("text")).expect("json");
            if value["id"] == "probe" {
                return others;
            }
            others.push(value);
        }
    }
    panic!("the probe subscription never saw a deposit: {others:?}");
}

async fn each_deal_change_once_in_order(api: &Api, protocol: &str, subscribe: &str, data: &str) {
    let request = common::ws_request(&api.server.ws_url(), protocol);
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.expect("ws");
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.as_bytes()),
        Some(protocol.as_bytes()),
        "the server speaks {protocol}"
    );
    socket
        .send(Message::Text(
            json!({"type": "connection_init"}).to_string().into(),
        ))
        .await
        .expect("init");
    let ack = socket.next().await.expect("ack").expect("ack");
    assert!(ack.to_text().expect("text").contains("connection_ack"));
    for (id, query) in [
        ("1", "subscription { dealChanges { id state } }"),
        // A probe: the server takes a connection's messages in order and
        // polls a new stream as it takes it, so once the probe has seen an
        // event, subscription 1 was already listening.
        (
            "probe",
            "subscription { events(name: \"Deposited\") { name } }",
        ),
    ] {
        socket
            .send(Message::Text(
                json!({"id": id, "type": subscribe, "payload": {"query": query}})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("subscribe");
    }
    let s = &api.stack;
    for value in probe_until_listening(&mut socket, s).await {
        assert_ne!(value["id"], "1", "no deal changed yet: {value}");
    }
    let deal = lifecycle(s).await;
    let mut states = Vec::new();
    while states.len() < 4 {
        let value = next_message(&mut socket).await;
        if value["type"] == data && value["id"] == "1" {
            let change = &value["payload"]["data"]["dealChanges"];
            assert_eq!(change["id"], deal.to_string());
            states.push(change["state"].as_str().expect("state").to_owned());
        }
    }
    assert_eq!(states, ["active", "committed", "revealed", "completed"]);
    // Nothing more arrives: each change came once (keep-alives aside).
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(extra) = tokio::time::timeout_at(quiet_until, socket.next()).await {
        let text = extra.expect("open").expect("message");
        let value: Value = serde_json::from_str(text.to_text().expect("text")).expect("json");
        assert!(
            value["type"] != data || value["id"] != "1",
            "no duplicate: {value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_transport_ws_subscriber_sees_each_deal_change_once_in_order() {
    let api = api().await;
    each_deal_change_once_in_order(&api, "graphql-transport-ws", "subscribe", "next").await;
    let _ = api.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_ws_subscriber_sees_each_deal_change_once_in_order() {
    let api = api().await;
    each_deal_change_once_in_order(&api, "graphql-ws", "start", "data").await;
    let _ = api.stop.send(true);
}

/// With PostgreSQL, a server that does not index hears each change through
/// LISTEN/NOTIFY, once and in order, and its `_meta` follows the indexer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_of_another_server_on_postgres_sees_each_deal_change_once_in_order() {
    let api = scaled_out_api().await;
    each_deal_change_once_in_order(&api, "graphql-transport-ws", "subscribe", "next").await;
    api.caught_up().await;
    // One more block, so the notification that carries the caught-up head
    // has surely been heard.
    api.stack.mine().await;
    api.caught_up().await;
    let checkpoint = api
        .store
        .checkpoint()
        .await
        .expect("checkpoint")
        .expect("some");
    let mut meta = Value::Null;
    for _ in 0..100 {
        meta = api
            .query("{ _meta { isReady lagBlocks indexedBlock { number hash } } }")
            .await;
        if meta["data"]["_meta"]["indexedBlock"]["number"] == checkpoint.number {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let meta = &meta["data"]["_meta"];
    assert_eq!(meta["indexedBlock"]["number"], checkpoint.number, "{meta}");
    assert_eq!(meta["indexedBlock"]["hash"], checkpoint.hash);
    assert_eq!(meta["isReady"], true);
    assert_eq!(meta["lagBlocks"], 0);
    let _ = api.stop.send(true);
}

/// A job a reorg removes is announced to `jobChanges` subscribers: its
/// last image once more, with `removed: true` (before, they last saw it
/// open and were never told it is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_a_reorg_removes_is_announced_as_removed() {
    let api = api().await;
    let s = &api.stack;
    let creator = s.accounts[1];
    s.fund(creator, tokens(1_000)).await;
    api.caught_up().await;
    let mut socket = common::subscribed(&api.server.ws_url(), "graphql-transport-ws").await;
    for (id, query) in [
        ("1", "subscription { jobChanges { id state removed } }"),
        // A probe, so that subscription 1 is known to listen (see above).
        (
            "probe",
            "subscription { events(name: \"Deposited\") { name } }",
        ),
    ] {
        socket
            .send(Message::Text(
                json!({"id": id, "type": "subscribe", "payload": {"query": query}})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("subscribe");
    }
    probe_until_listening(&mut socket, s).await;
    let receipt = s
        .post_job(creator, s.job_spec(tokens(100), U256::ZERO, 0).await)
        .await;
    let posted: pond_bindings::market::IMarket::JobPosted = event(&receipt);
    let mut changes = Vec::new();
    while changes.len() < 2 {
        let value = next_message(&mut socket).await;
        if value["id"] == "1" && value["type"] == "next" {
            changes.push(value["payload"]["data"]["jobChanges"].clone());
            if changes.len() == 1 {
                // Now the posting's block goes.
                use alloy::providers::Provider as _;
                let _: Value = s
                    .provider
                    .raw_request("anvil_reorg".into(), (1u64, Vec::<()>::new()))
                    .await
                    .expect("reorg");
            }
        }
    }
    let id = posted.jobId.to_string();
    assert_eq!(
        changes[0],
        json!({ "id": id, "state": "open", "removed": false })
    );
    assert_eq!(
        changes[1],
        json!({ "id": id, "state": "open", "removed": true })
    );
    assert!(
        api.query(&format!("{{ job(id: \"{id}\") {{ id }} }}"))
            .await["data"]["job"]
            .is_null(),
        "gone from queries too"
    );
}
