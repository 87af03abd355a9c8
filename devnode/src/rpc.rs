//! The JSON-RPC server: Ethereum's methods with standard semantics,
//! anvil-compatible dev controls, subscriptions and polling filters, over
//! HTTP and WebSocket on one port.
//!
//! Every method runs on the chain thread through [`ChainHandle::with`],
//! except the execution of calls and estimates, which the chain only
//! prepares ([`ChainHandle::off_chain`]). Connections are accepted through
//! a [`pond_listener::GuardedListener`] ([`CONNECTION_LIMITS`]).
//! Errors use the usual codes: -32700 parse error, -32600 invalid request,
//! -32601 unknown method, -32602 invalid params (all four from the
//! server library), -32000 for refused transactions and missing state, and
//! 3 "execution reverted" with the revert data for failed calls.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{atomic::Ordering, Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy_consensus::{transaction::Recovered, TxEnvelope};
use alloy_eips::{eip2718::Decodable2718, BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, Bytes, B256, U256, U64};
use alloy_rpc_types_eth::{
    state::StateOverride, Block, BlockTransactions, FeeHistory, Filter, Header, Transaction,
    TransactionReceipt, TransactionRequest,
};
use alloy_sol_types::{Revert, SolError};
use jsonrpsee::{
    server::{PendingSubscriptionSink, RpcModule, Server, ServerHandle},
    types::{ErrorObjectOwned, Params},
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    chain::{
        block_logs, rpc_log, Chain, ChainError, ChainEvent, MinedBlock, PreparedCall, ReorgTx,
        BASE_FEE, CALL_TIMEOUT,
    },
    node::{ChainHandle, NodeError},
};

/// The version string `web3_clientVersion` returns.
pub const CLIENT_VERSION: &str = concat!("pond-devnode/", env!("CARGO_PKG_VERSION"));
/// Filters not polled for this long are dropped.
const FILTER_TIMEOUT: Duration = Duration::from_secs(300);
/// Most polling filters installed at once (each holds an event receiver).
const MAX_FILTERS: usize = 10_000;

/// Hardhat's names of the dev controls, served as anvil serves them.
pub const HARDHAT_ALIASES: [(&str, &str); 7] = [
    ("hardhat_mine", "anvil_mine"),
    ("hardhat_setBalance", "anvil_setBalance"),
    ("hardhat_setCode", "anvil_setCode"),
    ("hardhat_setNonce", "anvil_setNonce"),
    ("hardhat_setStorageAt", "anvil_setStorageAt"),
    ("hardhat_impersonateAccount", "anvil_impersonateAccount"),
    (
        "hardhat_stopImpersonatingAccount",
        "anvil_stopImpersonatingAccount",
    ),
];

/// Every method name the server answers, for the README and the tests.
pub const METHODS: &[&str] = &[
    "web3_clientVersion",
    "net_version",
    "net_listening",
    "eth_chainId",
    "eth_syncing",
    "eth_accounts",
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_estimateGas",
    "eth_createAccessList",
    "eth_blobBaseFee",
    "eth_getProof",
    "eth_simulateV1",
    "eth_call",
    "eth_sendRawTransaction",
    "eth_sendTransaction",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getLogs",
    "eth_subscribe",
    "eth_unsubscribe",
    "eth_newFilter",
    "eth_newBlockFilter",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_uninstallFilter",
    "evm_mine",
    "evm_snapshot",
    "evm_revert",
    "evm_increaseTime",
    "evm_setNextBlockTimestamp",
    "evm_setAutomine",
    "evm_setIntervalMining",
    "anvil_mine",
    "anvil_setBalance",
    "anvil_setCode",
    "anvil_setNonce",
    "anvil_setStorageAt",
    "anvil_impersonateAccount",
    "anvil_stopImpersonatingAccount",
    "anvil_reorg",
    "anvil_setNextBlockBaseFeePerGas",
    "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getBlockReceipts",
    "hardhat_mine",
    "hardhat_setBalance",
    "hardhat_setCode",
    "hardhat_setNonce",
    "hardhat_setStorageAt",
    "hardhat_impersonateAccount",
    "hardhat_stopImpersonatingAccount",
    "anvil_dropTransaction",
    "anvil_dropAllTransactions",
    "txpool_status",
    "txpool_content",
    "txpool_inspect",
    "eth_sign",
    "personal_sign",
    "eth_signTypedData_v4",
    "anvil_nodeInfo",
    "eth_newPendingTransactionFilter",
];

/// A polling filter.
struct PollFilter {
    kind: FilterKind,
    events: tokio::sync::broadcast::Receiver<ChainEvent>,
    polled: Instant,
}

enum FilterKind {
    Logs(Box<Filter>),
    Blocks,
    PendingTransactions,
}

/// Server state.
struct Rpc {
    chain: ChainHandle,
    filters: Mutex<HashMap<U256, PollFilter>>,
    next_filter: Mutex<u64>,
}

type RpcResult = Result<Value, ErrorObjectOwned>;

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

fn stopped(e: NodeError) -> ErrorObjectOwned {
    match e {
        // EIP-1474's "limit exceeded": retry later.
        NodeError::Busy => error(-32005, e.to_string()),
        e => error(-32603, e.to_string()),
    }
}

