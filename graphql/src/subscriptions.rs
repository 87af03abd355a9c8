//! The subscription endpoint (`/graphql/ws`): graphql-transport-ws and the
//! older graphql-ws over WebSocket, as async-graphql serves them, with the
//! protocol's initialisation timeout: a client that sends no message
//! within [`INIT_TIMEOUT`] of the upgrade is closed with code 4408, so a
//! stranger's silent sockets do not hold the server's connections. Only
//! subscriptions are served here ([`OnlySubscriptions`]): a query over the
//! WebSocket would escape the limits of `POST /graphql` (the byte budget,
//! the queries served at once, the request timeout).
//!
//! The connection's subscriptions are multiplexed here, not by
//! async-graphql's WebSocket type: that one polls every subscription from
//! the first at each message, so with thousands on one socket the first
//! ones, always ready again, starved the last (some never heard a batch).
//! Here each subscription is polled only when woken
//! ([`futures::stream::SelectAll`]), so a batch reaches every subscription
//! in time proportional to the messages it makes.

use std::{collections::HashMap, str::FromStr as _, sync::Arc, time::Duration};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    http::{ClientMessage, WebSocketProtocols, ALL_WEBSOCKET_PROTOCOLS},
    parser::types::{ExecutableDocument, OperationType},
    ServerError, ServerResult, Variables,
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        State,
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures::{
    stream::{AbortHandle, BoxStream, SelectAll},
    SinkExt, StreamExt,
};
use serde_json::{json, Value};

use crate::{AppState, PondSchema};

/// How long after the upgrade a client has to send its first message
/// (`connection_init`).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most subscriptions one socket may hold at once; one more gets an
/// error.
pub const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 4_096;

/// The close code graphql-transport-ws gives a missed initialisation.
const INIT_TIMEOUT_CODE: u16 = 4408;

/// Upgrades to a WebSocket and serves subscriptions on it, in the protocol
/// the client asks for (`graphql-transport-ws` or the older `graphql-ws`).
pub(crate) async fn subscriptions(
    State(app): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|asked| {
            asked
                .split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws or graphql-ws subprotocol",
        )
            .into_response();
    };
    let schema = app.subscriptions.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, schema, protocol))
}

async fn serve(socket: WebSocket, schema: PondSchema, protocol: WebSocketProtocols) {
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
    Connection::new(schema, protocol).run(sink, stream).await;
}

/// What a subscription's stream yields: its id and a result, or `None`
/// once it has ended.
type Tagged = (String, Option<async_graphql::Response>);

/// One socket's subscriptions.
struct Connection {
    schema: PondSchema,
    protocol: WebSocketProtocols,
    acknowledged: bool,
    /// Every subscription's results, each polled only when woken.
    results: SelectAll<BoxStream<'static, Tagged>>,
    /// The running ones, to stop them.
    running: HashMap<String, AbortHandle>,
}

/// What handling a client message asks of the loop.
enum Step {
    Send(Value),
    Close(u16, &'static str),
    Nothing,
}

impl Connection {
    fn new(schema: PondSchema, protocol: WebSocketProtocols) -> Self {
        Self {
            schema,
            protocol,
            acknowledged: false,
            results: SelectAll::new(),
            running: HashMap::new(),
        }
    }

    async fn run(
        mut self,
        mut sink: futures::stream::SplitSink<WebSocket, Message>,
        mut incoming: impl futures::Stream<Item = Result<Message, axum::Error>> + Unpin,
    ) {
        loop {
            let step = tokio::select! {
                message = incoming.next() => match message {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(Message::Text(text))) => self.on_message(text.as_bytes()),
                    Some(Ok(Message::Binary(bytes))) => self.on_message(&bytes),
                    // Pings are answered by the WebSocket layer.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Nothing,
                },
                Some((id, result)) = self.results.next(), if !self.results.is_empty() => {
                    self.on_result(id, result)
                }
            };
            let sent = match step {
                Step::Send(value) => sink.send(Message::Text(value.to_string().into())).await,
                Step::Close(code, reason) => {
                    let close = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    return;
                }
                Step::Nothing => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    }

    fn on_message(&mut self, bytes: &[u8]) -> Step {
        let Ok(message) = ClientMessage::from_bytes(bytes) else {
            return Step::Close(4400, "Invalid message");
        };
        match message {
            ClientMessage::ConnectionInit { .. } if self.acknowledged => {
                Step::Close(4429, "Too many initialisation requests")
            }
            ClientMessage::ConnectionInit { .. } => {
                self.acknowledged = true;
                Step::Send(json!({"type": "connection_ack"}))
            }
            ClientMessage::Start { .. } if !self.acknowledged => Step::Close(4401, "Unauthorized"),
            ClientMessage::Start { id, payload } => self.start(id, payload),
            ClientMessage::Stop { id } => match self.running.remove(&id) {
                // Its stream ends, and its completion goes out then.
                Some(handle) => {
                    handle.abort();
                    Step::Nothing
                }
                None => Step::Nothing,
            },
            ClientMessage::ConnectionTerminate => Step::Close(1000, "Terminated"),
            ClientMessage::Ping { payload } => Step::Send(match payload {
                Some(payload) => json!({"type": "pong", "payload": payload}),
                None => json!({"type": "pong"}),
            }),
            ClientMessage::Pong { .. } => Step::Nothing,
        }
    }

    fn start(&mut self, id: String, request: async_graphql::Request) -> Step {
        if self.running.contains_key(&id) {
            return match self.protocol {
                WebSocketProtocols::GraphQLWS => Step::Close(4409, "Subscriber already exists"),
                WebSocketProtocols::SubscriptionsTransportWS => Step::Nothing,
            };
        }
        if self.running.len() >= MAX_SUBSCRIPTIONS_PER_SOCKET {
            let message = format!(
                "at most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions on one socket; complete one or open another socket"
            );
            return Step::Send(match self.protocol {
                WebSocketProtocols::GraphQLWS => {
                    json!({"type": "error", "id": id, "payload": [{"message": message}]})
                }
                WebSocketProtocols::SubscriptionsTransportWS => {
                    json!({"type": "error", "id": id, "payload": {"message": message}})
                }
            });
        }
        let (results, handle) = futures::stream::abortable(self.schema.execute_stream(request));
        let tag = id.clone();
        let end = id.clone();
        let tagged = results
            .map(move |result| (tag.clone(), Some(result)))
            .chain(futures::stream::once(async move { (end, None) }));
        self.results.push(tagged.boxed());
        self.running.insert(id, handle);
        Step::Nothing
    }

    fn on_result(&mut self, id: String, result: Option<async_graphql::Response>) -> Step {
        match result {
            Some(response) => {
                let kind = match self.protocol {
                    WebSocketProtocols::GraphQLWS => "next",
                    WebSocketProtocols::SubscriptionsTransportWS => "data",
                };
                Step::Send(json!({"type": kind, "id": id, "payload": response}))
            }
            None => {
                self.running.remove(&id);
                Step::Send(json!({"type": "complete", "id": id}))
            }
        }
    }
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
