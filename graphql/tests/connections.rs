//! Strangers holding the API's connections (loopback; source addresses
//! 127.0.0.x tell the "clients" apart): one address keeps only its share,
//! a connection that never sends a request is closed after the short
//! limit, and meanwhile a normal client's query is answered and an open
//! subscription socket stays up past that limit.

mod common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use pond_graphql::{router, Server};
use pond_indexer::testkit;
use pond_listener::{
    testkit::{connect_from, post_from, silent_connections_are_capped_and_closed},
    ConnectionLimits,
};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_cannot_stall_the_api() {
    let state = common::api_state_over(&testkit::sqlite_url()).await;
    let limits = ConnectionLimits {
        max_connections: 64,
        max_per_peer: 4,
        idle_before_answer: Duration::from_secs(1),
        idle: Duration::from_secs(60),
    };
    let server = Server::start_with(
        router(state, None),
        "127.0.0.1:0".parse().expect("addr"),
        limits,
    )
    .await
    .expect("server");

    // A subscriber from its own address: upgraded, so answered.
    let ws = connect_from("127.0.0.4", server.addr).await;
    let request = common::ws_request(&server.ws_url(), "graphql-transport-ws");
    let (mut socket, _) = tokio_tungstenite::client_async(request, ws)
        .await
        .expect("upgraded");

    silent_connections_are_capped_and_closed(
        "127.0.0.2",
        server.addr,
        10,
        4,
        limits.idle_before_answer,
    )
    .await;

    // A normal client is answered.
    let body = json!({ "query": "{ __typename }" }).to_string();
    let answer = post_from("127.0.0.3", server.addr, "/graphql", &body).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"__typename\":\"QueryRoot\""), "{answer}");

    // The subscriber, quiet for longer than the short limit, still talks.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    common::initialise(&mut socket).await;
}

/// A WebSocket that never sends `connection_init` (a `pong` is not one) is
/// closed with 4408 (the graphql-transport-ws initialisation timeout) once
/// the limit passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_initialises_is_closed_with_4408() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let state = common::api_state_over(&testkit::sqlite_url()).await;
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let request = common::ws_request(&server.ws_url(), "graphql-transport-ws");
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgraded");
    let started = std::time::Instant::now();
    // Other messages do not stand for `connection_init`.
    socket
        .send(Message::Text(json!({"type": "pong"}).to_string().into()))
        .await
        .expect("sent");
    let limit = pond_graphql::subscriptions::INIT_TIMEOUT + Duration::from_secs(5);
    let closed = loop {
        let message = tokio::time::timeout(limit, socket.next())
            .await
            .expect("closed in time");
        match message {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    let frame = closed.expect("a close frame");
    assert_eq!(frame.code, CloseCode::from(4408));
    assert!(
        started.elapsed() >= pond_graphql::subscriptions::INIT_TIMEOUT - Duration::from_secs(1)
    );
}

/// An id can be used again once its subscription is completed, and the new
/// subscription is the one that runs and can be stopped: the first one's
/// end is not taken for the second's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_id_can_be_used_again_after_complete() {
    let state = common::api_state_over(&testkit::sqlite_url()).await;
    let updates = state.updates.clone();
    let server = Server::start(router(state, None), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    let mut socket = common::subscribed(&server.ws_url(), "graphql-transport-ws").await;
    let subscribe = json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription { removals { forkBlock } }"}})
        .to_string();
    let complete = json!({"id": "a", "type": "complete"}).to_string();
    for message in [&subscribe, &complete, &subscribe] {
        socket
            .send(Message::Text(message.clone().into()))
            .await
            .expect("sent");
    }
    // The server acknowledges the first one's completion, then serves the
    // second: a removal reaches it.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let _ = updates.send(pond_indexer::follow::Update::Removed {
            fork: 7,
            events: Vec::new(),
            changed: Vec::new(),
        });
        let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(300), socket.next()).await
        else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let completed_before = seen.iter().any(|t| t == "complete");
        seen.push(value["type"].as_str().unwrap_or_default().to_owned());
        if value["type"] == "next" && completed_before {
            assert_eq!(
                value["payload"]["data"]["removals"]["forkBlock"], 7,
                "{value}"
            );
            break;
        }
    }
    // One completion (the first's, acknowledged), then the second's
    // messages; never a completion taken from the first for the second.
    assert_eq!(
        seen.iter().filter(|t| *t == "complete").count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("next"),
        "the second runs: {seen:?}"
    );
    // And it is the one a complete stops.
    socket
        .send(Message::Text(complete.into()))
        .await
        .expect("sent");
    let mut completed = false;
    while let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_secs(2), socket.next()).await
    {
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        if value["type"] == "complete" {
            completed = true;
            break;
        }
    }
    assert!(completed);
}