fn chain_error(e: ChainError) -> ErrorObjectOwned {
    match e {
        ChainError::Reverted(data) => {
            let message = match Revert::abi_decode(&data) {
                Ok(revert) => format!("execution reverted: {}", revert.reason),
                Err(_) => "execution reverted".to_owned(),
            };
            ErrorObjectOwned::owned(3, message, Some(data))
        }
        ChainError::InvalidParams(message) => error(-32602, message),
        other => error(-32000, other.to_string()),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> RpcResult {
    serde_json::to_value(value).map_err(|e| error(-32603, e.to_string()))
}

/// Parses the positional parameters of a call.
struct Args<'a>(jsonrpsee::types::params::ParamsSequence<'a>);

impl<'a> Args<'a> {
    fn new(params: &'a Params<'a>) -> Self {
        Self(params.sequence())
    }
    fn next<T: DeserializeOwned>(&mut self) -> Result<T, ErrorObjectOwned> {
        self.0.next()
    }
    fn optional<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ErrorObjectOwned> {
        self.0.optional_next()
    }
}

/// Resolves a block id to a number or tag (hashes via the chain).
fn tag_of(chain: &Chain, id: Option<BlockId>) -> Result<BlockNumberOrTag, ChainError> {
    match id {
        None => Ok(BlockNumberOrTag::Latest),
        Some(BlockId::Number(tag)) => Ok(tag),
        Some(BlockId::Hash(hash)) => chain
            .block_by_hash(&hash.block_hash)
            .map(|b| BlockNumberOrTag::Number(b.header.number))
            .ok_or(ChainError::UnknownBlock),
    }
}

/// The RPC form of a block.
fn rpc_block(block: &MinedBlock, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(
            (0..block.txs.len())
                .filter_map(|i| rpc_tx(block, i))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.txs.iter().map(|t| t.hash).collect())
    };
    Block {
        header: rpc_header(block),
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    }
}

fn rpc_header(block: &MinedBlock) -> Header {
    Header {
        hash: block.hash,
        inner: block.header.clone(),
        total_difficulty: Some(U256::from(block.header.number + 1)),
        // Its RLP length, as geth and anvil give it (Ponder, for one,
        // refuses a block without it).
        size: Some(U256::from(block_size(block))),
    }
}

/// The length of `block`'s RLP encoding (header, transactions, no
/// uncles), counted without encoding or copying it.
fn block_size(block: &MinedBlock) -> usize {
    use alloy_rlp::Encodable;
    let txs: usize = block.txs.iter().map(|t| t.envelope.length()).sum();
    let txs_list = txs + alloy_rlp::length_of_length(txs);
    // The empty uncle list is one byte.
    let payload = block.header.length() + txs_list + 1;
    payload + alloy_rlp::length_of_length(payload)
}

/// The RPC form of the `index`th transaction of `block`.
fn rpc_tx(block: &MinedBlock, index: usize) -> Option<Transaction> {
    let tx = block.txs.get(index)?;
    Some(Transaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.from),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(tx.effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    })
}

fn rpc_receipt(block: &MinedBlock, index: usize) -> Option<TransactionReceipt> {
    let tx = block.txs.get(index)?;
    let logs: Vec<alloy_rpc_types_eth::Log> = tx
        .logs
        .iter()
        .enumerate()
        .map(|(offset, log)| rpc_log(block, index, tx.first_log_index + offset as u64, log, false))
        .collect();
    let inner = crate::chain::receipt_envelope_with(tx, logs);
    use alloy_consensus::Transaction as _;
    Some(TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        gas_used: tx.gas_used,
        effective_gas_price: tx.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.from,
        to: tx.envelope.to(),
        contract_address: tx.contract_address,
    })
}

/// Subscription ids as geth, Nitro and anvil give them: 0x-prefixed hex
/// strings of 16 bytes. viem accepts only string ids (with jsonrpsee's
/// default numbers its WebSocket watchers stay silent). Unique per node;
/// they need not be secret, as a subscription belongs to its connection.
#[derive(Debug)]
struct HexIdProvider {
    seed: B256,
    next: std::sync::atomic::AtomicU64,
}

impl Default for HexIdProvider {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            seed: alloy_primitives::keccak256(now.to_be_bytes()),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut input = [0u8; 40];
        input[..32].copy_from_slice(self.seed.as_slice());
        input[32..].copy_from_slice(&n.to_be_bytes());
        let id = alloy_primitives::keccak256(input);
        jsonrpsee::types::SubscriptionId::Str(
            format!("0x{}", alloy_primitives::hex::encode(&id[..16])).into(),
        )
    }
}

/// The RPC server's connection limits: 1 000 connections, 256 per client
/// address (local tools all come from loopback); a connection that sends
/// no complete request within 10 s is closed, and one answered (keep-alive,
/// a subscription) after an hour without a byte either way.
pub const CONNECTION_LIMITS: pond_listener::ConnectionLimits = pond_listener::ConnectionLimits {
    max_connections: 1_000,
    max_per_peer: 256,
    idle_before_answer: Duration::from_secs(10),
    idle: Duration::from_secs(3600),
};

/// Starts the server on `listen`, accepting through a
/// [`pond_listener::GuardedListener`] with `limits` (normally
/// [`CONNECTION_LIMITS`]).
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    chain: ChainHandle,
    listen: SocketAddr,
    limits: pond_listener::ConnectionLimits,
) -> Result<(ServerHandle, SocketAddr), NodeError> {
    let config = jsonrpsee::server::ServerConfig::builder()
        .set_id_provider(HexIdProvider::default())
        // The listener caps connections; jsonrpsee's own guard (100 by
        // default) would refuse requests below that cap.
        .max_connections(u32::try_from(limits.max_connections).unwrap_or(u32::MAX))
        // Room for a batch of the largest transactions, not for a
        // stranger's hundred-megabyte body.
        .max_request_body_size(16 * 1024 * 1024)
        .max_response_body_size(u32::MAX)
        .build();
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| NodeError::Server(e.to_string()))?;
    let addr = tcp
        .local_addr()
        .map_err(|e| NodeError::Server(e.to_string()))?;
    let mut listener = pond_listener::GuardedListener::new(tcp, limits);
    let methods: jsonrpsee::Methods = module(chain)
        .map_err(|e| NodeError::Server(e.to_string()))?
        .into();
    let (stop, handle) = jsonrpsee::server::stop_channel();
    let services = Server::builder().set_config(config).to_service_builder();
    tokio::spawn(async move {
        loop {
            let (io, _peer) = tokio::select! {
                accepted = axum::serve::Listener::accept(&mut listener) => accepted,
                () = stop.clone().shutdown() => return,
            };
            let service = services.clone().build(methods.clone(), stop.clone());
            let stopped = stop.clone().shutdown();
            tokio::spawn(async move {
                // A connection's end (closed, idle, refused) is no error of
                // the server's.
                let _ = jsonrpsee::server::serve_with_graceful_shutdown(io, service, stopped).await;
            });
        }
    });
    Ok((handle, addr))
}

