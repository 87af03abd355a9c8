//! devnode's benchmark (results in docs/benchmarks.md). Run through
//! `scripts/bench-devnode.sh`, which builds in release mode and fetches
//! anvil for the side-by-side numbers.
//!
//! Measures: process start to first served request (devnode and anvil);
//! deploying and activating all of Pond; throughput of signed transactions
//! over JSON-RPC (ETH transfers on devnode and anvil, the same with
//! devnode's `--state` journal, `postJob` on devnode); `eth_getLogs` over
//! 100 000 logs.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, TxKind, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionRequest},
    signers::{local::PrivateKeySigner, SignerSync},
    sol_types::SolCall,
};
use pond_bindings::market;
use pond_deploy::Params;

/// Senders: devnode's dev accounts 1..=8 (foundry's default keys 0..=7,
/// funded on anvil too).
fn lane_keys() -> Vec<String> {
    pond_devnode::accounts::dev_keys()[1..=8].to_vec()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Spawns `command` and returns the time until it answers `eth_chainId`.
// The child is returned; every caller kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start_to_first_request(mut command: Command, port: u16) -> (Duration, std::process::Child) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut answer = String::new();
                if stream.read_to_string(&mut answer).is_ok() && answer.contains("\"result\"") {
                    return (start.elapsed(), child);
                }
            }
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no answer in 30 s");
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn startup(binary: &str, args: &[&str], runs: usize) -> f64 {
    let times: Vec<f64> = (0..runs)
        .map(|_| {
            let port = free_port();
            let mut command = Command::new(binary);
            command.args(args).arg("--port").arg(port.to_string());
            let (elapsed, mut child) = start_to_first_request(command, port);
            let _ = child.kill();
            let _ = child.wait();
            elapsed.as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

fn sign(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    input: Bytes,
    gas: u64,
) -> Bytes {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(to),
        value: if input.is_empty() {
            U256::from(1)
        } else {
            U256::ZERO
        },
        input,
        ..TxEip1559::default()
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
    Bytes::from(TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718())
}

/// Sends pre-signed transactions, one lane per account (nonces in order
/// within a lane, lanes concurrent); returns transactions per second.
async fn throughput(url: &str, lanes: Vec<Vec<Bytes>>) -> f64 {
    let provider = ProviderBuilder::new()
        .connect_http(url.parse().expect("url"))
        .erased();
    let total: usize = lanes.iter().map(Vec::len).sum();
    let start = Instant::now();
    let handles: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let provider = provider.clone();
            tokio::spawn(async move {
                for raw in lane {
                    let _ = provider.send_raw_transaction(&raw).await.expect("accepted");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("lane");
    }
    // Everything must be mined (automine answers after mining; anvil too,
    // but wait for the last receipt to be sure).
    let _ = provider.get_block_number().await;
    total as f64 / start.elapsed().as_secs_f64()
}

fn transfer_lanes(chain_id: u64, start_nonces: &[u64], per_lane: usize) -> Vec<Vec<Bytes>> {
    lane_keys()
        .iter()
        .zip(start_nonces)
        .map(|(key, first)| {
            let signer: PrivateKeySigner = key.parse().expect("key");
            (0..per_lane as u64)
                .map(|i| {
                    sign(
                        &signer,
                        chain_id,
                        first + i,
                        Address::repeat_byte(0x42),
                        Bytes::new(),
                        21_000,
                    )
                })
                .collect()
        })
        .collect()
}

async fn nonces(provider: &DynProvider) -> Vec<u64> {
    let mut out = Vec::new();
    for key in lane_keys() {
        let signer: PrivateKeySigner = key.parse().expect("key");
        out.push(
            provider
                .get_transaction_count(signer.address())
                .await
                .expect("nonce"),
        );
    }
    out
}

/// EVM runtime emitting `n` logs (n = first calldata word), topic = index.
fn loop_emitter() -> Vec<u8> {
    // Written out in full for clarity:
    // 00 PUSH1 0 CALLDATALOAD        [n]
    // 03 PUSH1 0                     [n, i]
    // 05 JUMPDEST
    // 06 DUP1 DUP3 GT                [n, i, n>i]
    // 09 ISZERO PUSH1 end JUMPI      [n, i]
    // 0d DUP1 PUSH1 0 DUP1 LOG1      [n, i]     LOG1(offset 0, size 0, topic i)
    // 12 PUSH1 1 ADD                 [n, i+1]
    // 15 PUSH1 5 JUMP
    // 18 JUMPDEST STOP
    vec![
        0x60, 0x00, 0x35, 0x60, 0x00, 0x5b, 0x80, 0x82, 0x11, 0x15, 0x60, 0x18, 0x57, 0x80, 0x60,
        0x00, 0x80, 0xa1, 0x60, 0x01, 0x01, 0x60, 0x05, 0x56, 0x5b, 0x00,
    ]
}

#[tokio::main]
async fn main() {
    let runs = 5;
    let anvil = std::env::var("ANVIL").ok();
    let devnode_bin = std::env::var("DEVNODE").unwrap_or_else(|_| "target/release/devnode".into());
    println!("| measurement | devnode | anvil |");
    println!("|---|---:|---:|");

    let devnode_start = startup(&devnode_bin, &[], runs);
    let anvil_start = anvil.as_deref().map(|a| startup(a, &["--silent"], runs));
    println!(
        "| start to first served request (median of {runs}) | {devnode_start:.1} ms | {} |",
        anvil_start.map_or("–".into(), |t| format!("{t:.1} ms"))
    );

    // Deploy and activate all of Pond (the embedded contract code).
    let modules = pond_deploy::embedded_modules();
    let mut deploy_times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let node = pond_devnode::node::spawn().await.expect("devnode");
        let mut signers = node.accounts().into_iter().map(|a| a.signer);
        let mut wallet = EthereumWallet::from(signers.next().expect("account"));
        for s in signers {
            wallet.register_signer(s);
        }
        let owner = node.accounts()[0].address;
        let provider = ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(node.http_url().parse().expect("url"))
            .erased();
        let start = Instant::now();
        let deployment =
            pond_deploy::deploy(&provider, owner, &modules, &Params::default(), "bench")
                .await
                .expect("deploy");
        deploy_times.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some((node, provider, deployment));
    }
    println!(
        "| deploy + activate + wire all 9 Pond contracts, 26 transactions (median of 3) | {:.0} ms | – |",
        median(deploy_times)
    );
    let (node, provider, deployment) = last.expect("a deployment");

    // Transfers on devnode.
    let per_lane = 500;
    let lanes = transfer_lanes(412_346, &nonces(&provider).await, per_lane);
    let devnode_tps = throughput(&node.http_url(), lanes).await;
    // Transfers on anvil.
    let anvil_tps = match anvil.as_deref() {
        Some(binary) => {
            let port = free_port();
            let mut command = Command::new(binary);
            command.args(["--silent", "--port", &port.to_string()]);
            let (_, mut child) = start_to_first_request(command, port);
            let url = format!("http://127.0.0.1:{port}");
            let lanes = transfer_lanes(31_337, &[0; 8], per_lane);
            let tps = throughput(&url, lanes).await;
            let _ = child.kill();
            let _ = child.wait();
            Some(tps)
        }
        None => None,
    };
    println!(
        "| ETH transfers, signed, eth_sendRawTransaction, 8 senders × {per_lane}, automine | {devnode_tps:.0} tx/s | {} |",
        anvil_tps.map_or("–".into(), |t| format!("{t:.0} tx/s"))
    );
    // The same on a fresh devnode keeping its chain in a state file: each
    // block is appended to the journal before its answer goes out.
    let dir = std::env::temp_dir().join(format!("devnode-bench-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("state dir");
    let state = dir.join("chain.json");
    let durable = pond_devnode::node::Node::spawn(pond_devnode::node::NodeConfig {
        state_file: Some(state.clone()),
        ..pond_devnode::node::NodeConfig::default()
    })
    .await
    .expect("devnode with a state file");
    let lanes = transfer_lanes(412_346, &[0; 8], per_lane);
    let durable_tps = throughput(&durable.http_url(), lanes).await;
    let journal =
        std::fs::metadata(pond_devnode::state_file::journal_path(&state)).map_or(0, |m| m.len());
    durable.stop().await.expect("stopped");
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "| the same with `--state` (journal: {:.1} MB for {} blocks) | {durable_tps:.0} tx/s | – |",
        journal as f64 / 1e6,
        8 * per_lane
    );

    // postJob (Stylus: Market → Vault, events) on devnode.
    let jobs_per_lane = 100usize;
    let token = pond_bindings::token::IPondToken::new(deployment.contracts.token, &provider);
    let vault = pond_bindings::vault::IVault::new(deployment.contracts.vault, &provider);
    let amount = U256::from(1_000_000_000_000u64);
    for key in lane_keys() {
        let account = key.parse::<PrivateKeySigner>().expect("key").address();
        token
            .mint(account, amount)
            .from(deployment.owner)
            .send()
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("receipt");
        token
            .approve(deployment.contracts.vault, amount)
            .from(account)
            .send()
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("receipt");
        vault
            .deposit(amount)
            .from(account)
            .send()
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("receipt");
    }
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("head")
        .header
        .timestamp;
    let spec = market::JobSpec {
        moduleHash: [0x11; 32].into(),
        moduleUri: "oci://pond/bench".into(),
        inputHash: [0x22; 32].into(),
        inputUri: "ipfs://bench".into(),
        minHardware: market::Hardware {
            gpuCount: 1,
            gpuMemoryGb: 24,
            cpuCores: 8,
            ramGb: 32,
            diskGb: 100,
        },
        maxDuration: 3600,
        maxPrice: U256::from(1_000_000u64),
        matchDeadline: now + 30 * 24 * 3600,
        biddingWindow: 0,
        offerId: U256::ZERO,
    };
    let input = Bytes::from(market::IMarket::postJobCall { spec }.abi_encode());
    let gas = provider
        .estimate_gas(
            TransactionRequest::default()
                .with_from(
                    lane_keys()[0]
                        .parse::<PrivateKeySigner>()
                        .expect("key")
                        .address(),
                )
                .with_to(deployment.contracts.market)
                .with_input(input.clone()),
        )
        .await
        .expect("estimate")
        * 2;
    let starts = nonces(&provider).await;
    let lanes: Vec<Vec<Bytes>> = lane_keys()
        .iter()
        .zip(&starts)
        .map(|(key, first)| {
            let signer: PrivateKeySigner = key.parse().expect("key");
            (0..jobs_per_lane as u64)
                .map(|i| {
                    sign(
                        &signer,
                        412_346,
                        first + i,
                        deployment.contracts.market,
                        input.clone(),
                        gas,
                    )
                })
                .collect()
        })
        .collect();
    let jobs_tps = throughput(&node.http_url(), lanes).await;
    println!(
        "| `Market.postJob` (Stylus, calls Vault, 2 events), 8 senders × {jobs_per_lane} | {jobs_tps:.0} tx/s | – |"
    );

    // eth_getLogs over 100 000 logs: 100 transactions of 1 000 logs each.
    let deploy = TransactionRequest::default()
        .with_from(deployment.owner)
        .with_deploy_code(pond_devnode::deploy::evm_init_code(&loop_emitter()));
    let emitter = provider
        .send_transaction(deploy)
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("receipt")
        .contract_address
        .expect("created");
    let first_block = provider.get_block_number().await.expect("number") + 1;
    for _ in 0..100 {
        let tx = TransactionRequest::default()
            .with_from(deployment.owner)
            .with_to(emitter)
            .with_input(U256::from(1_000).to_be_bytes::<32>().to_vec())
            .with_gas_limit(30_000_000);
        provider
            .send_transaction(tx)
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("receipt");
    }
    let filter = Filter::new().address(emitter).from_block(first_block);
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..3 {
        let start = Instant::now();
        count = provider.get_logs(&filter).await.expect("logs").len();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    assert_eq!(count, 100_000);
    println!(
        "| eth_getLogs returning 100 000 logs (median of 3) | {:.0} ms | – |",
        median(times)
    );
    let selective = Filter::new()
        .address(emitter)
        .from_block(first_block)
        .event_signature(alloy::primitives::B256::from(U256::from(7)));
    let start = Instant::now();
    let few = provider.get_logs(&selective).await.expect("logs").len();
    println!(
        "| eth_getLogs by topic over the same 100 blocks ({few} logs) | {:.1} ms | – |",
        start.elapsed().as_secs_f64() * 1e3
    );
}
