//! The shared fixture of the API tests: devnode with Pond deployed, an
//! indexer following it into a fresh SQLite file, and the GraphQL server
//! over that index.

#![allow(dead_code)]

use std::time::Duration;

use alloy::{providers::Provider, transports::http::reqwest};
use pond_deploy::testkit::Stack;
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
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

pub(crate) async fn api() -> Api {
    let stack = Stack::start().await;
    let path = std::env::temp_dir().join(format!(
        "pond_graphql_{}_{}.db",
        std::process::id(),
        rand_suffix()
    ));
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("store");
    let mut config = IndexerConfig::new(&stack.node.http_url(), stack.deployment.clone());
    config.ws_url = Some(stack.node.ws_url());
    config.poll_interval = Duration::from_millis(50);
    let indexer = Indexer::new(store.clone(), config);
    let state = ApiState {
        store: store.clone(),
        updates: indexer.updates(),
        progress: indexer.progress.clone(),
        chain_id: stack.deployment.chain_id,
    };
    let rpc = Some(indexer.rpc().stats.clone());
    let (stop, stopped) = watch::channel(false);
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

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
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
        for _ in 0..400 {
            let head = self.stack.provider.get_block_number().await.expect("head");
            if self
                .store
                .checkpoint()
                .await
                .expect("cp")
                .is_some_and(|cp| cp.number == head)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("index did not catch up");
    }
}