/// Mines a block every `interval` until the chain stops or interval mining
/// is turned off.
pub fn start_interval_mining(chain: &ChainHandle, interval: Duration) {
    let chain = chain.clone();
    let generation = chain.mining_generation.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if chain.mining_generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if chain.with(|c| c.mine(None)).await.is_err() {
                return;
            }
        }
    });
}

macro_rules! method {
    ($module:ident, $name:literal, |$rpc:ident, $params:ident| $body:expr) => {
        $module.register_async_method($name, |$params, $rpc, _| async move {
            let _ = (&$params, &$rpc);
            let result: RpcResult = $body;
            result
        })?;
    };
}

/// A pending transaction as `eth_getTransactionByHash` and `txpool_content`
/// show it: no block yet.
fn pending_rpc_tx(from: Address, envelope: &TxEnvelope) -> Transaction {
    Transaction {
        inner: Recovered::new_unchecked(envelope.clone(), from),
        block_hash: None,
        block_number: None,
        transaction_index: None,
        effective_gas_price: None,
        block_timestamp: None,
    }
}

/// The pending pool as `txpool_content` and `txpool_inspect` give it:
/// `{"pending": {sender: {nonce: entry}}, "queued": {}}`.
fn pool_by_sender(
    chain: &Chain,
    entry: impl Fn(Address, &TxEnvelope) -> Result<Value, ChainError>,
) -> Result<Value, ChainError> {
    let mut pending: std::collections::BTreeMap<String, serde_json::Map<String, Value>> =
        std::collections::BTreeMap::new();
    for (from, envelope) in chain.pending_transactions() {
        // Keyed by the checksummed address, as geth keys them.
        pending.entry(from.to_checksum(None)).or_default().insert(
            alloy_consensus::Transaction::nonce(envelope).to_string(),
            entry(from, envelope)?,
        );
    }
    Ok(json!({ "pending": pending, "queued": {} }))
}

/// Bounds on `eth_signTypedData_v4`'s typed data, checked before alloy
/// hashes it: alloy recurses once per type it depends on and per array
/// dimension and compares types pairwise, so unbounded input could
/// exhaust the stack (aborting the process) or the CPU.
const TYPED_DATA_BYTES: usize = 64 * 1024;
const TYPED_DATA_TYPES: usize = 64;
const TYPED_DATA_FIELDS: usize = 64;
const TYPE_NAME_BYTES: usize = 256;
const ARRAY_DIMENSIONS: usize = 8;

/// Typed data given as an object or a string holding one (as MetaMask and
/// ethers send it), within the bounds above.
fn typed_data(value: Value) -> Result<alloy_dyn_abi::TypedData, ErrorObjectOwned> {
    let invalid = |why: String| error(-32602, format!("invalid typed data: {why}"));
    let value = match value {
        Value::String(text) if text.len() > TYPED_DATA_BYTES => {
            return Err(invalid(format!("more than {TYPED_DATA_BYTES} bytes")))
        }
        Value::String(text) => serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?,
        other => other,
    };
    if serde_json::to_vec(&value).map_or(true, |bytes| bytes.len() > TYPED_DATA_BYTES) {
        return Err(invalid(format!("more than {TYPED_DATA_BYTES} bytes")));
    }
    let types = value
        .get("types")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("no types".into()))?;
    if types.len() > TYPED_DATA_TYPES {
        return Err(invalid(format!("more than {TYPED_DATA_TYPES} types")));
    }
    for (name, fields) in types {
        let fields = fields
            .as_array()
            .ok_or_else(|| invalid(format!("the fields of {name} are not a list")))?;
        if name.len() > TYPE_NAME_BYTES || fields.len() > TYPED_DATA_FIELDS {
            return Err(invalid(format!(
                "type {name:.64} is longer than {TYPE_NAME_BYTES} bytes or has more than \
                 {TYPED_DATA_FIELDS} fields"
            )));
        }
        for field in fields {
            let ty = field
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ty.len() > TYPE_NAME_BYTES || ty.matches('[').count() > ARRAY_DIMENSIONS {
                return Err(invalid(format!(
                    "a field of {name:.64} has a type longer than {TYPE_NAME_BYTES} bytes or \
                     more than {ARRAY_DIMENSIONS} array dimensions"
                )));
            }
        }
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// `hash` signed by dev account `address` (65 bytes, `v` 27 or 28).
async fn sign(rpc: &Rpc, address: Address, hash: B256) -> RpcResult {
    on_chain(rpc, move |c| {
        c.sign_hash(address, &hash)
            .map(|signature| Bytes::from(signature.as_bytes().to_vec()))
    })
    .await
}

/// Runs `job` on the chain and maps chain errors.
async fn on_chain<T: serde::Serialize + Send + 'static>(
    rpc: &Rpc,
    job: impl FnOnce(&mut Chain) -> Result<T, ChainError> + Send + 'static,
) -> RpcResult {
    let value = rpc
        .chain
        .with(job)
        .await
        .map_err(stopped)?
        .map_err(chain_error)?;
    to_json(&value)
}

