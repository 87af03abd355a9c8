//! `pond`: Pond's main command.
//!
//! `pond up` starts devnode in-process, deploys and activates the contracts
//! (their WebAssembly is embedded in this binary), writes
//! `deployments/devnode.json`, then runs the
//! indexer and the GraphQL server and prints their URLs. With `--rpc URL
//! --deployment FILE` it indexes an existing chain instead and starts no
//! devnode. `pond serve` adds a read-only GraphQL server over the
//! PostgreSQL database another `pond up` indexes. `pond contracts` lists
//! the embedded contract code.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
};
use clap::{Parser, Subcommand};
use eyre::{bail, WrapErr};
use pond_bindings::Deployment;
use pond_deploy::Params;
use pond_devnode::node::{Node, NodeConfig};
use pond_graphql::{router, ApiState, Server};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
};
use tokio::sync::watch;

mod account;
mod compute;
mod config;
mod contracts;
mod creator_run;
mod deal;
mod demo;
mod job;
mod keeper;
mod market;
mod offer;
mod provider;
mod reads;
mod reference;
mod store;
mod validator;
mod vault;
mod wallet;
mod why_no_match;

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
    /// Keys: create, import, list, and show addresses.
    Wallet(wallet::Wallet),
    /// Tokens in and out of the vault, and balances.
    Vault(vault::Vault),
    /// A provider's machine on chain: register, update, show.
    Provider(provider::Provider),
    /// A provider's standing offers: post, cancel, list.
    Offer(offer::OfferCmd),
    /// A job creator's jobs: post (direct, take or auction), status, cancel.
    Job(job::Job),
    /// Deals: commit, reveal, accept, challenge, finalize, timeout, status.
    Deal(deal::Deal),
    /// Matching: take, bid, close an auction, expire a job.
    Market(market::Market),
    /// A validator's stake: stake, unbond, withdraw, show.
    Validator(validator::Validator),
    /// Mediation cases: show, draw, commit and reveal votes, resolve.
    Case(validator::Case),
    /// Why a job (posted, or described by flags) has no match: offer by
    /// offer, each rule that fails, and the closest offers.
    WhyNoMatch(why_no_match::WhyNoMatch),
    /// Keep a market moving: perform every permissionless step that is due.
    Keeper(keeper::Keeper),
    /// The content-addressed store of job data: serve, put, get.
    Store(store::Store),
    /// Print this command reference as Markdown (docs/cli.md).
    #[command(hide = true)]
    Reference,
    /// List the contract code embedded in this binary: size and code hash
    /// (the keccak256 of the deployed code, as `cast keccak $(cast code …)`).
    Contracts {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
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
    /// Also run a market that moves by itself (devnode mode): provider
    /// and validator agents, a cheating provider and a creator posting the
    /// example jobs; deal and mediation windows shortened to one minute.
    #[arg(long, conflicts_with = "rpc")]
    demo: bool,
    /// Empty the index first and index the chain again from the
    /// deployment block (after the chain lost more blocks than the index
    /// can roll back: a reset or restored chain). With devnode this
    /// happens by itself.
    #[arg(long)]
    reindex: bool,
}

/// Runs the command; a failure is one line on stderr (the error and its
/// causes) and exit code 1.
fn main() -> std::process::ExitCode {
    // `pond.toml` becomes environment variables before any thread starts
    // (clap reads them as each flag's fallback).
    let outcome = config::settings().and_then(|settings| {
        for (variable, value) in settings {
            std::env::set_var(variable, value);
        }
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(eyre::Report::from)
    });
    let outcome = outcome.and_then(|runtime| runtime.block_on(run()));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pond: {}", one_line(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: an error that
/// already quotes its source is not followed by it again.
fn one_line(error: &eyre::Report) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run() -> eyre::Result<()> {
    // Logs go to stderr: stdout is for what a command prints (its --json
    // answers above all), which a log line must never break.
    // POND_LOG_FORMAT=json: one JSON object per line, for a log shipper.
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        );
    match std::env::var("POND_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            logs.init();
            tracing::warn!("POND_LOG_FORMAT={other} is not json or text; logging text");
        }
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Up(up) => run_up(up).await,
        Command::Serve(serve) => run_serve(serve).await,
        Command::Contracts { json } => contracts::print(json),
        Command::Store(store) => store.run().await,
        Command::Keeper(keeper) => keeper.run().await,
        Command::WhyNoMatch(why) => why.run().await,
        Command::Wallet(wallet) => wallet.run(),
        Command::Vault(vault) => vault.run().await,
        Command::Provider(provider) => provider.run().await,
        Command::Offer(offer) => offer.run().await,
        Command::Job(job) => job.run().await,
        Command::Deal(deal) => deal.run().await,
        Command::Market(market) => market.run().await,
        Command::Validator(validator) => validator.run().await,
        Command::Case(case) => case.run().await,
        Command::Reference => {
            print!("{}", reference::markdown());
            Ok(())
        }
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
    pond_devnode::signal::stop_requested().await?;
    let _ = stop.send(true);
    let _ = listening.await;
    server.stop();
    Ok(())
}

