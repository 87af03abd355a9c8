//! `pond`: Pond's main command.
//!
//! `pond up` starts devnode in-process, builds (if needed), deploys and
//! activates the contracts, writes `deployments/devnode.json`, then runs the
//! indexer and the GraphQL server and prints their URLs. With `--rpc URL
//! --deployment FILE` it indexes an existing chain instead and starts no
//! devnode. `pond serve` adds a read-only GraphQL server over the
//! PostgreSQL database another `pond up` indexes.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
};
use clap::{Parser, Subcommand};
use eyre::{bail, WrapErr};
use pond_deploy::{Deployment, Params};
use pond_devnode::node::{Node, NodeConfig};
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
};
use tokio::sync::watch;

#[derive(Parser, Debug)]
#[command(
    name = "pond",
    version,
    about = "Pond: a verifiable compute marketplace on Arbitrum Stylus"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the whole stack: devnode (unless --rpc), contracts, indexer, GraphQL.
    Up(Up),
    /// Serve GraphQL from a PostgreSQL database another `pond up` indexes
    /// (read-only; subscriptions arrive through LISTEN/NOTIFY).
    Serve(Serve),
}

#[derive(Parser, Debug)]
struct Serve {
    /// The indexer's database: postgres://…
    #[arg(long)]
    database_url: String,
    /// GraphQL server address.
    #[arg(long, default_value = "127.0.0.1:4000")]
    listen: SocketAddr,
}

#[derive(Parser, Debug)]
struct Up {
    /// Index an existing chain at this HTTP JSON-RPC URL instead of starting devnode.
    #[arg(long, requires = "deployment")]
    rpc: Option<String>,
    /// WebSocket URL for new heads (with --rpc; polling without it).
    #[arg(long, requires = "rpc")]
    ws: Option<String>,
    /// The deployment file to index (with --rpc).
    #[arg(long, requires = "rpc")]
    deployment: Option<PathBuf>,
    /// Database: sqlite://FILE (default .pond/<network>.db) or postgres://…
    #[arg(long)]
    database_url: Option<String>,
    /// GraphQL server address.
    #[arg(long, default_value = "127.0.0.1:4000")]
    listen: SocketAddr,
    /// devnode's port (devnode mode).
    #[arg(long, default_value_t = pond_devnode::node::DEFAULT_PORT)]
    devnode_port: u16,
    /// Keep devnode's chain in FILE across runs (devnode mode).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Blocks to wait before indexing a block.
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Up(up) => run_up(up).await,
        Command::Serve(serve) => run_serve(serve).await,
    }
}

