//! `pond-graphql`: the GraphQL API over the indexer's store.
//!
//! - `POST /graphql` queries; `GET /graphql` is GraphiQL;
//! - `GET /graphql/ws` subscriptions (`graphql-transport-ws` and the older
//!   `graphql-ws`), pushed after each committed batch;
//! - `GET /health`, `GET /ready` (503 until caught up), `GET /metrics`
//!   (Prometheus text).
//!
//! Limits: query depth, page size (≤ 1 000), request body size and a
//! request timeout; a query's cost counted before it runs, the bytes it
//! reads bounded as it runs, and the queries served at once (see
//! [`budget`]). Bad input gets a GraphQL error; the server stays up. Operations that read only the schema, in a shape the schema's size
//! bounds, run under a deeper limit (see [`introspection`]), so GraphiQL's
//! explorer and code generators can load the schema.

pub mod budget;
pub mod introspection;
pub mod objects;
pub mod page;
pub mod schema;
pub mod stats;
pub mod subscriptions;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use async_graphql::{dataloader::DataLoader, http::GraphiQLSource, EmptyMutation, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{Html, IntoResponse},
    routing::get,
    Router,
};
pub use schema::ApiState;
use schema::{QueryRoot, SubscriptionRoot};

/// The schema type.
pub type PondSchema = Schema<QueryRoot, EmptyMutation, SubscriptionRoot>;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest a request may take (PostgreSQL cancels a read then too).
pub const REQUEST_TIMEOUT: Duration = pond_indexer::store::MAX_READ_TIME;

/// Builds the schema over `state` (queries, as `POST /graphql` serves
/// them).
#[must_use]
pub fn schema(state: ApiState) -> PondSchema {
    build_schema(state, MAX_DEPTH, budget::MAX_COST).finish()
}

/// The schema `/graphql/ws` serves: subscriptions only, each costing at
/// most [`budget::MAX_SUBSCRIPTION_COST`].
fn subscription_schema(state: ApiState) -> PondSchema {
    build_schema(state, MAX_DEPTH, budget::MAX_SUBSCRIPTION_COST)
        .extension(subscriptions::OnlySubscriptions)
        .data(subscriptions::SubscriptionReads(Arc::new(
            tokio::sync::Semaphore::new(subscriptions::MAX_SUBSCRIPTION_READS),
        )))
        .finish()
}

fn build_schema(
    state: ApiState,
    depth: usize,
    cost: usize,
) -> async_graphql::SchemaBuilder<QueryRoot, EmptyMutation, SubscriptionRoot> {
    let loader = rows_loader(&state.store, None);
    Schema::build(QueryRoot, EmptyMutation, SubscriptionRoot)
        .data(state)
        .data(loader)
        .data(Arc::new(stats::StatsCache::default()))
        .limit_depth(depth)
        .limit_complexity(cost)
}

/// A loader of nested rows whose reads take from `budget` (a request's),
/// or from a budget per batch when `None`.
fn rows_loader(
    store: &pond_indexer::store::Store,
    budget: Option<Arc<budget::ReadBudget>>,
) -> DataLoader<objects::RowsLoader> {
    DataLoader::new(
        objects::RowsLoader {
            store: store.clone(),
            budget,
        },
        tokio::spawn,
    )
    .max_batch_size(objects::LOADER_BATCH)
}

/// Query latency buckets (seconds) of the histogram.
const BUCKETS: [f64; 10] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0,
];