/// Runs a call or estimate off the chain's thread: once a call slot is
/// free, the chain prepares its snapshot, and `run` executes it on a call
/// thread by the deadline ([`CALL_TIMEOUT`] from then) while the chain
/// serves others.
async fn off_chain<T: serde::Serialize + Send + 'static>(
    rpc: &Rpc,
    request: TransactionRequest,
    id: Option<BlockId>,
    overrides: Option<StateOverride>,
    run: impl FnOnce(PreparedCall, Instant) -> Result<T, ChainError> + Send + 'static,
) -> RpcResult {
    to_json(&off_chain_value(rpc, request, id, overrides, run).await?)
}

/// [`off_chain`]'s value, before it becomes JSON.
async fn off_chain_value<T: Send + 'static>(
    rpc: &Rpc,
    request: TransactionRequest,
    id: Option<BlockId>,
    overrides: Option<StateOverride>,
    run: impl FnOnce(PreparedCall, Instant) -> Result<T, ChainError> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    in_call_slot(
        rpc,
        move |c| c.prepare_call(request, tag_of(c, id)?, overrides),
        run,
    )
    .await
}

/// Heavy read-only work: `prepare` takes what it needs on the chain's
/// thread (a snapshot, a prepared call), then `run` does the work on a
/// thread of its own, holding a call slot, by a call's deadline.
async fn in_call_slot<P: Send + 'static, T: Send + 'static>(
    rpc: &Rpc,
    prepare: impl FnOnce(&mut Chain) -> Result<P, ChainError> + Send + 'static,
    run: impl FnOnce(P, Instant) -> Result<T, ChainError> + Send + 'static,
) -> Result<T, ErrorObjectOwned> {
    let slot = rpc.chain.call_slot().await.map_err(stopped)?;
    let deadline = Instant::now() + CALL_TIMEOUT;
    let prepared = rpc
        .chain
        .with(prepare)
        .await
        .map_err(stopped)?
        .map_err(chain_error)?;
    rpc.chain
        .off_chain(slot, move || run(prepared, deadline))
        .await
        .map_err(stopped)?
        .map_err(chain_error)
}