async fn run_up(up: Up) -> eyre::Result<()> {
    let repo = std::env::current_dir()?;
    // `fresh`: Pond was deployed on a new devnode chain in this run.
    let (node, deployment, rpc_url, ws_url, fresh) = match (&up.rpc, &up.deployment) {
        (Some(rpc), Some(file)) => {
            let deployment = Deployment::load(file)?;
            (None, deployment, rpc.clone(), up.ws.clone(), false)
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
            let reused = reuse(&node, &deployment_file, up.state.as_deref()).await?;
            let fresh = reused.is_none();
            let deployment = match reused {
                Some(deployment) => deployment,
                None => {
                    println!("deploying   the contracts (embedded code, see `pond contracts`) …");
                    let modules = pond_deploy::embedded_modules();
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
                    demo::fund_dev_wallets(&node, &deployment)
                        .await
                        .wrap_err("minting the dev accounts' tokens")?;
                    println!(
                        "tokens      {} pUSD in each dev account's wallet",
                        demo::DEV_WALLET_TOKENS
                    );
                    deployment
                }
            };
            println!("deployment  {}", deployment_file.display());
            let rpc = node.http_url();
            let ws = node.ws_url();
            (Some(node), deployment, rpc, Some(ws), fresh)
        }
        _ => bail!("--rpc and --deployment go together"),
    };
    let database_url = match up.database_url {
        Some(url) => url,
        None => {
            let dir = repo.join(".pond");
            std::fs::create_dir_all(&dir)?;
            let file = dir.join(format!("{}.db", deployment.network));
            if fresh {
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
    if up.reindex {
        let fork = deployment.deployment_block.saturating_sub(1);
        store.reset(fork).await.wrap_err("emptying the index")?;
        println!("index       emptied (--reindex): indexing again from the deployment block");
    }
    let mut config = IndexerConfig::new(&rpc_url, deployment.clone());
    config.ws_url = ws_url;
    config.confirmations = up.confirmations;
    // A chain this process runs (restored from an older --state, say) is
    // indexed again by itself; an external one needs --reindex.
    config.reindex_after_deep_reorg = node.is_some();
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
        "ready when  http://{}/ready answers 200; Ctrl-C (or SIGTERM) stops",
        server.addr
    );
    // Whatever ends the run (a signal, even while the demo starts; the
    // indexer; a demo that could not start), devnode is stopped cleanly so
    // that `--state` is written.
    let mut stop_signal = std::pin::pin!(pond_devnode::signal::stop_requested());
    let stopping = |signal: std::io::Result<&'static str>| {
        signal
            .map(|signal| println!("stopping    ({signal})"))
            .map_err(eyre::Report::from)
    };
    let mut ended = None;
    let demo = match (&node, up.demo) {
        (Some(node), true) => {
            let (dir, ws) = (repo.join(".pond").join("demo"), server.ws_url());
            tokio::select! {
                started = start_demo(node, &deployment, &dir, fresh, &ws) => {
                    started.map_err(|e| ended = Some(Err(e))).ok()
                }
                signal = &mut stop_signal => {
                    ended = Some(stopping(signal));
                    None
                }
            }
        }
        _ => None,
    };
    let outcome = match ended {
        Some(outcome) => outcome,
        None => tokio::select! {
            signal = &mut stop_signal => stopping(signal),
            result = indexing => match result {
                Ok(Ok(())) => Err(eyre::eyre!("the indexer stopped")),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            },
        },
    };
    if let Some(demo) = demo {
        demo.stop().await;
    }
    let _ = stop.send(true);
    server.stop();
    if let Some(node) = node {
        node.stop().await?;
    }
    outcome
}

/// Starts `pond up --demo`'s market on `node`, its data in `dir` (emptied
/// first on a new chain: an older chain's journals name deals this one
/// never had).
async fn start_demo(
    node: &Node,
    deployment: &Deployment,
    dir: &std::path::Path,
    new_chain: bool,
    graphql_ws: &str,
) -> eyre::Result<demo::Demo> {
    if new_chain {
        let _ = std::fs::remove_dir_all(dir);
    }
    println!("demo        starting agents and a job creator (logs below) …");
    let demo = demo::Demo::start(node, deployment, dir, graphql_ws)
        .await
        .wrap_err("starting the demo market")?;
    println!("demo        {}; data in {}", demo::summary(), dir.display());
    Ok(demo)
}

/// The deployment in `file` if devnode's restored chain (from `state`)
/// still has it. A chain whose Pond code differs from the embedded code is
/// refused: this binary's indexer and clients speak the embedded
/// contracts' interfaces.
async fn reuse(
    node: &Node,
    file: &std::path::Path,
    state: Option<&std::path::Path>,
) -> eyre::Result<Option<Deployment>> {
    let Some(state) = state else {
        return Ok(None);
    };
    let Ok(deployment) = Deployment::load(file) else {
        return Ok(None);
    };
    let provider = ProviderBuilder::new().connect_http(node.http_url().parse()?);
    let mut differing = Vec::new();
    for (name, address) in deployment.contracts.named() {
        let on_chain = provider
            .get_code_at(address)
            .await
            .wrap_err("reading the restored chain")?;
        if name == "PondToken" && on_chain.is_empty() {
            // Not this chain's deployment (a new state file): deploy afresh.
            return Ok(None);
        }
        let embedded = contracts::embedded(name)?;
        if on_chain.as_ref() != embedded.code.as_slice() {
            differing.push(format!(
                "{name} at {address} has code hash {}, this pond embeds {}",
                alloy::primitives::keccak256(&on_chain),
                embedded.code_hash
            ));
        }
    }
    if !differing.is_empty() {
        bail!(
            "the chain in {} runs different Pond contracts than this pond binary:\n  {}\n\
             start a new chain (another --state file, or delete {}), or run the pond \
             binary that deployed it",
            state.display(),
            differing.join("\n  "),
            state.display()
        );
    }
    Ok(Some(deployment))
}