/// Server counters.
#[derive(Debug, Default)]
pub struct Metrics {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

#[derive(Clone)]
struct AppState {
    schema: PondSchema,
    /// The same schema under the deeper limit of bounded schema-only
    /// operations.
    introspection: PondSchema,
    /// The WebSocket's: subscriptions only, at their own cost limit.
    subscriptions: PondSchema,
    api: ApiState,
    metrics: Arc<Metrics>,
    rpc: Option<Arc<pond_indexer::rpc::RpcStats>>,
    /// Permits of the queries served at once.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Subscriptions held over all sockets.
    subscription_count: Arc<std::sync::atomic::AtomicUsize>,
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

async fn graphql(State(app): State<AppState>, request: GraphQLRequest) -> axum::response::Response {
    let Ok(_permit) = app.in_flight.clone().try_acquire_owned() else {
        return busy();
    };
    let started = Instant::now();
    // The request's byte budget, and a loader of its own that reads from
    // it (a shared loader would mix requests' rows in one batch).
    let read_budget = Arc::new(budget::ReadBudget::new(budget::MAX_RESPONSE_BYTES));
    let request = request
        .into_inner()
        .data(read_budget.clone())
        .data(rows_loader(&app.api.store, Some(read_budget)));
    let schema = if introspection::is_bounded_introspection(&request.query) {
        &app.introspection
    } else {
        &app.schema
    };
    let response = schema.execute(request).await;
    app.metrics.observe(started.elapsed());
    GraphQLResponse::from(response).into_response()
}

/// The answer when [`budget::MAX_IN_FLIGHT`] queries already run: at once,
/// so a saturated server sheds load instead of queueing it.
fn busy() -> axum::response::Response {
    let body = serde_json::json!({
        "errors": [{
            "message": format!(
                "server busy: {} queries are running; retry in a second",
                budget::MAX_IN_FLIGHT
            ),
            "extensions": { "code": "SERVER_BUSY" },
        }]
    });
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("retry-after", "1")],
        axum::Json(body),
    )
        .into_response()
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(State(app): State<AppState>) -> impl IntoResponse {
    if app.api.progress.ready.load(Ordering::Relaxed) == 1 {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catching up")
    }
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    use std::fmt::Write;
    let p = &app.api.progress;
    let indexed = p.indexed.load(Ordering::Relaxed);
    let head = p.head.load(Ordering::Relaxed);
    let mut out = String::new();
    let _ = writeln!(out, "# HELP pond_indexed_block Last indexed block.\n# TYPE pond_indexed_block gauge\npond_indexed_block {indexed}");
    let _ = writeln!(out, "# HELP pond_head_block Chain head seen by the indexer.\n# TYPE pond_head_block gauge\npond_head_block {head}");
    let _ = writeln!(out, "# HELP pond_lag_blocks Head minus indexed.\n# TYPE pond_lag_blocks gauge\npond_lag_blocks {}", head.saturating_sub(indexed));
    let _ = writeln!(
        out,
        "# HELP pond_events_indexed_total Events indexed by this process.\n# TYPE pond_events_indexed_total counter\npond_events_indexed_total {}",
        p.events.load(Ordering::Relaxed)
    );
    if let Some(rpc) = &app.rpc {
        let _ = writeln!(
            out,
            "# HELP pond_rpc_errors_total Failed RPC requests.\n# TYPE pond_rpc_errors_total counter\npond_rpc_errors_total {}",
            rpc.errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP pond_rpc_retries_total Retried RPC requests.\n# TYPE pond_rpc_retries_total counter\npond_rpc_retries_total {}",
            rpc.retries.load(Ordering::Relaxed)
        );
    }
    let m = &app.metrics;
    let _ = writeln!(out, "# HELP pond_graphql_query_seconds GraphQL query latency.\n# TYPE pond_graphql_query_seconds histogram");
    for (bucket, bound) in m.buckets.iter().zip(BUCKETS) {
        let _ = writeln!(
            out,
            "pond_graphql_query_seconds_bucket{{le=\"{bound}\"}} {}",
            bucket.load(Ordering::Relaxed)
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "pond_graphql_query_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let sum = m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(
        out,
        "pond_graphql_query_seconds_sum {sum}\npond_graphql_query_seconds_count {count}"
    );
    ([("content-type", "text/plain; version=0.0.4")], out)
}

/// The HTTP router.
pub fn router(api: ApiState, rpc: Option<Arc<pond_indexer::rpc::RpcStats>>) -> Router {
    let schema = schema(api.clone());
    let app = AppState {
        schema: schema.clone(),
        introspection: build_schema(
            api.clone(),
            introspection::MAX_INTROSPECTION_DEPTH,
            budget::MAX_COST,
        )
        .finish(),
        subscriptions: subscription_schema(api.clone()),
        api,
        metrics: Arc::default(),
        rpc,
        in_flight: Arc::new(tokio::sync::Semaphore::new(budget::MAX_IN_FLIGHT)),
        subscription_count: Arc::default(),
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(subscriptions::subscriptions))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // The GraphQL extractor streams the body itself: limit it for every route.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(app)
}

/// The API's connection limits: 768 connections (room for the database
/// and RPC connections under a 1 024 file limit), 32 per client address
/// (half the queries served at once: one address cannot take them all);
/// a connection that sends no complete request within 10 s is closed,
/// and one answered (keep-alive, a subscription) after an hour without a
/// byte either way.
pub const CONNECTION_LIMITS: pond_listener::ConnectionLimits = pond_listener::ConnectionLimits {
    max_connections: 768,
    max_per_peer: 32,
    idle_before_answer: std::time::Duration::from_secs(10),
    idle: std::time::Duration::from_secs(3600),
};

/// A running API server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `router` on `listen` (port 0: any free port).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(router: Router, listen: SocketAddr) -> std::io::Result<Self> {
        Self::start_with(router, listen, CONNECTION_LIMITS).await
    }

    /// [`Self::start`] with other connection limits.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start_with(
        router: Router,
        listen: SocketAddr,
        limits: pond_listener::ConnectionLimits,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let listener = pond_listener::GuardedListener::new(listener, limits);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "GraphQL server stopped");
            }
        });
        Ok(Self { addr, task })
    }

    /// The GraphQL URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// The subscriptions URL.
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}