fn module(chain: ChainHandle) -> Result<RpcModule<Rpc>, jsonrpsee::core::RegisterMethodError> {
    let mut m = RpcModule::new(Rpc {
        chain,
        filters: Mutex::new(HashMap::new()),
        next_filter: Mutex::new(1),
    });

    method!(m, "web3_clientVersion", |rpc, p| Ok(json!(CLIENT_VERSION)));
    method!(m, "net_version", |rpc, p| {
        on_chain(&rpc, |c| Ok(c.chain_id().to_string())).await
    });
    method!(m, "net_listening", |rpc, p| Ok(json!(true)));
    method!(m, "eth_syncing", |rpc, p| Ok(json!(false)));
    method!(m, "eth_chainId", |rpc, p| {
        on_chain(&rpc, |c| Ok(U64::from(c.chain_id()))).await
    });
    method!(m, "eth_accounts", |rpc, p| on_chain(&rpc, |c| Ok(
        c.accounts()
    ))
    .await);
    method!(m, "eth_blockNumber", |rpc, p| {
        on_chain(&rpc, |c| Ok(U64::from(c.block_number()))).await
    });
    method!(m, "eth_gasPrice", |rpc, p| {
        on_chain(&rpc, |c| Ok(U64::from(c.base_fee()))).await
    });
    method!(m, "eth_maxPriorityFeePerGas", |rpc, p| Ok(json!(U64::ZERO)));

    method!(m, "eth_getBlockByNumber", |rpc, p| {
        let mut args = Args::new(&p);
        let tag: BlockNumberOrTag = args.next()?;
        let full: bool = args.optional()?.unwrap_or(false);
        on_chain(&rpc, move |c| {
            Ok(c.resolve(tag)
                .ok()
                .and_then(|n| c.block(n))
                .map(|b| rpc_block(b, full)))
        })
        .await
    });
    method!(m, "eth_getBlockByHash", |rpc, p| {
        let mut args = Args::new(&p);
        let hash: B256 = args.next()?;
        let full: bool = args.optional()?.unwrap_or(false);
        on_chain(&rpc, move |c| {
            Ok(c.block_by_hash(&hash).map(|b| rpc_block(b, full)))
        })
        .await
    });
    method!(m, "eth_getBlockTransactionCountByNumber", |rpc, p| {
        let tag: BlockNumberOrTag = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            Ok(c.resolve(tag)
                .ok()
                .and_then(|n| c.block(n))
                .map(|b| U64::from(b.txs.len())))
        })
        .await
    });

    method!(m, "eth_getBlockTransactionCountByHash", |rpc, p| {
        let hash: B256 = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            Ok(c.block_by_hash(&hash).map(|b| U64::from(b.txs.len())))
        })
        .await
    });
    method!(m, "eth_getTransactionByBlockNumberAndIndex", |rpc, p| {
        let mut args = Args::new(&p);
        let tag: BlockNumberOrTag = args.next()?;
        let index: U64 = args.next()?;
        on_chain(&rpc, move |c| {
            Ok(c.resolve(tag)
                .ok()
                .and_then(|n| c.block(n))
                .and_then(|b| rpc_tx(b, index.to::<usize>())))
        })
        .await
    });
    method!(m, "eth_getTransactionByBlockHashAndIndex", |rpc, p| {
        let mut args = Args::new(&p);
        let hash: B256 = args.next()?;
        let index: U64 = args.next()?;
        on_chain(&rpc, move |c| {
            Ok(c.block_by_hash(&hash)
                .and_then(|b| rpc_tx(b, index.to::<usize>())))
        })
        .await
    });
    method!(m, "eth_getBlockReceipts", |rpc, p| {
        let id: BlockId = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            let block = match id {
                BlockId::Hash(hash) => c.block_by_hash(&hash.block_hash),
                BlockId::Number(tag) => c.resolve(tag).ok().and_then(|n| c.block(n)),
            };
            Ok(block.map(|b| {
                (0..b.txs.len())
                    .filter_map(|i| rpc_receipt(b, i))
                    .collect::<Vec<_>>()
            }))
        })
        .await
    });

    method!(m, "eth_getBalance", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        on_chain(&rpc, move |c| {
            let tag = tag_of(c, id)?;
            c.read(tag, |s| s.balance(&address))
        })
        .await
    });
    method!(m, "eth_getTransactionCount", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        on_chain(&rpc, move |c| {
            if id == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
                return Ok(U64::from(c.next_nonce(&address)));
            }
            let tag = tag_of(c, id)?;
            c.read(tag, |s| U64::from(s.nonce(&address)))
        })
        .await
    });
    method!(m, "eth_getCode", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        on_chain(&rpc, move |c| {
            let tag = tag_of(c, id)?;
            c.read(tag, |s| s.code(&address))
        })
        .await
    });
    method!(m, "eth_getStorageAt", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let key: U256 = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        on_chain(&rpc, move |c| {
            let tag = tag_of(c, id)?;
            c.read(tag, |s| B256::from(s.storage(&address, &key)))
        })
        .await
    });

    method!(m, "eth_feeHistory", |rpc, p| {
        let mut args = Args::new(&p);
        let count: U64 = args.next()?;
        let newest: BlockNumberOrTag = args.next()?;
        let percentiles: Option<Vec<f64>> = args.optional()?;
        on_chain(&rpc, move |c| {
            let newest = c.resolve(newest)?;
            let count = count.to::<u64>().clamp(1, 1024).min(newest + 1);
            let oldest = newest + 1 - count;
            let (mut ratios, mut base_fees) = (Vec::new(), Vec::new());
            for n in oldest..=newest {
                let header = &c.block(n).ok_or(ChainError::UnknownBlock)?.header;
                ratios.push(header.gas_used as f64 / header.gas_limit as f64);
                base_fees.push(u128::from(header.base_fee_per_gas.unwrap_or(BASE_FEE)));
            }
            // And the block after the newest: the head's successor is next.
            base_fees.push(match c.block(newest + 1) {
                Some(block) => u128::from(block.header.base_fee_per_gas.unwrap_or(BASE_FEE)),
                None => u128::from(c.base_fee()),
            });
            let rewards = percentiles.map(|p| vec![vec![0u128; p.len()]; count as usize]);
            Ok(FeeHistory {
                base_fee_per_gas: base_fees,
                gas_used_ratio: ratios,
                base_fee_per_blob_gas: Vec::new(),
                blob_gas_used_ratio: Vec::new(),
                oldest_block: oldest,
                reward: rewards,
            })
        })
        .await
    });

    method!(m, "eth_call", |rpc, p| {
        let mut args = Args::new(&p);
        let request: TransactionRequest = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        let overrides: Option<StateOverride> = args.optional()?;
        off_chain(&rpc, request, id, overrides, |call, deadline| {
            call.call(deadline).map(|(output, _)| output)
        })
        .await
    });
    method!(m, "eth_createAccessList", |rpc, p| {
        let mut args = Args::new(&p);
        let request: TransactionRequest = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        off_chain(&rpc, request, id, None, |call, deadline| {
            call.access_list(deadline)
        })
        .await
    });
    method!(m, "eth_getProof", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let keys: Vec<B256> = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        if keys.len() > crate::proof::MAX_KEYS {
            return Err(error(
                -32602,
                format!(
                    "{} storage keys asked; at most {} per request",
                    keys.len(),
                    crate::proof::MAX_KEYS
                ),
            ));
        }
        // It reads the whole state.
        let proof = in_call_slot(
            &rpc,
            move |c| c.state_snapshot(tag_of(c, id)?),
            move |state, deadline| crate::proof::prove(&state, address, &keys, deadline),
        )
        .await?;
        to_json(&proof)
    });
    method!(m, "eth_simulateV1", |rpc, p| {
        let mut args = Args::new(&p);
        let payload: alloy_rpc_types_eth::simulate::SimulatePayload = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        let blocks = in_call_slot(
            &rpc,
            move |c| {
                let tag = tag_of(c, id)?;
                let number = c.resolve(tag)?;
                let block = c.block(number).ok_or(ChainError::UnknownBlock)?;
                let base = crate::chain::SimulationBase {
                    number,
                    timestamp: block.header.timestamp,
                    hash: block.hash,
                };
                Ok((
                    c.prepare_call(TransactionRequest::default(), tag, None)?,
                    base,
                ))
            },
            move |(prepared, base), deadline| prepared.simulate(payload, base, deadline),
        )
        .await?;
        to_json(&blocks)
    });
    method!(m, "eth_blobBaseFee", |rpc, p| {
        // Blob transactions are refused, so blob gas stays at EIP-4844's
        // minimum price.
        Ok(json!("0x1"))
    });
    method!(m, "eth_estimateGas", |rpc, p| {
        let mut args = Args::new(&p);
        let request: TransactionRequest = args.next()?;
        let id: Option<BlockId> = args.optional()?;
        let overrides: Option<StateOverride> = args.optional()?;
        off_chain(&rpc, request, id, overrides, |call, deadline| {
            call.estimate(deadline).map(U64::from)
        })
        .await
    });

    method!(m, "eth_sendRawTransaction", |rpc, p| {
        let raw: Bytes = Args::new(&p).next()?;
        let envelope = TxEnvelope::decode_2718(&mut raw.as_ref())
            .map_err(|e| error(-32602, format!("cannot decode transaction: {e}")))?;
        on_chain(&rpc, move |c| c.send_raw(envelope)).await
    });
    method!(m, "eth_sendTransaction", |rpc, p| {
        let mut request: TransactionRequest = Args::new(&p).next()?;
        if request.gas.is_none() {
            // Estimated off the chain's thread, like any estimate.
            let gas = off_chain_value(&rpc, request.clone(), None, None, |call, deadline| {
                call.estimate(deadline)
            })
            .await?;
            request.gas = Some(gas);
        }
        on_chain(&rpc, move |c| c.send(request)).await
    });
    method!(m, "eth_getTransactionByHash", |rpc, p| {
        let hash: B256 = Args::new(&p).next()?;
        on_chain(&rpc, move |c| Ok(transaction_by_hash(c, &hash))).await
    });
    method!(m, "eth_getTransactionReceipt", |rpc, p| {
        let hash: B256 = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            Ok(c.transaction(&hash)
                .and_then(|(block, index)| rpc_receipt(block, index)))
        })
        .await
    });
    method!(m, "eth_getLogs", |rpc, p| {
        let filter: Filter = Args::new(&p).next()?;
        on_chain(&rpc, move |c| c.logs(&filter)).await
    });

    // ---- polling filters ----
    method!(m, "eth_newFilter", |rpc, p| {
        let filter: Filter = Args::new(&p).next()?;
        crate::chain::check_filter(&filter).map_err(chain_error)?;
        rpc.add_filter(FilterKind::Logs(Box::new(filter)))
    });
    method!(m, "eth_newBlockFilter", |rpc, p| rpc
        .add_filter(FilterKind::Blocks));
    method!(m, "eth_newPendingTransactionFilter", |rpc, p| rpc
        .add_filter(FilterKind::PendingTransactions));
    method!(m, "eth_uninstallFilter", |rpc, p| {
        let id: U256 = Args::new(&p).next()?;
        let removed = rpc.lock_filters().remove(&id).is_some();
        Ok(json!(removed))
    });
    method!(m, "eth_getFilterChanges", |rpc, p| {
        let id: U256 = Args::new(&p).next()?;
        rpc.filter_changes(id)
    });
    method!(m, "eth_getFilterLogs", |rpc, p| {
        let id: U256 = Args::new(&p).next()?;
        let filter = match rpc.lock_filters().get(&id).map(|f| &f.kind) {
            Some(FilterKind::Logs(filter)) => (**filter).clone(),
            Some(FilterKind::Blocks | FilterKind::PendingTransactions) => {
                return Err(error(-32602, "not a log filter"))
            }
            None => return Err(error(-32000, "filter not found")),
        };
        on_chain(&rpc, move |c| c.logs(&filter)).await
    });

    // ---- dev controls ----
    method!(m, "evm_mine", |rpc, p| {
        let timestamp: Option<U64> = Args::new(&p).optional()?;
        on_chain(&rpc, move |c| {
            c.mine(timestamp.map(|t| t.to::<u64>())).map(|_| "0x0")
        })
        .await
    });
    method!(m, "anvil_mine", |rpc, p| {
        let mut args = Args::new(&p);
        let count: Option<U64> = args.optional()?;
        let interval: Option<U64> = args.optional()?;
        on_chain(&rpc, move |c| {
            let count = count.map_or(1, |n| n.to::<u64>());
            for _ in 0..count {
                if let Some(step) = interval {
                    c.increase_time(i64::try_from(step.to::<u64>()).unwrap_or(i64::MAX));
                }
                c.mine(None)?;
            }
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "evm_snapshot", |rpc, p| {
        on_chain(&rpc, |c| Ok(U64::from(c.snapshot()))).await
    });
    method!(m, "evm_revert", |rpc, p| {
        let id: U64 = Args::new(&p).next()?;
        on_chain(&rpc, move |c| Ok(c.revert_to(id.to::<u64>()))).await
    });
    method!(m, "anvil_setNextBlockBaseFeePerGas", |rpc, p| {
        let fee: U256 = Args::new(&p).next()?;
        let fee = u64::try_from(fee).map_err(|_| error(-32602, "base fee above 2^64 wei"))?;
        on_chain(&rpc, move |c| {
            c.set_base_fee(fee);
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "evm_increaseTime", |rpc, p| {
        let seconds: Value = Args::new(&p).next()?;
        let seconds = number_param(&seconds)?;
        on_chain(&rpc, move |c| Ok(c.increase_time(seconds))).await
    });
    method!(m, "evm_setNextBlockTimestamp", |rpc, p| {
        let timestamp: Value = Args::new(&p).next()?;
        let timestamp = number_param(&timestamp)?;
        let timestamp =
            u64::try_from(timestamp).map_err(|_| error(-32602, "negative timestamp"))?;
        on_chain(&rpc, move |c| {
            c.set_next_timestamp(timestamp).map(|()| Value::Null)
        })
        .await
    });
    method!(m, "evm_setAutomine", |rpc, p| {
        let on: bool = Args::new(&p).next()?;
        if on {
            rpc.chain.mining_generation.fetch_add(1, Ordering::SeqCst);
        }
        on_chain(&rpc, move |c| c.set_automine(on).map(|()| Value::Null)).await
    });
    method!(m, "evm_setIntervalMining", |rpc, p| {
        let millis: Value = Args::new(&p).next()?;
        let millis = number_param(&millis)?;
        rpc.chain.mining_generation.fetch_add(1, Ordering::SeqCst);
        if millis > 0 {
            rpc.chain
                .with(|c| c.set_automine(false))
                .await
                .map_err(stopped)?
                .map_err(chain_error)?;
            start_interval_mining(&rpc.chain, Duration::from_millis(millis.unsigned_abs()));
        }
        Ok(Value::Null)
    });
    method!(m, "anvil_setBalance", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let balance: U256 = args.next()?;
        on_chain(&rpc, move |c| {
            c.set_balance(address, balance);
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "anvil_setCode", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let code: Bytes = args.next()?;
        on_chain(&rpc, move |c| {
            c.set_code(address, code);
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "anvil_setNonce", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let nonce: U64 = args.next()?;
        on_chain(&rpc, move |c| {
            c.set_nonce(address, nonce.to::<u64>());
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "anvil_setStorageAt", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let key: U256 = args.next()?;
        let value: B256 = args.next()?;
        on_chain(&rpc, move |c| {
            c.set_storage(address, key, value.into());
            Ok(true)
        })
        .await
    });
    method!(m, "anvil_dropTransaction", |rpc, p| {
        let hash: B256 = Args::new(&p).next()?;
        on_chain(&rpc, move |c| Ok(c.drop_pending(&hash).then_some(hash))).await
    });
    method!(m, "anvil_dropAllTransactions", |rpc, _p| {
        on_chain(&rpc, |c| {
            c.drop_all_pending();
            Ok(Value::Null)
        })
        .await
    });
    // A nonce gap is refused at submission, so nothing is queued in
    // geth's sense; transactions waiting for a lower base fee count as
    // pending.
    method!(m, "txpool_status", |rpc, _p| {
        on_chain(&rpc, |c| {
            Ok(json!({
                "pending": U64::from(c.pending_transactions().count()),
                "queued": U64::ZERO,
            }))
        })
        .await
    });
    method!(m, "txpool_content", |rpc, _p| {
        on_chain(&rpc, |c| {
            pool_by_sender(c, |from, envelope| {
                serde_json::to_value(pending_rpc_tx(from, envelope))
                    .map_err(|e| ChainError::Invalid(e.to_string()))
            })
        })
        .await
    });
    method!(m, "txpool_inspect", |rpc, _p| {
        on_chain(&rpc, |c| {
            pool_by_sender(c, |_, envelope| {
                use alloy_consensus::Transaction as _;
                // geth's summary line.
                let to = envelope
                    .to()
                    .map_or_else(|| "contract creation".to_owned(), |to| to.to_checksum(None));
                Ok(Value::String(format!(
                    "{to}: {} wei + {} gas × {} wei",
                    envelope.value(),
                    envelope.gas_limit(),
                    envelope.max_fee_per_gas()
                )))
            })
        })
        .await
    });
    // Signing with the dev accounts' keys, as geth and anvil do for the
    // accounts they hold (wallet libraries' JSON-RPC accounts use these).
    method!(m, "personal_sign", |rpc, p| {
        let mut args = Args::new(&p);
        let message: Bytes = args.next()?;
        let address: Address = args.next()?;
        sign(
            &rpc,
            address,
            alloy_primitives::eip191_hash_message(&message),
        )
        .await
    });
    method!(m, "eth_sign", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let message: Bytes = args.next()?;
        sign(
            &rpc,
            address,
            alloy_primitives::eip191_hash_message(&message),
        )
        .await
    });
    method!(m, "eth_signTypedData_v4", |rpc, p| {
        let mut args = Args::new(&p);
        let address: Address = args.next()?;
        let typed = typed_data(args.next()?)?;
        let hash = typed
            .eip712_signing_hash()
            .map_err(|e| error(-32602, format!("invalid typed data: {e}")))?;
        sign(&rpc, address, hash).await
    });
    method!(m, "anvil_nodeInfo", |rpc, _p| {
        on_chain(&rpc, |c| {
            let head = &c.head().header;
            Ok(json!({
                "currentBlockNumber": U64::from(head.number),
                "currentBlockTimestamp": head.timestamp,
                "currentBlockHash": c.head().hash,
                "hardFork": "devnode (Arbitrum Stylus)",
                "transactionOrder": "fifo",
                "environment": {
                    "baseFee": c.base_fee(),
                    "chainId": c.chain_id(),
                    "gasLimit": head.gas_limit,
                    "gasPrice": c.base_fee(),
                },
                "forkConfig": { "forkUrl": null, "forkBlockNumber": null, "forkRetryBackoff": null },
            }))
        })
        .await
    });
    method!(m, "anvil_impersonateAccount", |rpc, p| {
        let address: Address = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            c.impersonate(address, true);
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "anvil_stopImpersonatingAccount", |rpc, p| {
        let address: Address = Args::new(&p).next()?;
        on_chain(&rpc, move |c| {
            c.impersonate(address, false);
            Ok(Value::Null)
        })
        .await
    });
    method!(m, "anvil_reorg", |rpc, p| {
        let mut args = Args::new(&p);
        let depth: Value = args.next()?;
        let depth =
            u64::try_from(number_param(&depth)?).map_err(|_| error(-32602, "negative depth"))?;
        let pairs: Option<Vec<(Value, Value)>> = args.optional()?;
        let mut txs = Vec::new();
        for (tx, offset) in pairs.unwrap_or_default() {
            let offset = u64::try_from(number_param(&offset)?)
                .map_err(|_| error(-32602, "negative block offset"))?;
            txs.push((reorg_tx(tx)?, offset));
        }
        on_chain(&rpc, move |c| c.reorg(depth, txs).map(|()| Value::Null)).await
    });

    // ---- subscriptions ----
    // Hardhat's names for the same controls, as anvil serves them.
    for (alias, method) in HARDHAT_ALIASES {
        m.register_alias(alias, method)?;
    }
    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, rpc, _| async move { subscribe(params, pending, rpc).await },
    )?;
    Ok(m)
}

/// A number given as a JSON number or a hex/decimal string.
fn number_param(value: &Value) -> Result<i64, ErrorObjectOwned> {
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    };
    parsed.ok_or_else(|| error(-32602, format!("expected a number, got {value}")))
}

fn reorg_tx(value: Value) -> Result<ReorgTx, ErrorObjectOwned> {
    if let Value::String(raw) = &value {
        let bytes: Bytes = raw
            .parse()
            .map_err(|_| error(-32602, "reorg transaction: expected hex"))?;
        let envelope = TxEnvelope::decode_2718(&mut bytes.as_ref())
            .map_err(|e| error(-32602, format!("cannot decode transaction: {e}")))?;
        return Ok(ReorgTx::Signed(envelope));
    }
    serde_json::from_value(value)
        .map(ReorgTx::Request)
        .map_err(|e| error(-32602, format!("reorg transaction: {e}")))
}

impl Rpc {
    fn lock_filters(&self) -> std::sync::MutexGuard<'_, HashMap<U256, PollFilter>> {
        self.filters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add_filter(&self, kind: FilterKind) -> RpcResult {
        let id = {
            let mut next = self
                .next_filter
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let id = *next;
            *next += 1;
            U256::from(id)
        };
        let mut filters = self.lock_filters();
        filters.retain(|_, f| f.polled.elapsed() < FILTER_TIMEOUT);
        if filters.len() >= MAX_FILTERS {
            return Err(error(
                -32005,
                format!("{MAX_FILTERS} filters are installed; uninstall some or let them expire"),
            ));
        }
        let events = match kind {
            FilterKind::PendingTransactions => self.chain.subscribe_pending(),
            FilterKind::Logs(_) | FilterKind::Blocks => self.chain.subscribe(),
        };
        filters.insert(
            id,
            PollFilter {
                kind,
                events,
                polled: Instant::now(),
            },
        );
        Ok(json!(id))
    }

    fn filter_changes(&self, id: U256) -> RpcResult {
        let mut filters = self.lock_filters();
        let filter = filters
            .get_mut(&id)
            .ok_or_else(|| error(-32000, "filter not found"))?;
        filter.polled = Instant::now();
        let mut out = Vec::new();
        loop {
            match filter.events.try_recv() {
                Ok(ChainEvent::Block(block)) => match &filter.kind {
                    FilterKind::Blocks => out.push(json!(block.hash)),
                    FilterKind::Logs(f) => {
                        for log in block_logs(&block, f, false) {
                            out.push(to_json(&log)?);
                        }
                    }
                    FilterKind::PendingTransactions => {}
                },
                Ok(ChainEvent::Pending(hash)) => {
                    if let FilterKind::PendingTransactions = filter.kind {
                        out.push(json!(hash));
                    }
                }
                Ok(ChainEvent::Removed(blocks)) => {
                    if let FilterKind::Logs(f) = &filter.kind {
                        for block in blocks {
                            for log in block_logs(&block, f, true) {
                                out.push(to_json(&log)?);
                            }
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {
                    return Err(error(-32000, "filter fell behind; create a new one"))
                }
                Err(_) => break,
            }
        }
        Ok(Value::Array(out))
    }
}

/// A transaction by hash, mined or pending, in its RPC form.
fn transaction_by_hash(chain: &Chain, hash: &B256) -> Option<alloy_rpc_types_eth::Transaction> {
    if let Some((block, index)) = chain.transaction(hash) {
        return rpc_tx(block, index);
    }
    chain
        .pending_transaction(hash)
        .map(|(from, envelope)| pending_rpc_tx(from, envelope))
}

async fn subscribe(params: Params<'static>, pending: PendingSubscriptionSink, rpc: Arc<Rpc>) {
    enum Kind {
        Heads,
        Logs(Box<Filter>),
        /// Pending transactions: hashes, or (geth's `true`) whole ones.
        Pending {
            full: bool,
        },
    }
    let mut args = Args::new(&params);
    let kind = match args.next::<String>() {
        Ok(name) if name == "newHeads" => Kind::Heads,
        Ok(name) if name == "newPendingTransactions" => match args.optional::<bool>() {
            Ok(full) => Kind::Pending {
                full: full.unwrap_or(false),
            },
            Err(e) => {
                pending.reject(e).await;
                return;
            }
        },
        Ok(name) if name == "logs" => match args.optional::<Filter>() {
            Ok(filter) => {
                let filter = filter.unwrap_or_default();
                if let Err(e) = crate::chain::check_filter(&filter) {
                    pending.reject(chain_error(e)).await;
                    return;
                }
                Kind::Logs(Box::new(filter))
            }
            Err(e) => {
                pending.reject(e).await;
                return;
            }
        },
        Ok(other) => {
            pending
                .reject(error(-32602, format!("unsupported subscription {other}")))
                .await;
            return;
        }
        Err(e) => {
            pending.reject(e).await;
            return;
        }
    };
    let mut events = match kind {
        Kind::Pending { .. } => rpc.chain.subscribe_pending(),
        Kind::Heads | Kind::Logs(_) => rpc.chain.subscribe(),
    };
    let Ok(sink) = pending.accept().await else {
        return;
    };
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = sink.closed() => return,
        };
        let items: Vec<Box<serde_json::value::RawValue>> = match event {
            Ok(ChainEvent::Block(block)) => match &kind {
                Kind::Heads => raw(&rpc_header(&block)).into_iter().collect(),
                Kind::Logs(filter) => block_logs(&block, filter, false)
                    .iter()
                    .filter_map(raw)
                    .collect(),
                Kind::Pending { .. } => Vec::new(),
            },
            Ok(ChainEvent::Pending(hash)) => match &kind {
                Kind::Pending { full: false } => raw(&hash).into_iter().collect(),
                Kind::Pending { full: true } => {
                    // With automine it may be mined by now; either way it
                    // is sent as the node has it.
                    let Ok(tx) = rpc.chain.with(move |c| transaction_by_hash(c, &hash)).await
                    else {
                        return;
                    };
                    tx.as_ref().and_then(raw).into_iter().collect()
                }
                Kind::Heads | Kind::Logs(_) => Vec::new(),
            },
            Ok(ChainEvent::Removed(blocks)) => match &kind {
                Kind::Heads | Kind::Pending { .. } => Vec::new(),
                Kind::Logs(filter) => blocks
                    .iter()
                    .flat_map(|b| block_logs(b, filter, true))
                    .filter_map(|log| raw(&log))
                    .collect(),
            },
            // A slow client lost events: end the subscription rather than
            // leave a silent gap.
            Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
        };
        for item in items {
            if sink.send(item).await.is_err() {
                return;
            }
        }
    }
}

fn raw<T: serde::Serialize>(value: &T) -> Option<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}
