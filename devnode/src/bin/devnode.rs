//! `devnode`: a local Arbitrum Stylus chain on 127.0.0.1:8547 (chain id
//! 412346, Nitro's dev defaults), printing its funded accounts.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;
use pond_devnode::node::{Node, NodeConfig, DEFAULT_CHAIN_ID, DEFAULT_PORT};

/// A local Arbitrum Stylus chain: real contract WebAssembly, JSON-RPC over
/// HTTP and WebSocket, anvil-style dev controls.
#[derive(Parser, Debug)]
#[command(name = "devnode", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Chain id.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u64,
    /// Load the chain from FILE at start (if it exists) and save it there
    /// at exit.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Mine a block every SECONDS instead of one per transaction.
    #[arg(long, short, value_name = "SECONDS")]
    block_time: Option<f64>,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    let block_time = match args.block_time {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Some(Duration::from_secs_f64(seconds))
        }
        Some(other) => eyre::bail!("--block-time must be a positive number, got {other}"),
        None => None,
    };
    let node = Node::spawn(NodeConfig {
        listen: SocketAddr::new(args.host, args.port),
        chain_id: args.chain_id,
        state_file: args.state,
        block_time,
        ..NodeConfig::default()
    })
    .await?;
    println!(
        "devnode {} (chain id {})",
        env!("CARGO_PKG_VERSION"),
        args.chain_id
    );
    println!();
    println!("Funded accounts (10 000 ETH each; public keys, never use them on a real network):");
    for (i, account) in node.accounts().iter().enumerate() {
        println!("({i}) {} 0x{}", account.address, account.private_key);
    }
    println!();
    println!("HTTP      {}", node.http_url());
    println!("WebSocket {}", node.ws_url());
    let signal = pond_devnode::signal::stop_requested().await?;
    println!("stopping ({signal})");
    node.stop().await?;
    Ok(())
}
