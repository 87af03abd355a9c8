//! The shared fixture of the API tests: devnode with Pond deployed, an
//! indexer following it into a fresh SQLite file, and the GraphQL server
//! over that index.

#![allow(dead_code)]

use std::time::Duration;

use alloy::transports::http::reqwest;
use pond_deploy::testkit::Stack;
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Indexer, IndexerConfig, Progress},
    store::Store,
    testkit,
};
use serde_json::{json, Value};
use tokio::sync::watch;

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