async fn run_serve(serve: Serve) -> eyre::Result<()> {
    let store = Store::open(&serve.database_url)
        .await
        .wrap_err("opening the database")?;
    if store.postgres_url().is_none() {
        bail!("pond serve needs the PostgreSQL database a `pond up --database-url postgres://…` indexes");
    }
    let chain_id = loop {
        if let Some(checkpoint) = store.checkpoint().await? {
            break checkpoint.chain_id;
        }
        tracing::info!("waiting for the indexer's first batch");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let (updates, _) = tokio::sync::broadcast::channel(1024);
    let progress = std::sync::Arc::new(pond_indexer::follow::Progress::default());
    let (stop, stopped) = watch::channel(false);
    let listening =
        pond_indexer::feed::listen(store.clone(), updates.clone(), progress.clone(), stopped)
            .await
            .wrap_err("listening for the indexer's updates")?;
    let state = ApiState {
        store,
        updates,
        progress,
        chain_id,
    };
    let server = Server::start(router(state, None), serve.listen)
        .await
        .wrap_err_with(|| format!("serving GraphQL on {}", serve.listen))?;
    println!("GraphQL     {}", server.url());
    println!("subscribe   {}", server.ws_url());
    tokio::signal::ctrl_c().await?;
    let _ = stop.send(true);
    let _ = listening.await;
    server.stop();
    Ok(())
}

async fn run_up(up: Up) -> eyre::Result<()> {
    let repo = std::env::current_dir()?;
    let (node, deployment, rpc_url, ws_url) = match (&up.rpc, &up.deployment) {
        (Some(rpc), Some(file)) => {
            let deployment = Deployment::load(file)?;
            (None, deployment, rpc.clone(), up.ws.clone())
        }
        (None, None) => {
            let node = Node::spawn(NodeConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], up.devnode_port)),
                state_file: up.state.clone(),
                ..NodeConfig::default()
            })
            .await
            .wrap_err("starting devnode")?;
            println!(
                "devnode     {} (chain id {})",
                node.http_url(),
                pond_devnode::node::DEFAULT_CHAIN_ID
            );
            let deployment_file = repo.join("deployments/devnode.json");
            let deployment = match reuse(&node, &deployment_file, up.state.is_some()).await {
                Some(deployment) => deployment,
                None => {
                    println!("building the contracts (cargo, first run takes a few minutes) …");
                    let modules =
                        tokio::task::spawn_blocking(pond_deploy::build_contracts).await??;
                    let owner = node.accounts()[0].clone();
                    let provider = ProviderBuilder::new()
                        .wallet(EthereumWallet::from(owner.signer.clone()))
                        .connect_http(node.http_url().parse()?);
                    let deployment = pond_deploy::deploy(
                        &provider,
                        owner.address,
                        &modules,
                        &Params::default(),
                        "devnode",
                    )
                    .await
                    .wrap_err("deploying Pond")?;
                    deployment.save(&deployment_file)?;
                    deployment
                }
            };
            println!("deployment  {}", deployment_file.display());
            let rpc = node.http_url();
            let ws = node.ws_url();
            (Some(node), deployment, rpc, Some(ws))
        }
        _ => bail!("--rpc and --deployment go together"),
    };
    let database_url = match up.database_url {
        Some(url) => url,
        None => {
            let dir = repo.join(".pond");
            std::fs::create_dir_all(&dir)?;
            let file = dir.join(format!("{}.db", deployment.network));
            if node.is_some() && up.state.is_none() {
                // A new devnode chain every run: start its index afresh.
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            format!("sqlite://{}", file.display())
        }
    };
    let store = Store::open(&database_url)
        .await
        .wrap_err("opening the database")?;
    let mut config = IndexerConfig::new(&rpc_url, deployment.clone());
    config.ws_url = ws_url;
    config.confirmations = up.confirmations;
    if node.is_some() {
        config.poll_interval = Duration::from_millis(100);
    }
    let indexer = Indexer::new(store.clone(), config);
    let state = ApiState {
        store,
        updates: indexer.updates(),
        progress: indexer.progress.clone(),
        chain_id: deployment.chain_id,
    };
    let server = Server::start(router(state, Some(indexer.rpc().stats.clone())), up.listen)
        .await
        .wrap_err_with(|| format!("serving GraphQL on {}", up.listen))?;
    let (stop, stopped) = watch::channel(false);
    let indexing = tokio::spawn(indexer.run(stopped));
    println!("GraphQL     {}", server.url());
    println!("GraphiQL    {} (open in a browser)", server.url());
    println!("subscribe   {}", server.ws_url());
    println!("database    {database_url}");
    println!(
        "ready when  http://{}/ready answers 200; Ctrl-C stops",
        server.addr
    );
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        result = indexing => {
            result??;
            bail!("the indexer stopped");
        }
    }
    let _ = stop.send(true);
    server.stop();
    if let Some(node) = node {
        node.stop().await?;
    }
    Ok(())
}

/// The deployment in `file` if devnode's restored chain still has it.
async fn reuse(node: &Node, file: &std::path::Path, persistent: bool) -> Option<Deployment> {
    if !persistent {
        return None;
    }
    let deployment = Deployment::load(file).ok()?;
    let provider = ProviderBuilder::new().connect_http(node.http_url().parse().ok()?);
    let code = provider
        .get_code_at(deployment.contracts.market)
        .await
        .ok()?;
    (!code.is_empty()).then_some(deployment)
}
