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
/// The longest a connection may take to be acknowledged.
const HANDSHAKE: Duration = Duration::from_secs(10);
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
    #[error("not acknowledged within {HANDSHAKE:?}")]
    NoAck,
    #[error("the API closed the connection")]
    Closed,
    #[error("the API refused a subscription: {0}")]
    Refused(String),
}

async fn follow(url: String, subscriptions: Vec<String>, notify: Arc<Notify>) {
    let mut pause = Duration::from_secs(1);
    loop {
        match connection(&url, &subscriptions, &notify).await {
            // A connection that was up for a while: retry soon.
            Ok(()) => pause = Duration::from_secs(1),
            Err(Ended::Refused(why)) => {
                // The same documents would be refused again.
                tracing::error!("GraphQL wake-ups from {url} stopped: {why}; polling only");
                return;
            }
            Err(e) => {
                tracing::warn!("GraphQL wake-ups from {url}: {e}; retrying in {pause:?}");
                pause = (pause * 2).min(MAX_RETRY);
            }
        }
        // Whatever happened while disconnected is found by the next pass.
        notify.notify_one();
        tokio::time::sleep(pause).await;
    }
}

/// One connection: handshake, subscribe, and a wake-up per notice until
/// the connection ends. `Ok` when it ended after being acknowledged.
async fn connection(url: &str, subscriptions: &[String], notify: &Notify) -> Result<(), Ended> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    socket
        .send(Message::text(r#"{"type":"connection_init"}"#))
        .await?;
    let acknowledged = tokio::time::timeout(HANDSHAKE, async {
        while let Some(message) = socket.next().await {
            if kind(&message?).as_deref() == Some("connection_ack") {
                return Ok(true);
            }
        }
        Ok::<_, Ended>(false)
    })
    .await
    .map_err(|_| Ended::NoAck)??;
    if !acknowledged {
        return Err(Ended::Closed);
    }
    for (id, query) in subscriptions.iter().enumerate() {
        let message = serde_json::json!({
            "id": id.to_string(),
            "type": "subscribe",
            "payload": { "query": query },
        });
        socket.send(Message::text(message.to_string())).await?;
    }
    while let Some(message) = socket.next().await {
        let message = message?;
        match kind(&message).as_deref() {
            Some("next") => notify.notify_one(),
            Some("ping") => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            Some("error") => {
                return Err(Ended::Refused(message.to_text().unwrap_or("").to_owned()))
            }
            _ if matches!(message, Message::Close(_)) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

/// A graphql-transport-ws message's `type`.
fn kind(message: &Message) -> Option<String> {
    let text = message.to_text().ok()?;
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value["type"].as_str().map(str::to_owned)
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
                    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
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
    async fn an_unreachable_api_leaves_polling_alone() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let wakeups = Wakeups::follow(
            format!("ws://127.0.0.1:{port}/graphql/ws"),
            vec!["subscription { jobChanges { id } }".to_owned()],
        );
        // A failed connection wakes once (a pass finds what was missed);
        // the task keeps retrying in the background without panicking.
        tokio::time::timeout(Duration::from_secs(10), wakeups.changed())
            .await
            .expect("woken after the failed attempt");
        assert!(!wakeups.task.is_finished());
    }
}
