//! The subscription endpoint (`/graphql/ws`): graphql-transport-ws and the
//! older graphql-ws over WebSocket, with the protocol's initialisation
//! timeout: a client that sends no `connection_init` within
//! [`INIT_TIMEOUT`] of the upgrade is closed with code 4408, so a
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
//! in time proportional to the messages it makes. The results a batch
//! makes ready are written together with one flush.
//!
//! Bounds: [`MAX_SUBSCRIPTIONS_PER_SOCKET`] and [`MAX_SUBSCRIPTIONS`]
//! overall; messages no larger than a POST body; at most
//! [`MAX_SUBSCRIPTION_READS`] subscription messages reading the database
//! at once; a client that stops reading is dropped after
//! [`SEND_TIMEOUT`].

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
pub const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 2_048;

/// The most subscriptions the server holds at once, over all sockets.
pub const MAX_SUBSCRIPTIONS: usize = 16_384;

/// The most subscription messages reading the database at once (a
/// provider's deals, a job's bids, nested rows): the rest wait, so
/// subscribers cannot take the readers `POST /graphql` needs.
pub const MAX_SUBSCRIPTION_READS: usize = 4;

/// Longest a message to a client may wait to be taken by the socket
/// before the socket is closed (a client that stopped reading).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// The most subscription results written with one flush; the send
/// timeout covers them together.
const MAX_FLUSHED: usize = 256;

/// Longest subscription id accepted.
const MAX_ID_BYTES: usize = 128;

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
    let total = app.subscription_count.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // A subscribe message is a query and its variables: no larger than
        // a POST body.
        .max_message_size(crate::MAX_BODY)
        .max_frame_size(crate::MAX_BODY)
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            Connection::new(schema, protocol, total).run(sink, stream)
        })
}

/// The permits of subscription messages reading the database (in the
/// WebSocket schema's data; see [`MAX_SUBSCRIPTION_READS`]).
#[derive(Clone)]
pub(crate) struct SubscriptionReads(pub(crate) Arc<tokio::sync::Semaphore>);

/// Waits for a read permit when `ctx` is a subscription message's; `None`
/// for a request (`POST /graphql` bounds those itself).
pub(crate) async fn read_permit(
    ctx: &async_graphql::Context<'_>,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let reads = ctx.data_opt::<SubscriptionReads>()?;
    reads.0.clone().acquire_owned().await.ok()
}

/// What a subscription's stream yields: its id, its generation (an id may
/// be used again once completed) and a result, or `None` once it ended.
type Tagged = (String, u64, Option<async_graphql::Response>);

