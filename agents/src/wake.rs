//! Wake-ups from Pond's GraphQL API: an agent configured with the API's
//! WebSocket endpoint subscribes (graphql-transport-ws) to the changes it
//! cares about and starts its next pass as soon as one arrives, instead of
//! at the end of its poll interval. The subscription is only a signal:
//! every pass still reads the chain itself, so a lagging, lying or
//! unreachable API can delay an agent to its poll interval but never make
//! it act on something the chain does not say.

use std::{sync::Arc, time::Duration};

use futures::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

/// The longest pause between two attempts to reach the API.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// The longest the connection, its upgrade and its acknowledgement may take.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Silence after which the agent pings the API; three silent periods in a
/// row end the connection (a half-open TCP connection would wait forever).
const QUIET: Duration = Duration::from_secs(30);
/// The largest message read from the API (a change notice is small).
const MAX_MESSAGE: usize = 64 << 10;

/// A background subscription that wakes its agent; it stops when dropped.
#[derive(Debug)]
pub struct Wakeups {
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Wakeups {
    /// Subscribes to each of `subscriptions` (GraphQL subscription
    /// documents) at `url` (`ws://…/graphql/ws`), in the background,
    /// reconnecting with a growing pause when the API is down.
    #[must_use]
    pub fn follow(url: String, subscriptions: Vec<String>) -> Self {
        let notify = Arc::new(Notify::new());
        let task = tokio::spawn(follow(url, subscriptions, Arc::clone(&notify)));
        Self { notify, task }
    }

    /// Completes at the next change notice (at once when one arrived since
    /// the last call: notices in between are folded into one wake-up).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

/// Why a subscription connection ended.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("{0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("no connection and acknowledgement within {HANDSHAKE:?}")]
    NoAck,
    #[error("the API closed the connection")]
    Closed,
    #[error("the API ended a subscription")]
    Completed,
    #[error("the API went silent for {0:?}")]
    Silent(Duration),
    #[error("the API refused a subscription: {0}")]
    Refused(String),
    #[error("`{0}`: only ws:// endpoints are supported")]
    Unsupported(String),
}

/// How a connection went before it ended.
#[derive(Debug, Default)]
struct Lived {
    /// The API acknowledged it (notices may have been missed since).
    acknowledged: bool,
    /// It delivered at least one notice.
    delivered: bool,
}

async fn follow(url: String, subscriptions: Vec<String>, notify: Arc<Notify>) {
    let mut pause = Duration::from_secs(1);
    loop {
        let mut lived = Lived::default();
        let started = tokio::time::Instant::now();
        let ended = connection(&url, &subscriptions, &notify, &mut lived).await;
        match ended {
            Ended::Refused(_) | Ended::Unsupported(_) => {
                // The same documents would be refused again.
                tracing::error!("GraphQL wake-ups from {url} stopped: {ended}; polling only");
                return;
            }
            _ => tracing::warn!("GraphQL wake-ups from {url}: {ended}; retrying in {pause:?}"),
        }
        if lived.acknowledged {
            // Notices may have been missed while it was going down.
            notify.notify_one();
        }
        // Only a connection that proved useful earns a quick retry: an API
        // that accepts and drops connections is retried ever more slowly.
        pause = if lived.delivered || started.elapsed() >= MAX_RETRY {
            Duration::from_secs(1)
        } else {
            (pause * 2).min(MAX_RETRY)
        };
        tokio::time::sleep(pause).await;
    }
}

/// One connection: handshake, subscribe, and a wake-up per notice, until
/// it ends (why); `lived` says how far it got.
async fn connection(
    url: &str,
    subscriptions: &[String],
    notify: &Notify,
    lived: &mut Lived,
) -> Ended {
    if !url.starts_with("ws://") {
        return Ended::Unsupported(url.to_owned());
    }
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(e) => return Ended::Unsupported(format!("{url} ({e})")),
    };
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let handshake = async {
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
        socket
            .send(Message::text(r#"{"type":"connection_init"}"#))
            .await?;
        while let Some(message) = socket.next().await {
            if kind(&message?).as_deref() == Some("connection_ack") {
                return Ok(Some(socket));
            }
        }
        Ok::<_, Ended>(None)
    };
    let mut socket = match tokio::time::timeout(HANDSHAKE, handshake).await {
        Err(_) => return Ended::NoAck,
        Ok(Err(e)) => return e,
        Ok(Ok(None)) => return Ended::Closed,
        Ok(Ok(Some(socket))) => socket,
    };
    lived.acknowledged = true;
    for (id, query) in subscriptions.iter().enumerate() {
        let message = serde_json::json!({
            "id": id.to_string(),
            "type": "subscribe",
            "payload": { "query": query },
        });
        if let Err(e) = socket.send(Message::text(message.to_string())).await {
            return e.into();
        }
    }
    let mut silent = 0;
    loop {
        let message = match tokio::time::timeout(QUIET, socket.next()).await {
            Err(_) => {
                silent += 1;
                if silent == 3 {
                    return Ended::Silent(QUIET * 3);
                }
                if let Err(e) = socket.send(Message::text(r#"{"type":"ping"}"#)).await {
                    return e.into();
                }
                continue;
            }
            Ok(None) => return Ended::Closed,
            Ok(Some(Err(e))) => return e.into(),
            Ok(Some(Ok(message))) => message,
        };
        silent = 0;
        if matches!(message, Message::Close(_)) {
            return Ended::Closed;
        }
        let Some(value) = json(&message) else {
            continue;
        };
        match value["type"].as_str() {
            Some("next") if value["payload"]["data"].is_null() => {
                // A document the API will not run (async-graphql answers
                // with errors in `next`, then `complete`).
                return Ended::Refused(value["payload"]["errors"].to_string());
            }
            Some("next") => {
                lived.delivered = true;
                notify.notify_one();
            }
            Some("ping") => {
                if let Err(e) = socket.send(Message::text(r#"{"type":"pong"}"#)).await {
                    return e.into();
                }
            }
            Some("error") => return Ended::Refused(value["payload"].to_string()),
            Some("complete") => return Ended::Completed,
            _ => {}
        }
    }
}

/// A graphql-transport-ws message, as JSON.
fn json(message: &Message) -> Option<serde_json::Value> {
    serde_json::from_str(message.to_text().ok()?).ok()
}

/// A graphql-transport-ws message's `type`.
fn kind(message: &Message) -> Option<String> {
    json(message)?["type"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WebSocket server on loopback that answers each connection with
    /// `script` (after reading `connection_init`), then holds it open;
    /// the number of connections so far.
    async fn server(script: Vec<String>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let url = format!(
            "ws://{}/graphql/ws",
            listener.local_addr().expect("address")
        );
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let script = script.clone();
                tokio::spawn(async move {
                    // Speaks graphql-transport-ws, as Pond's API does (the
                    // client checks the answer names it). The callback's
                    // error type is tungstenite's.
                    #[allow(clippy::result_large_err)]
                    let speaks = |_: &tokio_tungstenite::tungstenite::handshake::server::Request,
                                  mut response: tokio_tungstenite::tungstenite::handshake::server::Response| {
                        response.headers_mut().insert(
                            "Sec-WebSocket-Protocol",
                            tokio_tungstenite::tungstenite::http::HeaderValue::from_static(
                                "graphql-transport-ws",
                            ),
                        );
                        Ok(response)
                    };
                    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, speaks).await
                    else {
                        return;
                    };
                    let _init = socket.next().await;
                    for message in script {
                        if socket.send(Message::text(message)).await.is_err() {
                            return;
                        }
                    }
                    while socket.next().await.is_some() {}
                });
            }
        });
        (url, connections)
    }

    /// Waits (bounded) for the client's second connection.
    async fn reconnected(connections: &std::sync::atomic::AtomicUsize) {
        let started = std::time::Instant::now();
        while connections.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never reconnected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_change_notice_wakes_the_agent() {
        let (url, _) = server(vec![
            r#"{"type":"connection_ack"}"#.to_owned(),
            r#"{"id":"0","type":"next","payload":{"data":{"jobChanges":{"id":"1"}}}}"#.to_owned(),
        ])
        .await;
        let wakeups = Wakeups::follow(url, vec!["subscription { jobChanges { id } }".to_owned()]);
        tokio::time::timeout(Duration::from_secs(10), wakeups.changed())
            .await
            .expect("woken by the notice");
    }

    #[tokio::test]
    async fn an_oversized_or_garbled_message_ends_the_connection_not_the_agent() {
        let (url, connections) = server(vec![
            r#"{"type":"connection_ack"}"#.to_owned(),
            "not json at all".to_owned(),
            "x".repeat(MAX_MESSAGE + 1),
        ])
        .await;
        let wakeups = Wakeups::follow(url, vec!["subscription { jobChanges { id } }".to_owned()]);
        // The garbled message is ignored; the oversized one ends the
        // connection, which wakes the agent (it may have missed a notice)
        // and is retried.
        tokio::time::timeout(Duration::from_secs(10), wakeups.changed())
            .await
            .expect("woken when the connection ended");
        reconnected(&connections).await;
    }

    #[tokio::test]
    async fn an_unreachable_api_leaves_polling_alone() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let wakeups = Wakeups::follow(
            format!("ws://127.0.0.1:{port}/graphql/ws"),
            vec!["subscription { jobChanges { id } }".to_owned()],
        );
        // Never acknowledged, so nothing was missed: no wake-up, and the
        // task keeps retrying in the background without panicking.
        let woken = tokio::time::timeout(Duration::from_secs(3), wakeups.changed()).await;
        assert!(woken.is_err(), "woken by an API that never answered");
        assert!(!wakeups.task.is_finished());
    }

    #[tokio::test]
    async fn an_ended_subscription_is_followed_again() {
        let (url, connections) = server(vec![
            r#"{"type":"connection_ack"}"#.to_owned(),
            r#"{"id":"0","type":"complete"}"#.to_owned(),
        ])
        .await;
        let wakeups = Wakeups::follow(url, vec!["subscription { jobChanges { id } }".to_owned()]);
        reconnected(&connections).await;
        assert!(!wakeups.task.is_finished());
    }

    #[tokio::test]
    async fn a_refused_document_stops_the_wakeups_and_leaves_polling() {
        let (url, _) = server(vec![
            r#"{"type":"connection_ack"}"#.to_owned(),
            r#"{"id":"0","type":"next","payload":{"data":null,"errors":[{"message":"Unknown field"}]}}"#
                .to_owned(),
        ])
        .await;
        let wakeups = Wakeups::follow(url, vec!["subscription { nonsense }".to_owned()]);
        let started = std::time::Instant::now();
        while !wakeups.task.is_finished() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "kept following a refused document"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
