//! Backfill benchmark (results in docs/benchmarks.md): index ≥ 100 000
//! Pond events from devnode into SQLite and PostgreSQL, timed from store
//! open to caught up, with a checksum of the result.
//!
//! `cargo run --release -p pond-indexer --example backfill_bench`
//!
//! The chain is built once (50 000 signed `Market.postJob` transactions,
//! two events each, plus setup) and kept in `target/bench/chain.json`
//! (devnode's state file); later runs load it.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::EthereumWallet,
    primitives::{keccak256, Bytes, TxKind, U256},
    providers::{Provider, ProviderBuilder},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::SolCall,
};
use pond_bindings::{market, Deployment};
use pond_deploy::Params;
use pond_devnode::node::{Node, NodeConfig};
use pond_indexer::{
    follow::{Indexer, IndexerConfig},
    store::Store,
    testkit,
};
use tokio::sync::watch;

const JOBS: u64 = 50_000;
const LANES: usize = 8;

fn state_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/chain.json")
}

async fn build_chain() -> Deployment {
    let path = state_path();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let node = Node::spawn(NodeConfig {
        state_file: Some(path.clone()),
        ..NodeConfig::default()
    })
    .await
    .expect("devnode");
    let accounts = node.accounts();
    let mut wallet = EthereumWallet::from(accounts[0].signer.clone());
    for a in &accounts[1..] {
        wallet.register_signer(a.signer.clone());
    }
    let provider = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(node.http_url().parse().expect("url"));
    let modules = pond_deploy::embedded_modules();
    let owner = accounts[0].address;
    let deployment = pond_deploy::deploy(&provider, owner, &modules, &Params::default(), "bench")
        .await
        .expect("deploy");
    let token = pond_bindings::token::IPondToken::new(deployment.contracts.token, &provider);
    let vault = pond_bindings::vault::IVault::new(deployment.contracts.vault, &provider);
    let amount = U256::from(10u64).pow(U256::from(15));
    let lanes: Vec<PrivateKeySigner> = accounts[1..=LANES]
        .iter()
        .map(|a| a.signer.clone())
        .collect();
    for signer in &lanes {
        let a = signer.address();
        token
            .mint(a, amount)
            .from(owner)
            .send()
            .await
            .expect("mint")
            .get_receipt()
            .await
            .expect("r");
        token
            .approve(deployment.contracts.vault, amount)
            .from(a)
            .send()
            .await
            .expect("approve")
            .get_receipt()
            .await
            .expect("r");
        vault
            .deposit(amount)
            .from(a)
            .send()
            .await
            .expect("deposit")
            .get_receipt()
            .await
            .expect("r");
    }
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("b")
        .expect("b")
        .header
        .timestamp;
    let per_lane = JOBS / LANES as u64;
    let mut handles = Vec::new();
    for signer in lanes {
        let url = node.http_url();
        let market_address = deployment.contracts.market;
        let first = provider
            .get_transaction_count(signer.address())
            .await
            .expect("nonce");
        handles.push(tokio::spawn(async move {
            let client = ProviderBuilder::new().connect_http(url.parse().expect("url"));
            for i in 0..per_lane {
                let spec = market::JobSpec {
                    moduleHash: keccak256(i.to_be_bytes()),
                    moduleUri: "oci://pond/bench".into(),
                    inputHash: keccak256((i + 1).to_be_bytes()),
                    inputUri: "ipfs://bench".into(),
                    minHardware: market::Hardware {
                        gpuCount: 1 + u32::try_from(i % 4).unwrap_or(0),
                        gpuMemoryGb: [8, 16, 24, 48, 80][usize::try_from(i % 5).unwrap_or(0)],
                        cpuCores: 8,
                        ramGb: 32,
                        diskGb: 100,
                    },
                    maxDuration: 3600,
                    maxPrice: U256::from(1_000_000 + i),
                    matchDeadline: now + 30 * 24 * 3600,
                    biddingWindow: 0,
                    offerId: U256::ZERO,
                };
                let tx = TxEip1559 {
                    chain_id: 412_346,
                    nonce: first + i,
                    gas_limit: 3_000_000,
                    max_fee_per_gas: 1_000_000_000,
                    max_priority_fee_per_gas: 0,
                    to: TxKind::Call(market_address),
                    input: Bytes::from(market::IMarket::postJobCall { spec }.abi_encode()),
                    ..TxEip1559::default()
                };
                let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
                let raw = TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718();
                let _ = client.send_raw_transaction(&raw).await.expect("sent");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("lane");
    }
    node.stop().await.expect("save");
    deployment
}

#[tokio::main]
async fn main() {
    let deployment_file = state_path().with_file_name("deployment.json");
    let deployment = if state_path().exists() && deployment_file.exists() {
        Deployment::load(&deployment_file).expect("deployment")
    } else {
        let started = Instant::now();
        let deployment = build_chain().await;
        deployment.save(&deployment_file).expect("save deployment");
        println!(
            "built the chain in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        deployment
    };
    let node = Node::spawn(NodeConfig {
        state_file: Some(state_path()),
        ..NodeConfig::default()
    })
    .await
    .expect("devnode");
    let head = ProviderBuilder::new()
        .connect_http(node.http_url().parse().expect("url"))
        .get_block_number()
        .await
        .expect("head");
    let sqlite = std::env::temp_dir().join(format!("pond_bench_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&sqlite);
    println!("| backend | blocks | events | seconds | events/s | checksum |");
    println!("|---|---:|---:|---:|---:|---|");
    for (backend, url) in [
        ("SQLite", format!("sqlite://{}", sqlite.display())),
        ("PostgreSQL", testkit::postgres_url().await),
    ] {
        let started = Instant::now();
        let store = Store::open(&url).await.expect("store");
        let mut config = IndexerConfig::new(&node.http_url(), deployment.clone());
        config.poll_interval = Duration::from_millis(20);
        let indexer = Indexer::new(store.clone(), config);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(indexer.run(stopped));
        loop {
            if store
                .checkpoint()
                .await
                .expect("cp")
                .is_some_and(|cp| cp.number >= head)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let _ = stop.send(true);
        task.await.expect("task").expect("indexer");
        let events = store.event_count().await.expect("count");
        println!(
            "| {backend} | {head} | {events} | {elapsed:.1} | {:.0} | `{}` |",
            events as f64 / elapsed,
            &testkit::checksum(&store).await[..18]
        );
    }
    let _ = std::fs::remove_file(&sqlite);
}
