//! The subscription endpoint (`/graphql/ws`): graphql-transport-ws and the
//! older graphql-ws over WebSocket, as async-graphql serves them, with the
//! protocol's initialisation timeout: a client that sends no message
//! within [`INIT_TIMEOUT`] of the upgrade is closed with code 4408, so a
//! stranger's silent sockets do not hold the server's connections. Only
//! subscriptions are served here ([`OnlySubscriptions`]): a query over the
//! WebSocket would escape the limits of `POST /graphql` (the byte budget,
//! the queries served at once, the request timeout).

use std::{sync::Arc, time::Duration};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    http::ALL_WEBSOCKET_PROTOCOLS,
    parser::types::{ExecutableDocument, OperationType},
    ServerError, ServerResult, Variables,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
};
use futures::{SinkExt, StreamExt};

use crate::{AppState, PondSchema};

/// How long after the upgrade a client has to send its first message
/// (`connection_init`).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code graphql-transport-ws gives a missed initialisation.
const INIT_TIMEOUT_CODE: u16 = 4408;

/// Upgrades to a WebSocket and serves subscriptions on it.
pub(crate) async fn subscriptions(
    State(app): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = app.subscriptions.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, schema, protocol))
}

async fn serve(socket: WebSocket, schema: PondSchema, protocol: GraphQLProtocol) {
    let (mut sink, mut stream) = socket.split();
    let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
    // Control frames (pings) before the first message are kept for the
    // protocol handler; they do not count as initialising.
    let mut early = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => {
                let close = CloseFrame {
                    code: INIT_TIMEOUT_CODE,
                    reason: "Connection initialisation timeout".into(),
                };
                let _ = sink.send(Message::Close(Some(close))).await;
                return;
            }
            Ok(None | Some(Err(_))) => return,
            Ok(Some(Ok(message))) => {
                let data = matches!(message, Message::Text(_) | Message::Binary(_));
                early.push(Ok(message));
                if data {
                    break;
                }
            }
        }
    }
    let stream = futures::stream::iter(early).chain(stream);
    GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
        .serve()
        .await;
}

/// Refuses every operation but a subscription (the WebSocket schema's
/// extension).
pub(crate) struct OnlySubscriptions;

impl ExtensionFactory for OnlySubscriptions {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OnlySubscriptions)
    }
}

#[async_trait::async_trait]
impl Extension for OnlySubscriptions {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if document
            .operations
            .iter()
            .all(|(_, op)| op.node.ty == OperationType::Subscription)
        {
            Ok(document)
        } else {
            Err(ServerError::new(
                "only subscriptions are served over the WebSocket; send queries to POST /graphql",
                None,
            ))
        }
    }
}