/// One socket's subscriptions.
struct Connection {
    schema: PondSchema,
    protocol: WebSocketProtocols,
    acknowledged: bool,
    /// Every subscription's results, each polled only when woken.
    results: SelectAll<BoxStream<'static, Tagged>>,
    /// The running ones by id: generation and the handle that stops it.
    running: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
    /// Subscriptions held over all sockets.
    total: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.total
            .fetch_sub(self.running.len(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// What handling a client message asks of the loop.
enum Step {
    Send(Value),
    /// A message already serialized (a subscription's result).
    SendText(String),
    Close(u16, &'static str),
    Nothing,
}

/// A subscription's result as sent: serialized straight from the response,
/// without an intermediate JSON value.
#[derive(serde::Serialize)]
struct ResultMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    payload: &'a async_graphql::Response,
}

impl Connection {
    fn new(
        schema: PondSchema,
        protocol: WebSocketProtocols,
        total: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Self {
        Self {
            schema,
            protocol,
            acknowledged: false,
            results: SelectAll::new(),
            running: HashMap::new(),
            generation: 0,
            total,
        }
    }

    async fn run(
        mut self,
        mut sink: futures::stream::SplitSink<WebSocket, Message>,
        mut incoming: impl futures::Stream<Item = Result<Message, axum::Error>> + Unpin,
    ) {
        // Until `connection_init`, whatever else comes (pings, pongs).
        let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        loop {
            let step = tokio::select! {
                () = &mut init_deadline, if !self.acknowledged => {
                    Step::Close(INIT_TIMEOUT_CODE, "Connection initialisation timeout")
                }
                message = incoming.next() => match message {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(Message::Text(text))) => self.on_message(text.as_bytes()),
                    Some(Ok(Message::Binary(bytes))) => self.on_message(&bytes),
                    // Pings are answered by the WebSocket layer.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Step::Nothing,
                },
                Some((id, generation, result)) = self.results.next(), if !self.results.is_empty() => {
                    self.on_result(id, generation, result)
                }
            };
            let sent = match step {
                Step::Send(value) => {
                    let message = Message::Text(value.to_string().into());
                    tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await
                }
                Step::SendText(text) => {
                    // A batch wakes many subscriptions at once: queue the
                    // results that are ready (at most `MAX_FLUSHED`), then
                    // write them with one flush rather than one write per
                    // message. The client's own messages are read between
                    // two such groups.
                    let mut queued = vec![text];
                    while queued.len() < MAX_FLUSHED {
                        let Some(Some((id, generation, result))) =
                            futures::FutureExt::now_or_never(self.results.next())
                        else {
                            break;
                        };
                        match self.on_result(id, generation, result) {
                            Step::SendText(text) => queued.push(text),
                            Step::Send(value) => queued.push(value.to_string()),
                            Step::Close(..) | Step::Nothing => {}
                        }
                    }
                    tokio::time::timeout(SEND_TIMEOUT, async {
                        for text in queued {
                            sink.feed(Message::Text(text.into())).await?;
                        }
                        sink.flush().await
                    })
                    .await
                }
                Step::Close(code, reason) => {
                    let close = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ =
                        tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close))))
                            .await;
                    return;
                }
                Step::Nothing => Ok(Ok(())),
            };
            // A send error, or a client that stopped reading: the socket
            // ends (dropping every subscription).
            if !matches!(sent, Ok(Ok(()))) {
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
                // Its stream's end comes later and is then ignored (the id
                // may be in use again by then).
                Some((_, handle)) => {
                    handle.abort();
                    self.total
                        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    Step::Send(json!({"type": "complete", "id": id}))
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
        if id.len() > MAX_ID_BYTES {
            return Step::Close(4400, "Subscription id too long");
        }
        if self.running.contains_key(&id) {
            return match self.protocol {
                WebSocketProtocols::GraphQLWS => Step::Close(4409, "Subscriber already exists"),
                WebSocketProtocols::SubscriptionsTransportWS => Step::Nothing,
            };
        }
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        if self.running.len() >= MAX_SUBSCRIPTIONS_PER_SOCKET || total >= MAX_SUBSCRIPTIONS {
            let message = format!(
                "at most {MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions on one socket and \
                 {MAX_SUBSCRIPTIONS} on the server; complete one or try again later"
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
        self.generation += 1;
        let generation = self.generation;
        let tag = id.clone();
        let end = id.clone();
        let tagged = results
            .map(move |result| (tag.clone(), generation, Some(result)))
            .chain(futures::stream::once(
                async move { (end, generation, None) },
            ));
        self.results.push(tagged.boxed());
        self.running.insert(id, (generation, handle));
        self.total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Step::Nothing
    }

    fn on_result(
        &mut self,
        id: String,
        generation: u64,
        result: Option<async_graphql::Response>,
    ) -> Step {
        // What a stopped subscription still yields is not sent.
        if self.running.get(&id).map(|(g, _)| *g) != Some(generation) {
            return Step::Nothing;
        }
        match result {
            Some(response) => {
                let kind = match self.protocol {
                    WebSocketProtocols::GraphQLWS => "next",
                    WebSocketProtocols::SubscriptionsTransportWS => "data",
                };
                let message = ResultMessage {
                    kind,
                    id: &id,
                    payload: &response,
                };
                match serde_json::to_string(&message) {
                    Ok(text) => Step::SendText(text),
                    Err(e) => Step::Send(
                        json!({"type": "error", "id": id, "payload": [{"message": e.to_string()}]}),
                    ),
                }
            }
            None => {
                self.running.remove(&id);
                self.total
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
