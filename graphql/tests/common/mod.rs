//! The shared fixture of the API tests: devnode with Pond deployed, an
//! indexer following it into a fresh SQLite file, and the GraphQL server
//! over that index.

#![allow(dead_code)]

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    transports::http::reqwest,
};
use futures::{SinkExt as _, StreamExt as _};
use pond_bindings::market::IMarket;
use pond_deploy::testkit::Stack;
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    events::PondEvent,
    follow::{Indexer, IndexerConfig, Progress},
    project::{self, Meta},
    store::{BlockRecord, Store},
    testkit,
};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest as _, handshake::client::Request, Message,
};

/// A WebSocket to the API.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The API's state over the index at `url` (empty, or filled by the test
/// itself) and no chain: for tests of the server's own limits.
pub(crate) async fn api_state_over(url: &str) -> ApiState {
    let store = Store::open(url).await.expect("store");
    let (updates, _) = tokio::sync::broadcast::channel(16);
    ApiState {
        store,
        updates,
        progress: std::sync::Arc::new(Progress::default()),
        chain_id: 412_346,
    }
}

/// A WebSocket upgrade request to `url` asking for `protocol`.
pub(crate) fn ws_request(url: &str, protocol: &str) -> Request {
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    request
}

/// A WebSocket to `url` speaking `protocol`, initialised
/// (`connection_init` sent and acknowledged).
pub(crate) async fn subscribed(url: &str, protocol: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_request(url, protocol))
        .await
        .expect("ws");
    initialise(&mut socket).await;
    socket
}

/// Sends `connection_init` on `socket` and checks it is acknowledged.
pub(crate) async fn initialise<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    socket
        .send(Message::Text(
            json!({"type": "connection_init"}).to_string().into(),
        ))
        .await
        .expect("init");
    let ack = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("acknowledged in time")
        .expect("ack")
        .expect("ack");
    assert!(
        ack.to_text().expect("text").contains("connection_ack"),
        "{ack:?}"
    );
}

/// The running stack.
pub(crate) struct Api {
    pub(crate) stack: Stack,
    pub(crate) store: Store,
    pub(crate) server: Server,
    pub(crate) stop: watch::Sender<bool>,
}

/// The stack with its index in a fresh SQLite file, served by the
/// process that indexes.
pub(crate) async fn api() -> Api {
    start(&testkit::sqlite_url(), false).await
}

/// The stack with its index in a fresh PostgreSQL database, served by a
/// second store handle that hears the indexer only through LISTEN/NOTIFY,
/// as a read-only API server in another process would.
pub(crate) async fn scaled_out_api() -> Api {
    start(&testkit::postgres_url().await, true).await
}

async fn start(url: &str, scaled_out: bool) -> Api {
    let stack = Stack::start().await;
    let store = Store::open(url).await.expect("store");
    let mut config = IndexerConfig::new(&stack.node.http_url(), stack.deployment.clone());
    config.ws_url = Some(stack.node.ws_url());
    config.poll_interval = Duration::from_millis(50);
    let indexer = Indexer::new(store.clone(), config);
    let (stop, stopped) = watch::channel(false);
    let (state, rpc) = if scaled_out {
        let reader = Store::open(url).await.expect("second store");
        let (updates, _) = tokio::sync::broadcast::channel(1024);
        let progress = std::sync::Arc::new(Progress::default());
        pond_indexer::feed::listen(
            reader.clone(),
            updates.clone(),
            progress.clone(),
            stopped.clone(),
        )
        .await
        .expect("listen");
        let state = ApiState {
            store: reader,
            updates,
            progress,
            chain_id: stack.deployment.chain_id,
        };
        (state, None)
    } else {
        let state = ApiState {
            store: store.clone(),
            updates: indexer.updates(),
            progress: indexer.progress.clone(),
            chain_id: stack.deployment.chain_id,
        };
        (state, Some(indexer.rpc().stats.clone()))
    };
    tokio::spawn(indexer.run(stopped));
    let server = Server::start(router(state, rpc), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("server");
    Api {
        stack,
        store,
        server,
        stop,
    }
}

impl Api {
    pub(crate) async fn query(&self, query: &str) -> Value {
        reqwest::Client::new()
            .post(self.server.url())
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("http")
            .json()
            .await
            .expect("json")
    }

    /// Waits until the index has the head block.
    pub(crate) async fn caught_up(&self) {
        testkit::caught_up(&self.stack.provider, &self.store, Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Indexes `count` jobs whose `moduleUri` is `uri_bytes` long, through the
/// real projections, as an index of a deployment from before URIs were
/// bounded on chain holds them.
pub(crate) async fn index_jobs(store: &Store, count: u64, uri_bytes: usize) {
    let mut batch = store.begin(412_346).await.expect("batch");
    let block = BlockRecord {
        number: 1,
        hash: format!("{:#x}", B256::repeat_byte(1)),
        parent_hash: format!("{:#x}", B256::ZERO),
        timestamp: 1_760_000_000,
    };
    batch.block(&block).await.expect("block");
    for job in 1..=count {
        let posted = IMarket::JobPosted {
            jobId: U256::from(job),
            creator: Address::repeat_byte(1),
            relayer: Address::ZERO,
            moduleHash: B256::from(U256::from(job)),
            moduleUri: "m".repeat(uri_bytes),
            inputHash: B256::from(U256::from(job)),
            inputUri: format!("ipfs://inputs/{job}"),
            minGpuCount: 0,
            minGpuMemoryGb: 0,
            minCpuCores: 1,
            minRamGb: 1,
            minDiskGb: 1,
            maxDuration: 3_600,
            maxPrice: U256::from(1_000_000),
            matchDeadline: block.timestamp + 86_400,
            biddingEnd: 0,
        };
        let meta = Meta {
            block: 1,
            log_index: job,
            tx_hash: B256::from(U256::from(job)),
            timestamp: block.timestamp,
        };
        let event = PondEvent::Market(IMarket::IMarketEvents::JobPosted(posted));
        project::apply(&mut batch, &meta, &event)
            .await
            .expect("project");
    }
    batch.commit(&block).await.expect("commit");
}

/// Posts `query` to the API at `url`: the status and the JSON answer.
pub(crate) async fn post(client: &reqwest::Client, url: &str, query: &str) -> (u16, Value) {
    let response = client
        .post(url)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("http");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}
