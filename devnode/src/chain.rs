//! The chain: blocks, transactions, receipts and the world state, with the
//! dev controls (mining modes, time, snapshots, reorgs, impersonation).
//!
//! One [`Chain`] is owned by one thread (see [`crate::node`]); it is not
//! shared. Each mined block keeps the undo log of its state changes, so
//! `evm_revert` and `anvil_reorg` unwind blocks exactly, and historical
//! `eth_call`s rebuild the state of an older block.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{
    proofs::{calculate_receipt_root, calculate_transaction_root},
    Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxEip1559, TxEnvelope,
    TxType,
};
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::{AccessList, AccessListItem},
    BlockNumberOrTag,
};
use alloy_primitives::{
    address, keccak256, Address, Bloom, Bytes, Log, Signature, TxKind, B256, U256, U64,
};
use alloy_rpc_types_eth::{state::StateOverride, Filter, FilterBlockOption, TransactionRequest};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::result::{
        EVMError, ExecutionResult, HaltReason, InvalidTransaction, Output,
    },
    database_interface::WrapDatabaseRef,
    primitives::hardfork::SpecId,
};
use serde::{Deserialize, Serialize};

use crate::{
    evm, history, nodeinterface,
    state::{Undo, WorldState},
    stylus::{Programs, TxMeter},
};

mod journal;
mod simulate;
pub use journal::ChainRecord;
pub use simulate::{
    Base as SimulationBase, MAX_BLOCKS as MAX_SIMULATED_BLOCKS, MAX_CALLS as MAX_SIMULATED_CALLS,
    MAX_RESULT_BYTES as MAX_SIMULATION_BYTES,
};

/// Nitro's sequencer coinbase, used as every block's beneficiary.
pub const SEQUENCER: Address = address!("a4b000000000000000000073657175656e636572");
/// Gas limit of a block (Nitro's, effectively unlimited).
pub const BLOCK_GAS_LIMIT: u64 = 1_125_899_906_842_624;
/// The most gas a call may use, whatever it asks for (geth's default RPC
/// gas cap).
pub const CALL_GAS_CAP: u64 = 50_000_000;
/// The most gas a transaction may ask for, and the most a block's
/// transactions may ask for together: Arbitrum's per-block gas limit (the
/// header's `gasLimit` is Nitro's nominal, effectively unlimited one).
/// Estimates search up to it.
pub const MAX_TX_GAS: u64 = 32_000_000;
/// The longest an `eth_call` or `eth_estimateGas` may run (geth's default
/// RPC EVM timeout).
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The base fee a chain starts with: Arbitrum's minimum, 0.1 gwei (it
/// changes only by `anvil_setNextBlockBaseFeePerGas`).
pub const BASE_FEE: u64 = 100_000_000;

/// Why the chain refused a request. Each maps to a JSON-RPC error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The transaction's chain id is not this chain's.
    #[error("invalid chain id: transaction has {got}, chain is {expected}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce was already used.
    #[error("nonce too low: next nonce {expected}, transaction nonce {got}")]
    NonceTooLow {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce leaves a gap.
    #[error("nonce too high: next nonce {expected}, transaction nonce {got}")]
    NonceTooHigh {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The same transaction was already submitted.
    #[error("already known: {0}")]
    AlreadyKnown(B256),
    /// revm refused the transaction (funds, gas, fee).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// A transaction type devnode does not take.
    #[error("unsupported transaction type {0}")]
    UnsupportedType(u8),
    /// `eth_sendTransaction` from an account whose key devnode lacks.
    #[error("no key for {0}: not a dev account and not impersonated")]
    UnknownAccount(Address),
    /// A signature asked of an account whose key devnode lacks.
    #[error(
        "no key for {0}: devnode signs only for its dev accounts (impersonated ones have no key)"
    )]
    CannotSign(Address),
    /// The call reverted (data is the revert data).
    #[error("execution reverted")]
    Reverted(Bytes),
    /// The call halted (out of gas, invalid opcode, failed program, …).
    #[error("execution halted: {0}")]
    Halted(String),
    /// The block does not exist.
    #[error("block not found")]
    UnknownBlock,
    /// A malformed argument.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A transaction asked for more gas than a block holds.
    #[error("exceeds block gas limit: transaction gas limit {gas}, at most {limit}")]
    GasLimitTooHigh {
        /// What it asked for.
        gas: u64,
        /// [`MAX_TX_GAS`].
        limit: u64,
    },
    /// A pending transaction of the same sender and nonce offers as much
    /// or nearly (a replacement must offer 10 % more).
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// A call or estimate ran past [`CALL_TIMEOUT`].
    #[error("execution aborted (timeout = {}s)", .0.as_secs())]
    Timeout(std::time::Duration),
}

/// A mined transaction with its receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MinedTx {
    /// Transaction hash.
    pub hash: B256,
    /// Sender.
    pub from: Address,
    /// The transaction (impersonated ones carry a placeholder signature).
    pub envelope: TxEnvelope,
    /// Succeeded.
    pub success: bool,
    /// Gas used by this transaction.
    pub gas_used: u64,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Price paid per gas.
    pub effective_gas_price: u128,
    /// Created contract.
    pub contract_address: Option<Address>,
    /// Logs.
    pub logs: Vec<Log>,
    /// Logs bloom.
    pub bloom: Bloom,
    /// Index of the block's first log of this transaction.
    pub first_log_index: u64,
}

/// A mined block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MinedBlock {
    /// Header.
    pub header: Header,
    /// Header hash.
    pub hash: B256,
    /// Transactions in order.
    pub txs: Vec<MinedTx>,
    /// Undo log of the dev-control changes made before the block (applied
    /// at the start of it).
    pub pre_undo: Vec<Undo>,
    /// Undo log of the block's transactions.
    pub undo: Vec<Undo>,
}

/// What subscribers hear.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block was mined.
    Block(Arc<MinedBlock>),
    /// Blocks were unwound (reorg or revert), newest first.
    Removed(Vec<Arc<MinedBlock>>),
    /// A transaction was admitted (announced before its block, also with
    /// automine).
    Pending(B256),
}

/// A point `evm_revert` can return to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Snapshot {
    block: u64,
    pre_undo_len: usize,
    time_offset: i64,
    /// The base fee set at the snapshot (an older state file has none).
    #[serde(default)]
    base_fee: Option<u64>,
}

/// Chain configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainConfig {
    /// Chain id.
    pub chain_id: u64,
    /// Genesis balances.
    pub allocation: Vec<(Address, U256)>,
    /// Genesis timestamp (seconds).
    pub genesis_timestamp: u64,
}

/// The persistent part of a chain (`--state`).
#[derive(Serialize, Deserialize)]
pub struct ChainDump {
    config: ChainConfig,
    state: WorldState,
    blocks: Vec<MinedBlock>,
    time_offset: i64,
    reorgs: u64,
    /// The base fee of the next block (an older state file has none: the
    /// head block's is taken).
    #[serde(default)]
    base_fee: Option<u64>,
    /// Transactions waiting for the next block.
    #[serde(default)]
    pending: Vec<PendingTx>,
    /// Undo log of the dev changes since the head block.
    #[serde(default)]
    pre_undo: Vec<Undo>,
    /// Dev controls clients set.
    #[serde(default)]
    dev: DevControls,
    /// Which snapshot of the state file this is ([`crate::state_file`]).
    #[serde(default)]
    pub(crate) generation: u64,
    /// A random id of this snapshot, which its journal names.
    #[serde(default)]
    pub(crate) snapshot_id: u64,
}

/// The dev controls clients set that a restart keeps (the mining mode is
/// the command line's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct DevControls {
    /// Impersonated accounts, sorted.
    impersonated: Vec<Address>,
    next_timestamp: Option<u64>,
    snapshots: Vec<(u64, Snapshot)>,
    next_snapshot: u64,
}

/// A transaction waiting for the next block (interval or manual mining).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingTx {
    hash: B256,
    from: Address,
    envelope: TxEnvelope,
}

/// The chain.
pub struct Chain {
    config: ChainConfig,
    /// Shared with calls running off the chain's thread ([`PreparedCall`]);
    /// a change while one holds it copies it first.
    state: Arc<WorldState>,
    programs: Arc<Programs>,
    blocks: Vec<Arc<MinedBlock>>,
    by_hash: HashMap<B256, u64>,
    tx_index: HashMap<B256, (u64, usize)>,
    pre_undo: Vec<Undo>,
    pending: Vec<PendingTx>,
    snapshots: BTreeMap<u64, Snapshot>,
    next_snapshot: u64,
    time_offset: i64,
    next_timestamp: Option<u64>,
    automine: bool,
    reorgs: u64,
    /// The base fee of the blocks mined from now on, wei per gas
    /// (`anvil_setNextBlockBaseFeePerGas`; devnode has no congestion
    /// pricing, so it stays until set again).
    base_fee: u64,
    impersonated: HashSet<Address>,
    signers: HashMap<Address, PrivateKeySigner>,
    /// The dev accounts in the order devnode prints them (the first is
    /// the Nitro dev key `pond up` deploys from): `eth_accounts` keeps it,
    /// as tools take `accounts[0]` for the owner.
    account_order: Vec<Address>,
    events: tokio::sync::broadcast::Sender<ChainEvent>,
    /// Pending transactions' hashes, on a channel of their own (as anvil
    /// keeps them): a block of many transactions stays one event for the
    /// block and log subscribers.
    pending_events: tokio::sync::broadcast::Sender<ChainEvent>,
    /// The state file this chain is kept in, if any.
    durable: Option<journal::Durable>,
}

fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Chain {
    /// A new chain with a genesis block.
    #[must_use]
    pub fn new(config: ChainConfig, signers: Vec<PrivateKeySigner>) -> Self {
        let mut state = WorldState::default();
        let mut ignored = Vec::new();
        for (address, balance) in &config.allocation {
            state.set_balance(*address, *balance, &mut ignored);
        }
        // Precompiles have code 0xFE on Arbitrum; it also keeps ArbWasm's
        // storage (activation records) from being cleared as an empty account.
        for precompile in evm::ARBOS_PRECOMPILES {
            state.set_code(precompile, Bytes::from_static(&[0xfe]), &mut ignored);
        }
        // The EIP-2935 history contract, as ArbOS 40 installs it.
        state.set_code(
            history::HISTORY_STORAGE,
            Bytes::from_static(&history::HISTORY_CODE),
            &mut ignored,
        );
        state.set_nonce(history::HISTORY_STORAGE, 1, &mut ignored);
        let header = Header {
            number: 0,
            timestamp: config.genesis_timestamp,
            gas_limit: BLOCK_GAS_LIMIT,
            base_fee_per_gas: Some(BASE_FEE),
            beneficiary: SEQUENCER,
            difficulty: U256::from(1),
            mix_hash: B256::with_last_byte(1),
            ..Header::default()
        };
        let hash = header.hash_slow();
        Self::record_block_hash(&mut state, 0, hash, &mut ignored);
        let mut chain = Self::empty(config, state, signers);
        let genesis = MinedBlock {
            hash,
            header,
            txs: Vec::new(),
            pre_undo: Vec::new(),
            undo: Vec::new(),
        };
        chain.push_block(genesis);
        chain
    }

    fn empty(config: ChainConfig, state: WorldState, signers: Vec<PrivateKeySigner>) -> Self {
        let (events, _) = tokio::sync::broadcast::channel(4096);
        let (pending_events, _) = tokio::sync::broadcast::channel(4096);
        Self {
            config,
            state: Arc::new(state),
            programs: Arc::new(Programs::new()),
            blocks: Vec::new(),
            by_hash: HashMap::new(),
            tx_index: HashMap::new(),
            pre_undo: Vec::new(),
            pending: Vec::new(),
            snapshots: BTreeMap::new(),
            next_snapshot: 1,
            time_offset: 0,
            next_timestamp: None,
            automine: true,
            reorgs: 0,
            base_fee: BASE_FEE,
            impersonated: HashSet::new(),
            account_order: signers.iter().map(PrivateKeySigner::address).collect(),
            signers: signers.into_iter().map(|s| (s.address(), s)).collect(),
            events,
            pending_events,
            durable: None,
        }
    }

    /// The chain saved by [`Chain::dump`], with `signers` for
    /// `eth_sendTransaction`.
    #[must_use]
    pub fn restore(dump: ChainDump, signers: Vec<PrivateKeySigner>) -> Self {
        let mut chain = Self::empty(dump.config, dump.state, signers);
        chain.time_offset = dump.time_offset;
        chain.reorgs = dump.reorgs;
        chain.pending = dump.pending;
        chain.pre_undo = dump.pre_undo;
        chain.set_dev_controls(dump.dev);
        for block in dump.blocks {
            chain.push_block(block);
        }
        chain.base_fee = dump
            .base_fee
            .unwrap_or_else(|| chain.head().header.base_fee_per_gas.unwrap_or(BASE_FEE));
        chain
    }

    /// Everything needed to restore this chain.
    #[must_use]
    pub fn dump(&self) -> ChainDump {
        ChainDump {
            config: self.config.clone(),
            state: (*self.state).clone(),
            blocks: self.blocks.iter().map(|b| (**b).clone()).collect(),
            time_offset: self.time_offset,
            reorgs: self.reorgs,
            base_fee: Some(self.base_fee),
            pending: self.pending.clone(),
            pre_undo: self.pre_undo.clone(),
            dev: self.dev_controls(),
            generation: 0,
            snapshot_id: 0,
        }
    }

    fn dev_controls(&self) -> DevControls {
        let mut impersonated: Vec<Address> = self.impersonated.iter().copied().collect();
        impersonated.sort_unstable();
        DevControls {
            impersonated,
            next_timestamp: self.next_timestamp,
            snapshots: self
                .snapshots
                .iter()
                .map(|(id, s)| (*id, s.clone()))
                .collect(),
            next_snapshot: self.next_snapshot,
        }
    }

    fn set_dev_controls(&mut self, dev: DevControls) {
        self.impersonated = dev.impersonated.into_iter().collect();
        self.next_timestamp = dev.next_timestamp;
        self.snapshots = dev.snapshots.into_iter().collect();
        // An older state file has none: ids start at 1.
        self.next_snapshot = dev.next_snapshot.max(1);
    }

    /// Subscribes to mined and removed blocks.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// The sender side of the event channel (for handles created before
    /// any subscriber).
    #[must_use]
    pub fn events_sender(&self) -> tokio::sync::broadcast::Sender<ChainEvent> {
        self.events.clone()
    }

    /// The sender side of the pending transactions' channel
    /// ([`ChainEvent::Pending`] only).
    #[must_use]
    pub fn pending_sender(&self) -> tokio::sync::broadcast::Sender<ChainEvent> {
        self.pending_events.clone()
    }

    /// Sends `event` on its channel.
    fn publish(&self, event: ChainEvent) {
        let channel = match event {
            ChainEvent::Pending(_) => &self.pending_events,
            ChainEvent::Block(_) | ChainEvent::Removed(_) => &self.events,
        };
        let _ = channel.send(event);
    }

    /// The chain id.
    #[must_use]
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// The world state at the head.
    #[must_use]
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// The head block.
    #[must_use]
    pub fn head(&self) -> &Arc<MinedBlock> {
        // The genesis block is pushed at construction and never unwound.
        &self.blocks[self.blocks.len() - 1]
    }

    /// The head block number.
    #[must_use]
    pub fn block_number(&self) -> u64 {
        self.head().header.number
    }

    /// A block by number.
    #[must_use]
    pub fn block(&self, number: u64) -> Option<&Arc<MinedBlock>> {
        self.blocks.get(usize::try_from(number).ok()?)
    }

    /// A block by hash.
    #[must_use]
    pub fn block_by_hash(&self, hash: &B256) -> Option<&Arc<MinedBlock>> {
        self.by_hash.get(hash).and_then(|n| self.block(*n))
    }

    /// Resolves a block tag to a number (pending means the head here).
    ///
    /// # Errors
    /// The block does not exist.
    pub fn resolve(&self, tag: BlockNumberOrTag) -> Result<u64, ChainError> {
        let number = match tag {
            BlockNumberOrTag::Earliest => 0,
            BlockNumberOrTag::Number(n) => n,
            _ => self.block_number(),
        };
        if number > self.block_number() {
            return Err(ChainError::UnknownBlock);
        }
        Ok(number)
    }

    /// A mined transaction by hash, with its block.
    #[must_use]
    pub fn transaction(&self, hash: &B256) -> Option<(&Arc<MinedBlock>, usize)> {
        let (number, index) = self.tx_index.get(hash)?;
        Some((self.block(*number)?, *index))
    }

    /// A pending transaction by hash: (from, envelope).
    #[must_use]
    pub fn pending_transaction(&self, hash: &B256) -> Option<(Address, &TxEnvelope)> {
        self.pending
            .iter()
            .find(|p| p.hash == *hash)
            .map(|p| (p.from, &p.envelope))
    }

    /// The pending transactions in the order they would be mined: (from,
    /// envelope).
    pub fn pending_transactions(&self) -> impl Iterator<Item = (Address, &TxEnvelope)> {
        self.pending.iter().map(|p| (p.from, &p.envelope))
    }

    /// `anvil_dropTransaction`: removes the pending transaction `hash` and
    /// its sender's later ones (their nonces could no longer be mined).
    /// Returns whether it was pending.
    pub fn drop_pending(&mut self, hash: &B256) -> bool {
        let Some(dropped) = self.pending.iter().find(|p| p.hash == *hash) else {
            return false;
        };
        let (from, nonce) = (dropped.from, dropped.envelope.nonce());
        self.pending
            .retain(|p| p.from != from || p.envelope.nonce() < nonce);
        true
    }

    /// `anvil_dropAllTransactions`: empties the pending pool.
    pub fn drop_all_pending(&mut self) {
        self.pending.clear();
    }

    /// The next nonce of `address`, counting pending transactions.
    #[must_use]
    pub fn next_nonce(&self, address: &Address) -> u64 {
        let pending = self.pending.iter().filter(|p| p.from == *address).count() as u64;
        self.state.nonce(address) + pending
    }

    /// The dev accounts devnode signs for, in the order it prints them.
    #[must_use]
    pub fn accounts(&self) -> Vec<Address> {
        self.account_order.clone()
    }

    /// Whether blocks are mined on every transaction.
    #[must_use]
    pub fn automine(&self) -> bool {
        self.automine
    }

    /// Turns automining on or off.
    ///
    /// # Errors
    /// Mining the pending transactions failed (never in practice).
    pub fn set_automine(&mut self, on: bool) -> Result<(), ChainError> {
        self.automine = on;
        // Mine what is pending, however many blocks it takes, until the
        // pool is empty or holds only transactions waiting for a lower
        // base fee.
        while on && !self.pending.is_empty() {
            let before = self.pending.len();
            self.mine(None)?;
            if self.pending.len() >= before {
                break;
            }
        }
        Ok(())
    }

    // ---- transactions ----

    /// Submits a signed transaction; with automine it is mined at once.
    ///
    /// # Errors
    /// Wrong chain id, nonce, type, or revm refuses it.
    pub fn send_raw(&mut self, envelope: TxEnvelope) -> Result<B256, ChainError> {
        let from = envelope
            .recover_signer()
            .map_err(|e| ChainError::Invalid(format!("bad signature: {e}")))?;
        let hash = *envelope.tx_hash();
        self.submit(PendingTx {
            hash,
            from,
            envelope,
        })
    }

    /// Signs and submits a transaction from a dev or impersonated account.
    ///
    /// # Errors
    /// Unknown sender, or as [`Chain::send_raw`].
    pub fn send(&mut self, request: TransactionRequest) -> Result<B256, ChainError> {
        let from = request
            .from
            .ok_or_else(|| ChainError::InvalidParams("missing from".into()))?;
        let nonce = request.nonce.unwrap_or_else(|| self.next_nonce(&from));
        let gas_limit = match request.gas {
            Some(gas) => gas,
            None => self.estimate_gas(request.clone(), BlockNumberOrTag::Latest, None)?,
        };
        let to = request.to.unwrap_or(TxKind::Create);
        let input = request.input.input().cloned().unwrap_or_default();
        let value = request.value.unwrap_or_default();
        let (max_fee, priority) = match (request.max_fee_per_gas, request.gas_price) {
            (Some(max_fee), _) => (max_fee, request.max_priority_fee_per_gas.unwrap_or(0)),
            (None, Some(price)) => (price, 0),
            (None, None) => (u128::from(self.base_fee) * 2, 0),
        };
        let tx = TxEip1559 {
            chain_id: self.config.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            to,
            value,
            access_list: request.access_list.unwrap_or_default(),
            input,
        };
        if let Some(signer) = self.signers.get(&from) {
            let signature = signer
                .sign_hash_sync(&alloy_consensus::SignableTransaction::signature_hash(&tx))
                .map_err(|e| ChainError::Invalid(e.to_string()))?;
            return self.send_raw(TxEnvelope::Eip1559(
                alloy_consensus::SignableTransaction::into_signed(tx, signature),
            ));
        }
        if self.impersonated.contains(&from) {
            // No key: a placeholder signature; the hash also commits to the
            // sender so two impersonated senders never collide.
            let signed = alloy_consensus::SignableTransaction::into_signed(
                tx,
                Signature::new(U256::from(1), U256::from(1), false),
            );
            let envelope = TxEnvelope::Eip1559(signed);
            let mut preimage = envelope.encoded_2718();
            preimage.extend_from_slice(from.as_slice());
            let hash = keccak256(preimage);
            return self.submit(PendingTx {
                hash,
                from,
                envelope,
            });
        }
        Err(ChainError::UnknownAccount(from))
    }

    /// What a transaction must be before it is run, wherever it comes
    /// from (the pool or `anvil_reorg`): this chain's id, a supported type,
    /// and a tip no higher than its max fee (the EVM runs it with the tip
    /// dropped, so it would not see that).
    fn check_envelope(&self, envelope: &TxEnvelope) -> Result<(), ChainError> {
        let size = envelope.encode_2718_len();
        if size > MAX_TX_SIZE {
            return Err(ChainError::Invalid(format!(
                "transaction size {size} exceeds the maximum {MAX_TX_SIZE} bytes"
            )));
        }
        if let Some(id) = envelope.chain_id() {
            if id != self.config.chain_id {
                return Err(ChainError::WrongChainId {
                    expected: self.config.chain_id,
                    got: id,
                });
            }
        }
        match envelope.tx_type() {
            TxType::Legacy | TxType::Eip2930 | TxType::Eip1559 => {}
            other => return Err(ChainError::UnsupportedType(other as u8)),
        }
        if envelope.gas_limit() > MAX_TX_GAS {
            return Err(ChainError::GasLimitTooHigh {
                gas: envelope.gas_limit(),
                limit: MAX_TX_GAS,
            });
        }
        if let Some(tip) = envelope.max_priority_fee_per_gas() {
            if tip > envelope.max_fee_per_gas() {
                return Err(ChainError::Invalid(format!(
                    "max priority fee per gas {tip} is higher than max fee per gas {}",
                    envelope.max_fee_per_gas()
                )));
            }
        }
        Ok(())
    }

    /// The most the sender's pending transactions can spend: gas limit at
    /// the max fee, plus value, each.
    fn pending_cost(&self, from: &Address) -> U256 {
        self.pending
            .iter()
            .filter(|p| p.from == *from)
            .map(|p| worst_cost(&p.envelope))
            .fold(U256::ZERO, U256::saturating_add)
    }

    fn submit(&mut self, tx: PendingTx) -> Result<B256, ChainError> {
        if self.tx_index.contains_key(&tx.hash) || self.pending.iter().any(|p| p.hash == tx.hash) {
            return Err(ChainError::AlreadyKnown(tx.hash));
        }
        self.check_envelope(&tx.envelope)?;
        if let Some(pos) = self
            .pending
            .iter()
            .position(|p| p.from == tx.from && p.envelope.nonce() == tx.envelope.nonce())
        {
            return self.replace(pos, tx);
        }
        let expected = self.next_nonce(&tx.from);
        let got = tx.envelope.nonce();
        if got < expected {
            return Err(ChainError::NonceTooLow { expected, got });
        }
        if got > expected {
            return Err(ChainError::NonceTooHigh { expected, got });
        }
        let hash = tx.hash;
        if self.automine {
            let block = self.build_block(vec![tx], true)?;
            self.announce(ChainEvent::Pending(hash));
            self.commit_block(block);
        } else {
            // What the sender's earlier pending transactions may spend
            // must leave enough for this one: the head state does not know
            // them, and a transaction dropped at mining would leave its
            // sender waiting for a receipt that never comes.
            let balance = self.state.balance(&tx.from);
            let needed = self
                .pending_cost(&tx.from)
                .saturating_add(worst_cost(&tx.envelope));
            if needed > balance {
                return Err(ChainError::Invalid(format!(
                    "insufficient funds for this and the sender's pending transactions: \
                     balance {balance}, needed {needed}"
                )));
            }
            // Check it would run now; it is re-checked when mined. Its
            // nonce was checked against the pool above: the head state
            // does not know the sender's earlier pending transactions.
            let env = self.next_block_env();
            let tx_env = tx_env(&tx.envelope, tx.from, env.basefee);
            let mut cfg = self.cfg(false);
            cfg.disable_nonce_check = true;
            evm::transact(
                WrapDatabaseRef(&*self.state),
                self.programs.clone(),
                cfg,
                env,
                tx_env,
                Arc::default(),
            )
            .map_err(invalid)?;
            self.pending.push(tx);
            self.announce(ChainEvent::Pending(hash));
        }
        Ok(hash)
    }

    /// Replaces the pending transaction at `pos` (same sender and nonce)
    /// with `tx`, as geth's pool does: only when it offers at least 10 %
    /// more, in fee cap and in tip, and the sender can still pay for all
    /// its pending transactions. It keeps the place (its nonce's).
    fn replace(&mut self, pos: usize, tx: PendingTx) -> Result<B256, ChainError> {
        let old = &self.pending[pos].envelope;
        let bumped = |new: u128, old: u128| new >= old.saturating_add(old.div_ceil(10));
        let tip = |e: &TxEnvelope| e.max_priority_fee_per_gas().unwrap_or(e.max_fee_per_gas());
        if !bumped(tx.envelope.max_fee_per_gas(), old.max_fee_per_gas())
            || !bumped(tip(&tx.envelope), tip(old))
        {
            return Err(ChainError::ReplacementUnderpriced);
        }
        let balance = self.state.balance(&tx.from);
        let needed = self
            .pending_cost(&tx.from)
            .saturating_sub(worst_cost(old))
            .saturating_add(worst_cost(&tx.envelope));
        if needed > balance {
            return Err(ChainError::Invalid(format!(
                "insufficient funds for this and the sender's pending transactions: \
                 balance {balance}, needed {needed}"
            )));
        }
        let hash = tx.hash;
        self.pending[pos] = tx;
        self.announce(ChainEvent::Pending(hash));
        Ok(hash)
    }

    // ---- mining ----

    /// Mines one block with the pending transactions, at `timestamp` if
    /// given. Returns the block number.
    ///
    /// # Errors
    /// Never in practice (pending transactions that became invalid are
    /// dropped).
    pub fn mine(&mut self, timestamp: Option<u64>) -> Result<u64, ChainError> {
        if let Some(timestamp) = timestamp {
            self.next_timestamp = Some(timestamp);
        }
        let mut pending = std::mem::take(&mut self.pending);
        // As much as a block holds, in arrival order (so a sender's later
        // transactions never pass its earlier ones); the rest waits for
        // the next block. Each transaction fits alone (`MAX_TX_GAS`).
        // Transactions the base fee has priced out, and their senders'
        // later ones, wait (see `build_block`): they take no room.
        let mut room = MAX_TX_GAS;
        let mut priced_out: HashSet<Address> = HashSet::new();
        let base_fee = u128::from(self.base_fee);
        let fits = pending
            .iter()
            .position(|tx| {
                if priced_out.contains(&tx.from) || tx.envelope.max_fee_per_gas() < base_fee {
                    priced_out.insert(tx.from);
                    return false;
                }
                let gas = tx.envelope.gas_limit();
                let over = gas > room;
                room = room.saturating_sub(gas);
                over
            })
            .unwrap_or(pending.len())
            .max(1);
        self.pending = pending.split_off(fits.min(pending.len()));
        let block = self.build_block(pending, false)?;
        let number = block.header.number;
        self.commit_block(block);
        Ok(number)
    }

    fn next_timestamp(&self) -> u64 {
        let parent = self.head().header.timestamp;
        let now = wall_clock().saturating_add_signed(self.time_offset);
        self.next_timestamp.unwrap_or(now).max(parent)
    }

    fn next_block_env(&self) -> BlockEnv {
        let number = self.block_number() + 1;
        block_env(number, self.next_timestamp(), self.base_fee)
    }

    /// The base fee of the next block, wei per gas.
    #[must_use]
    pub fn base_fee(&self) -> u64 {
        self.base_fee
    }

    /// `anvil_setNextBlockBaseFeePerGas`: the base fee of the blocks mined
    /// from now on (a transaction whose max fee is below it is refused).
    pub fn set_base_fee(&mut self, fee: u64) {
        self.base_fee = fee;
    }

    fn cfg(&self, call: bool) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
        cfg.chain_id = self.config.chain_id;
        // Arbitrum takes code starting with 0xEF (Stylus programs).
        cfg.disable_eip3541 = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        cfg.limit_contract_code_size = Some(pond_stylus_code::MAX_CODE_SIZE);
        if call {
            cfg.disable_nonce_check = true;
            cfg.disable_base_fee = true;
            cfg.disable_balance_check = true;
            cfg.disable_block_gas_limit = true;
        }
        cfg
    }

    /// Records a block's hash in the EIP-2935 history ring as the block's
    /// last change. Nitro writes it at the start of the next block (a
    /// system call); recording it here gives every reader the same answers,
    /// including calls at the head, which run as the next block: the ring
    /// answers for blocks before the reader's own, and the slot overwritten
    /// is one no reader may ask for any more. A chain restored from a state
    /// file written before devnode had the history contract has none and
    /// records nothing (a call to an account without code fails silently,
    /// as EIP-2935 says).
    fn record_block_hash(state: &mut WorldState, number: u64, hash: B256, undo: &mut Vec<Undo>) {
        if state.code(&history::HISTORY_STORAGE).is_empty() {
            return;
        }
        state.set_storage(
            history::HISTORY_STORAGE,
            history::slot(number),
            U256::from_be_bytes(hash.0),
            undo,
        );
    }

    /// A call at an older block `number` runs in that block, after its
    /// changes; the history ring then holds `number`'s own hash (written as
    /// the block's last change, see [`Self::record_block_hash`]) in the slot
    /// Nitro still has `number - W`'s in. Put that one back, so the oldest
    /// block such a call may ask for reads as on Nitro.
    fn as_history_before_next_block(&self, state: &mut WorldState, number: u64) {
        if state.code(&history::HISTORY_STORAGE).is_empty() {
            return;
        }
        let previous = number
            .checked_sub(history::HISTORY_SERVE_WINDOW)
            .and_then(|older| self.block(older))
            .map_or(U256::ZERO, |block| U256::from_be_bytes(block.hash.0));
        state.set_storage(
            history::HISTORY_STORAGE,
            history::slot(number),
            previous,
            &mut Vec::new(),
        );
    }

    /// Runs `txs` into a block. With `strict`, the first invalid
    /// transaction fails the whole block (automine: the sender gets the
    /// error); otherwise invalid ones are dropped.
    fn build_block(&mut self, txs: Vec<PendingTx>, strict: bool) -> Result<MinedBlock, ChainError> {
        let number = self.block_number() + 1;
        let timestamp = self.next_timestamp();
        let env = block_env(number, timestamp, self.base_fee);
        let mut undo = Vec::new();
        let mut mined: Vec<MinedTx> = Vec::new();
        let mut cumulative = 0u64;
        let mut log_index = 0u64;
        // Transactions whose fee cap is below this block's base fee wait
        // for a cheaper block, as in geth's pool, instead of being dropped;
        // so do their senders' later ones (their nonces would not fit).
        let mut waiting: Vec<PendingTx> = Vec::new();
        // Senders whose transaction became invalid and was dropped: their
        // later ones could never be mined (nonce gap), so they go too.
        let mut dropped: HashSet<Address> = HashSet::new();
        for tx in txs {
            if !strict && waiting.iter().any(|w| w.from == tx.from) {
                waiting.push(tx);
                continue;
            }
            if dropped.contains(&tx.from) {
                continue;
            }
            let executed = evm::transact(
                WrapDatabaseRef(&*self.state),
                self.programs.clone(),
                self.cfg(false),
                env.clone(),
                tx_env(&tx.envelope, tx.from, env.basefee),
                Arc::default(),
            );
            let executed = match executed {
                Ok(executed) => executed,
                Err(error) if strict => {
                    Arc::make_mut(&mut self.state).revert(undo);
                    return Err(invalid(error));
                }
                Err(EVMError::Transaction(InvalidTransaction::GasPriceLessThanBasefee)) => {
                    waiting.push(tx);
                    continue;
                }
                Err(_) => {
                    dropped.insert(tx.from);
                    continue;
                }
            };
            Arc::make_mut(&mut self.state).apply(executed.state, &mut undo);
            let result = executed.result;
            let gas_used = result.tx_gas_used();
            cumulative += gas_used;
            let contract_address = match &result {
                ExecutionResult::Success {
                    output: Output::Create(_, address),
                    ..
                } => *address,
                _ => None,
            };
            let logs = result.logs().to_vec();
            let bloom = logs_bloom(&logs);
            // Arbitrum drops the tip: a mined transaction pays the base
            // fee, whatever it offered above it.
            let effective_gas_price = u128::from(env.basefee);
            let first_log_index = log_index;
            log_index += logs.len() as u64;
            mined.push(MinedTx {
                hash: tx.hash,
                from: tx.from,
                envelope: tx.envelope,
                success: result.is_success(),
                gas_used,
                cumulative_gas_used: cumulative,
                effective_gas_price,
                contract_address,
                logs,
                bloom,
                first_log_index,
            });
        }
        if !dropped.is_empty() {
            self.pending.retain(|p| !dropped.contains(&p.from));
        }
        if !waiting.is_empty() {
            waiting.append(&mut self.pending);
            self.pending = waiting;
        }
        let parent = self.head();
        let receipts: Vec<ReceiptEnvelope> = mined.iter().map(receipt_envelope).collect();
        let envelopes: Vec<&TxEnvelope> = mined.iter().map(|t| &t.envelope).collect();
        let mut bloom = Bloom::ZERO;
        for tx in &mined {
            bloom.accrue_bloom(&tx.bloom);
        }
        let header = Header {
            parent_hash: parent.hash,
            number,
            timestamp,
            gas_limit: BLOCK_GAS_LIMIT,
            gas_used: cumulative,
            base_fee_per_gas: Some(env.basefee),
            beneficiary: SEQUENCER,
            difficulty: U256::from(1),
            mix_hash: env.prevrandao.unwrap_or_default(),
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom: bloom,
            // Distinguishes the blocks that replace reorged ones.
            extra_data: Bytes::from(self.reorgs.to_be_bytes().to_vec()),
            ..Header::default()
        };
        let hash = header.hash_slow();
        Self::record_block_hash(Arc::make_mut(&mut self.state), number, hash, &mut undo);
        Ok(MinedBlock {
            hash,
            header,
            txs: mined,
            pre_undo: std::mem::take(&mut self.pre_undo),
            undo,
        })
    }

    fn commit_block(&mut self, block: MinedBlock) {
        self.next_timestamp = None;
        let block = self.push_block(block);
        self.announce(ChainEvent::Block(block));
    }

    fn push_block(&mut self, block: MinedBlock) -> Arc<MinedBlock> {
        let number = block.header.number;
        Arc::make_mut(&mut self.state).set_block_hash(number, block.hash);
        self.by_hash.insert(block.hash, number);
        for (index, tx) in block.txs.iter().enumerate() {
            self.tx_index.insert(tx.hash, (number, index));
        }
        let block = Arc::new(block);
        self.blocks.push(block.clone());
        block
    }

    /// Unwinds blocks above `number`; returns them, newest first.
    fn unwind_to(&mut self, number: u64) -> Vec<Arc<MinedBlock>> {
        // Dev changes since the head block go first.
        Arc::make_mut(&mut self.state).revert(std::mem::take(&mut self.pre_undo));
        let mut removed = Vec::new();
        while self.block_number() > number {
            let Some(block) = self.blocks.pop() else {
                break;
            };
            Arc::make_mut(&mut self.state).revert(block.undo.clone());
            Arc::make_mut(&mut self.state).revert(block.pre_undo.clone());
            Arc::make_mut(&mut self.state).remove_block_hash(block.header.number);
            self.by_hash.remove(&block.hash);
            for tx in &block.txs {
                self.tx_index.remove(&tx.hash);
            }
            removed.push(block);
        }
        self.pending.clear();
        removed
    }

    // ---- dev controls ----

    /// `evm_snapshot`: returns the id to revert to.
    pub fn snapshot(&mut self) -> u64 {
        let id = self.next_snapshot;
        self.next_snapshot += 1;
        self.snapshots.insert(
            id,
            Snapshot {
                block: self.block_number(),
                pre_undo_len: self.pre_undo.len(),
                time_offset: self.time_offset,
                base_fee: Some(self.base_fee),
            },
        );
        id
    }

    /// `evm_revert`: back to snapshot `id` (which is used up, with every
    /// later one). Returns whether the snapshot existed.
    pub fn revert_to(&mut self, id: u64) -> bool {
        let Some(snapshot) = self.snapshots.get(&id).cloned() else {
            return false;
        };
        self.snapshots.split_off(&id);
        let removed = if self.block_number() == snapshot.block {
            let later = self
                .pre_undo
                .split_off(snapshot.pre_undo_len.min(self.pre_undo.len()));
            Arc::make_mut(&mut self.state).revert(later);
            self.pending.clear();
            Vec::new()
        } else {
            let mut removed = self.unwind_to(snapshot.block + 1);
            // The block right after the snapshot: undo its transactions and
            // the dev changes made after the snapshot, keep the earlier ones.
            if let Some(block) = self.blocks.pop() {
                Arc::make_mut(&mut self.state).revert(block.undo.clone());
                let mut pre = block.pre_undo.clone();
                let later = pre.split_off(snapshot.pre_undo_len.min(pre.len()));
                Arc::make_mut(&mut self.state).revert(later);
                self.pre_undo = pre;
                Arc::make_mut(&mut self.state).remove_block_hash(block.header.number);
                self.by_hash.remove(&block.hash);
                for tx in &block.txs {
                    self.tx_index.remove(&tx.hash);
                }
                removed.push(block);
            }
            removed
        };
        self.time_offset = snapshot.time_offset;
        if let Some(fee) = snapshot.base_fee {
            self.base_fee = fee;
        }
        self.next_timestamp = None;
        if !removed.is_empty() {
            self.announce(ChainEvent::Removed(removed));
        }
        true
    }

    /// `anvil_reorg`: replaces the last `depth` blocks with `depth` new
    /// ones; `txs` are (transaction, block offset) pairs placed into them.
    ///
    /// # Errors
    /// `depth` reaches the genesis block, an offset is out of range, or a
    /// transaction is invalid on the new branch.
    pub fn reorg(&mut self, depth: u64, txs: Vec<(ReorgTx, u64)>) -> Result<(), ChainError> {
        let head = self.block_number();
        if depth == 0 || depth > head {
            return Err(ChainError::InvalidParams(format!(
                "reorg depth {depth} must be between 1 and the head block number {head}"
            )));
        }
        if let Some((_, offset)) = txs.iter().find(|(_, offset)| *offset >= depth) {
            return Err(ChainError::InvalidParams(format!(
                "block offset {offset} is outside the {depth} new blocks"
            )));
        }
        let timestamps: Vec<u64> = ((head - depth + 1)..=head)
            .filter_map(|n| self.block(n).map(|b| b.header.timestamp))
            .collect();
        let backup = self.dump();
        let removed = self.unwind_to(head - depth);
        self.reorgs += 1;
        let mut by_offset: BTreeMap<u64, Vec<ReorgTx>> = BTreeMap::new();
        for (tx, offset) in txs {
            by_offset.entry(offset).or_default().push(tx);
        }
        let mut new_blocks = Vec::new();
        for offset in 0..depth {
            let mut block_txs = Vec::new();
            for tx in by_offset.remove(&offset).unwrap_or_default() {
                match self.prepare_reorg_tx(tx, &block_txs) {
                    Ok(tx) => block_txs.push(tx),
                    Err(error) => {
                        self.restore_from(backup);
                        return Err(error);
                    }
                }
            }
            self.next_timestamp = timestamps.get(offset as usize).copied();
            match self.build_block(block_txs, true) {
                Ok(block) => new_blocks.push(self.push_block(block)),
                Err(error) => {
                    self.restore_from(backup);
                    return Err(error);
                }
            }
        }
        self.next_timestamp = None;
        self.announce(ChainEvent::Removed(removed));
        for block in new_blocks {
            self.announce(ChainEvent::Block(block));
        }
        Ok(())
    }

    fn restore_from(&mut self, dump: ChainDump) {
        let signers = self
            .account_order
            .iter()
            .filter_map(|a| self.signers.get(a).cloned())
            .collect();
        let (automine, base_fee) = (self.automine, self.base_fee);
        let impersonated = std::mem::take(&mut self.impersonated);
        let events = self.events.clone();
        let pending_events = self.pending_events.clone();
        let programs = self.programs.clone();
        let durable = self.durable.take();
        *self = Self::restore(dump, signers);
        self.automine = automine;
        self.base_fee = base_fee;
        self.impersonated = impersonated;
        self.events = events;
        self.pending_events = pending_events;
        self.programs = programs;
        self.durable = durable;
    }

    fn prepare_reorg_tx(
        &self,
        tx: ReorgTx,
        earlier: &[PendingTx],
    ) -> Result<PendingTx, ChainError> {
        match tx {
            ReorgTx::Signed(envelope) => {
                self.check_envelope(&envelope)?;
                let from = envelope
                    .recover_signer()
                    .map_err(|e| ChainError::Invalid(format!("bad signature: {e}")))?;
                Ok(PendingTx {
                    hash: *envelope.tx_hash(),
                    from,
                    envelope,
                })
            }
            ReorgTx::Request(request) => {
                let from = request
                    .from
                    .ok_or_else(|| ChainError::InvalidParams("missing from".into()))?;
                let signer = self
                    .signers
                    .get(&from)
                    .ok_or(ChainError::UnknownAccount(from))?;
                let nonce = self.state.nonce(&from)
                    + earlier.iter().filter(|p| p.from == from).count() as u64;
                let tx = TxEip1559 {
                    chain_id: self.config.chain_id,
                    nonce,
                    gas_limit: request.gas.unwrap_or(30_000_000),
                    max_fee_per_gas: request
                        .max_fee_per_gas
                        .unwrap_or(u128::from(self.base_fee) * 2),
                    max_priority_fee_per_gas: request.max_priority_fee_per_gas.unwrap_or(0),
                    to: request.to.unwrap_or(TxKind::Create),
                    value: request.value.unwrap_or_default(),
                    access_list: request.access_list.unwrap_or_default(),
                    input: request.input.input().cloned().unwrap_or_default(),
                };
                let signature = signer
                    .sign_hash_sync(&alloy_consensus::SignableTransaction::signature_hash(&tx))
                    .map_err(|e| ChainError::Invalid(e.to_string()))?;
                let envelope = TxEnvelope::Eip1559(
                    alloy_consensus::SignableTransaction::into_signed(tx, signature),
                );
                Ok(PendingTx {
                    hash: *envelope.tx_hash(),
                    from,
                    envelope,
                })
            }
        }
    }

    /// `evm_increaseTime`: moves the clock; returns the total offset.
    pub fn increase_time(&mut self, seconds: i64) -> i64 {
        self.time_offset = self.time_offset.saturating_add(seconds);
        self.time_offset
    }

    /// `evm_setNextBlockTimestamp`.
    ///
    /// # Errors
    /// The timestamp is before the head block's.
    pub fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        let head = self.head().header.timestamp;
        if timestamp < head {
            return Err(ChainError::InvalidParams(format!(
                "timestamp {timestamp} is before the head block's {head}"
            )));
        }
        // Later blocks continue from there.
        let now = i64::try_from(wall_clock()).unwrap_or(i64::MAX);
        self.time_offset = i64::try_from(timestamp).unwrap_or(i64::MAX) - now;
        self.next_timestamp = Some(timestamp);
        Ok(())
    }

    /// `anvil_setBalance`.
    pub fn set_balance(&mut self, address: Address, balance: U256) {
        Arc::make_mut(&mut self.state).set_balance(address, balance, &mut self.pre_undo);
    }

    /// `anvil_setCode`.
    pub fn set_code(&mut self, address: Address, code: Bytes) {
        Arc::make_mut(&mut self.state).set_code(address, code, &mut self.pre_undo);
    }

    /// `anvil_setNonce`.
    pub fn set_nonce(&mut self, address: Address, nonce: u64) {
        Arc::make_mut(&mut self.state).set_nonce(address, nonce, &mut self.pre_undo);
    }

    /// `anvil_setStorageAt`.
    pub fn set_storage(&mut self, address: Address, key: U256, value: U256) {
        Arc::make_mut(&mut self.state).set_storage(address, key, value, &mut self.pre_undo);
    }

    /// `anvil_impersonateAccount` / `anvil_stopImpersonatingAccount`.
    pub fn impersonate(&mut self, address: Address, on: bool) {
        if on {
            self.impersonated.insert(address);
        } else {
            self.impersonated.remove(&address);
        }
    }

    /// Signs `hash` with dev account `address`'s key (`eth_sign`,
    /// `personal_sign`, `eth_signTypedData_v4`).
    ///
    /// # Errors
    /// [`ChainError::CannotSign`] for an account without a key here.
    pub fn sign_hash(
        &self,
        address: Address,
        hash: &B256,
    ) -> Result<alloy_primitives::Signature, ChainError> {
        let signer = self
            .signers
            .get(&address)
            .ok_or(ChainError::CannotSign(address))?;
        signer
            .sign_hash_sync(hash)
            .map_err(|e| ChainError::Invalid(e.to_string()))
    }

    // ---- calls ----

    /// The state at `tag`, to read on another thread (the head's is
    /// shared, an older one rebuilt).
    ///
    /// # Errors
    /// Unknown block.
    pub fn state_snapshot(&self, tag: BlockNumberOrTag) -> Result<Arc<WorldState>, ChainError> {
        let number = self.resolve(tag)?;
        Ok(if number >= self.block_number() {
            self.state.clone()
        } else {
            Arc::new(self.state_at(number).into_owned())
        })
    }

    /// The state at block `number` (rebuilt from undo logs when older).
    fn state_at(&self, number: u64) -> std::borrow::Cow<'_, WorldState> {
        // At the head: with the dev changes made since it was mined
        // (`anvil_setCode`, `anvil_setBalance`, …), which transactions see
        // too, as anvil serves them.
        if number >= self.block_number() {
            return std::borrow::Cow::Borrowed(&self.state);
        }
        let mut state = (*self.state).clone();
        state.revert(self.pre_undo.clone());
        for block in self
            .blocks
            .iter()
            .rev()
            .take_while(|b| b.header.number > number)
        {
            state.revert(block.undo.clone());
            state.revert(block.pre_undo.clone());
        }
        std::borrow::Cow::Owned(state)
    }

    /// Reads at a block: balance, nonce, code, storage.
    ///
    /// # Errors
    /// Unknown block.
    pub fn read<T>(
        &self,
        tag: BlockNumberOrTag,
        read: impl FnOnce(&WorldState) -> T,
    ) -> Result<T, ChainError> {
        let number = self.resolve(tag)?;
        if number == self.block_number() {
            return Ok(read(&self.state));
        }
        Ok(read(&self.state_at(number)))
    }

    /// `eth_estimateGas`, on the chain's thread, within [`CALL_TIMEOUT`].
    ///
    /// # Errors
    /// As [`PreparedCall::estimate`]; the block is unknown.
    pub fn estimate_gas(
        &self,
        request: TransactionRequest,
        tag: BlockNumberOrTag,
        overrides: Option<StateOverride>,
    ) -> Result<u64, ChainError> {
        self.prepare_call(request, tag, overrides)?
            .estimate(Instant::now() + CALL_TIMEOUT)
    }

    /// An `eth_call` or `eth_estimateGas` taken off the chain: the state
    /// at `tag` with `overrides` (the head's is shared, not copied) and the
    /// block it runs in, to run on any thread.
    ///
    /// # Errors
    /// Unknown block; malformed overrides.
    pub fn prepare_call(
        &self,
        request: TransactionRequest,
        tag: BlockNumberOrTag,
        overrides: Option<StateOverride>,
    ) -> Result<PreparedCall, ChainError> {
        let number = self.resolve(tag)?;
        let mut state = if number >= self.block_number() {
            self.state.clone()
        } else {
            let mut state = self.state_at(number).into_owned();
            self.as_history_before_next_block(&mut state, number);
            Arc::new(state)
        };
        if let Some(overrides) = overrides {
            apply_overrides(Arc::make_mut(&mut state), overrides)?;
        }
        // At the head, run as the next block would (as anvil does): its
        // number and time, so estimates see `evm_increaseTime` at once.
        let env = if number == self.block_number() {
            self.next_block_env()
        } else {
            let block = self.block(number).ok_or(ChainError::UnknownBlock)?;
            block_env(
                number,
                block.header.timestamp,
                block.header.base_fee_per_gas.unwrap_or(BASE_FEE),
            )
        };
        Ok(PreparedCall {
            state,
            programs: self.programs.clone(),
            cfg: self.cfg(true),
            env,
            request,
            chain_id: self.config.chain_id,
        })
    }

    // ---- logs ----

    /// `eth_getLogs`: matching logs with their positions.
    ///
    /// # Errors
    /// Unknown block (hash or range beyond the head).
    pub fn logs(&self, filter: &Filter) -> Result<Vec<alloy_rpc_types_eth::Log>, ChainError> {
        check_filter(filter)?;
        let range = match filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let block = self.block_by_hash(&hash).ok_or(ChainError::UnknownBlock)?;
                block.header.number..=block.header.number
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let head = self.block_number();
                let from = from_block.map_or(Ok(head), |tag| self.resolve_lenient(tag))?;
                let to = to_block.map_or(Ok(head), |tag| self.resolve_lenient(tag))?;
                if from > to {
                    return Err(ChainError::InvalidParams(format!(
                        "fromBlock {from} is after toBlock {to}"
                    )));
                }
                from..=to.min(head)
            }
        };
        let mut out = Vec::new();
        for number in range {
            let Some(block) = self.block(number) else {
                break;
            };
            out.extend(block_logs(block, filter, false));
        }
        Ok(out)
    }

    fn resolve_lenient(&self, tag: BlockNumberOrTag) -> Result<u64, ChainError> {
        match tag {
            BlockNumberOrTag::Number(n) => Ok(n.min(self.block_number())),
            other => self.resolve(other),
        }
    }
}

/// A transaction given to `anvil_reorg`.
#[derive(Clone, Debug)]
pub enum ReorgTx {
    /// A signed transaction.
    Signed(TxEnvelope),
    /// A request from a dev account (devnode signs it).
    Request(TransactionRequest),
}

/// The EVM block environment of block `number` at `timestamp`, with base
/// fee `basefee`.
fn block_env(number: u64, timestamp: u64, basefee: u64) -> BlockEnv {
    BlockEnv {
        number: U256::from(number),
        beneficiary: SEQUENCER,
        timestamp: U256::from(timestamp),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee,
        difficulty: U256::from(1),
        // Arbitrum documents `block.prevrandao` (and `difficulty`) as the
        // constant 1: it is no randomness there, and must not look like
        // some here.
        prevrandao: Some(B256::with_last_byte(1)),
        ..BlockEnv::default()
    }
}

/// The largest transaction accepted, encoded: 128 KiB, as geth and Nitro
/// bound their pools (a 60 MiB transaction was mined before).
pub const MAX_TX_SIZE: usize = 128 * 1024;

/// The most addresses, and topics in one position, a log filter may name:
/// a filter costs its product on the chain's single thread.
pub const MAX_FILTER_ITEMS: usize = 1_000;

/// Refuses a log filter that names more than [`MAX_FILTER_ITEMS`] addresses
/// or topics in one position.
///
/// # Errors
/// [`ChainError::InvalidParams`], naming what is too long.
pub fn check_filter(filter: &Filter) -> Result<(), ChainError> {
    let addresses = filter.address.len();
    if addresses > MAX_FILTER_ITEMS {
        return Err(ChainError::InvalidParams(format!(
            "the filter names {addresses} addresses; at most {MAX_FILTER_ITEMS}"
        )));
    }
    for (position, topics) in filter.topics.iter().enumerate() {
        if topics.len() > MAX_FILTER_ITEMS {
            return Err(ChainError::InvalidParams(format!(
                "the filter names {} topics in position {position}; at most {MAX_FILTER_ITEMS}",
                topics.len()
            )));
        }
    }
    Ok(())
}

/// The most `envelope` can spend: its gas limit at its max fee, plus its
/// value.
fn worst_cost(envelope: &TxEnvelope) -> U256 {
    U256::from(envelope.gas_limit())
        .saturating_mul(U256::from(envelope.max_fee_per_gas()))
        .saturating_add(envelope.value())
}

/// revm's view of a signed transaction from `from`.
fn tx_env(envelope: &TxEnvelope, from: Address, basefee: u64) -> TxEnv {
    let offered = envelope.max_fee_per_gas();
    let is_1559 = envelope.max_priority_fee_per_gas().is_some();
    TxEnv {
        tx_type: envelope.tx_type() as u8,
        caller: from,
        gas_limit: envelope.gas_limit(),
        // Arbitrum charges the base fee and drops any tip: no priority fee,
        // and a legacy gas price above the base fee is charged as the base
        // fee (one below it is still refused as too low).
        gas_price: if is_1559 {
            offered
        } else {
            offered.min(u128::from(basefee))
        },
        gas_priority_fee: is_1559.then_some(0),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        ..TxEnv::default()
    }
}

/// A call taken off the chain ([`Chain::prepare_call`]): it holds what it
/// runs on, so it runs on any thread while the chain goes on.
pub struct PreparedCall {
    state: Arc<WorldState>,
    programs: Arc<Programs>,
    cfg: CfgEnv,
    env: BlockEnv,
    request: TransactionRequest,
    chain_id: u64,
}

impl PreparedCall {
    /// Runs the call with the gas it asks for (at most [`CALL_GAS_CAP`]),
    /// stopping at `deadline`.
    ///
    /// # Errors
    /// It reverted (with data), halted, or ran past `deadline`.
    pub fn call(&self, deadline: Instant) -> Result<(Bytes, u64), ChainError> {
        if self.asks_node_interface() {
            return Ok((self.answer_node_interface(deadline)?, 0));
        }
        self.run(self.request.gas, deadline)
    }

    /// Whether this is a top-level call to the virtual NodeInterface,
    /// which only calls and estimates reach (as on Nitro).
    fn asks_node_interface(&self) -> bool {
        [
            nodeinterface::NODE_INTERFACE,
            nodeinterface::NODE_INTERFACE_DEBUG,
        ]
        .map(|address| Some(TxKind::Call(address)))
        .contains(&self.request.to)
    }

    fn answer_node_interface(&self, deadline: Instant) -> Result<Bytes, ChainError> {
        let facts = NodeInterfaceFacts {
            call: self,
            deadline,
        };
        if self.request.to == Some(TxKind::Call(nodeinterface::NODE_INTERFACE_DEBUG)) {
            // Not for public use on Nitro; devnode has no retryables to show.
            return Err(ChainError::Reverted(Bytes::new()));
        }
        let input = self.request.input.input().cloned().unwrap_or_default();
        let value = self.request.value.unwrap_or_default();
        nodeinterface::call(&facts, value, &input)
    }

    fn run(&self, gas: Option<u64>, deadline: Instant) -> Result<(Bytes, u64), ChainError> {
        let mut request = self.request.clone();
        request.gas = gas;
        outcome(self.execute(&request, deadline)?.result)
    }

    /// Runs `request` in this call's block and state.
    fn execute(
        &self,
        request: &TransactionRequest,
        deadline: Instant,
    ) -> Result<revm::context::result::ExecResultAndState<ExecutionResult>, ChainError> {
        // A run looks at the deadline in its loops (EVM jumps, Stylus fuel
        // slices); an estimate's next run looks before it starts.
        if Instant::now() >= deadline {
            return Err(ChainError::Timeout(CALL_TIMEOUT));
        }
        let tx = call_env(request, self.chain_id, CALL_GAS_CAP);
        affordable_in_u256(&tx)?;
        let meter = Arc::new(TxMeter::with_deadline(deadline));
        let executed = evm::transact(
            WrapDatabaseRef(&*self.state),
            self.programs.clone(),
            self.cfg.clone(),
            self.env.clone(),
            tx,
            meter.clone(),
        )
        .map_err(invalid)?;
        if meter.timed_out() {
            return Err(ChainError::Timeout(CALL_TIMEOUT));
        }
        Ok(executed)
    }

    /// `eth_createAccessList`, as geth answers it: the accounts and storage
    /// slots the call touches, run again with that list until it no longer
    /// changes, and the gas the call uses with it. Storage slots are listed
    /// for every account but the precompiles, Stylus programs' included;
    /// accounts touched without storage are listed except the sender, the
    /// callee (or the created address) and the coinbase. A call that
    /// reverts still gets its list, with the reason in `error`.
    ///
    /// # Errors
    /// The call is invalid (funds, nonce, gas), halts the node's limits,
    /// or runs past `deadline`.
    pub fn access_list(&self, deadline: Instant) -> Result<AccessListAnswer, ChainError> {
        let from = self.request.from.unwrap_or_default();
        let target = match self.request.to {
            Some(TxKind::Call(to)) => to,
            _ => from.create(
                self.request
                    .nonce
                    .unwrap_or_else(|| self.state.nonce(&from)),
            ),
        };
        let excluded = |address: &Address| {
            *address == from
                || *address == target
                || *address == SEQUENCER
                || evm::is_precompile(address)
        };
        let prior = self.request.access_list.clone().unwrap_or_default();
        let mut list = AccessList::default();
        for _ in 0..ACCESS_LIST_ROUNDS {
            let mut request = self.request.clone();
            request.access_list = Some(merge(&prior, &list));
            let executed = self.execute(&request, deadline)?;
            let found = touched(&executed.state, &excluded);
            let next = merge(&list, &found);
            if next == list {
                let gas_used = executed.result.tx_gas_used();
                let error = outcome(executed.result).err().map(|e| e.to_string());
                return Ok(AccessListAnswer {
                    access_list: merge(&prior, &list)
                        .0
                        .into_iter()
                        .filter(|item| !item.storage_keys.is_empty() || !excluded(&item.address))
                        .collect::<Vec<_>>()
                        .into(),
                    gas_used: U64::from(gas_used),
                    error,
                });
            }
            list = next;
        }
        Err(ChainError::Halted(format!(
            "the access list did not settle in {ACCESS_LIST_ROUNDS} runs"
        )))
    }

    /// The least gas limit with which the call succeeds, up to what it
    /// asks for or [`MAX_TX_GAS`] (binary search over full executions),
    /// all of it by `deadline`.
    ///
    /// # Errors
    /// It fails even with the cap (revert data returned), or the search
    /// ran past `deadline`.
    pub fn estimate(&self, deadline: Instant) -> Result<u64, ChainError> {
        if self.asks_node_interface() {
            // A call it refuses cannot be estimated; one it answers is
            // estimated as what sending it costs (a call to an empty
            // account), so a tool that estimates and then sends succeeds.
            self.answer_node_interface(deadline)?;
        }
        let cap = self.request.gas.unwrap_or(MAX_TX_GAS).min(MAX_TX_GAS);
        let run = |gas: u64| self.run(Some(gas), deadline);
        let (_, used) = run(cap)?;
        // Nested frames keep 1/64 back, so the used gas is a lower bound.
        let mut low = used.saturating_sub(1);
        let mut high = cap;
        let optimistic = used.saturating_mul(3) / 2 + 10_000;
        if optimistic < high {
            match run(optimistic) {
                Ok(_) => high = optimistic,
                Err(ChainError::Timeout(limit)) => return Err(ChainError::Timeout(limit)),
                Err(_) => {}
            }
        }
        while high - low > 1 && (high - low) * 100 > high {
            let mid = low + (high - low) / 2;
            match run(mid) {
                Ok(_) => high = mid,
                Err(ChainError::Timeout(limit)) => return Err(ChainError::Timeout(limit)),
                Err(_) => low = mid,
            }
        }
        Ok(high)
    }
}

/// Runs of a call `eth_createAccessList` makes at most before its list
/// settles (each run can only add what the previous list made reachable).
const ACCESS_LIST_ROUNDS: usize = 8;

/// `eth_createAccessList`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListAnswer {
    /// The accounts and slots the call touches.
    pub access_list: AccessList,
    /// Gas the call uses with that list.
    pub gas_used: U64,
    /// Why the call failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The accounts and storage slots an execution loaded: slots of every
/// account, accounts without slots unless `excluded`. Sorted, so two runs
/// compare equal.
fn touched(state: &revm::state::EvmState, excluded: &dyn Fn(&Address) -> bool) -> AccessList {
    let mut found: std::collections::BTreeMap<Address, std::collections::BTreeSet<B256>> =
        std::collections::BTreeMap::new();
    for (address, account) in state {
        // A precompile's slots are its own bookkeeping (ArbWasm's
        // activation records), not storage the call's code read.
        if evm::is_precompile(address) || (account.storage.is_empty() && excluded(address)) {
            continue;
        }
        found.entry(*address).or_default().extend(
            account
                .storage
                .keys()
                .map(|key| B256::from(key.to_be_bytes())),
        );
    }
    AccessList(
        found
            .into_iter()
            .map(|(address, keys)| AccessListItem {
                address,
                storage_keys: keys.into_iter().collect(),
            })
            .collect(),
    )
}

/// The union of two access lists, sorted.
fn merge(a: &AccessList, b: &AccessList) -> AccessList {
    let mut all: std::collections::BTreeMap<Address, std::collections::BTreeSet<B256>> =
        std::collections::BTreeMap::new();
    for item in a.0.iter().chain(&b.0) {
        all.entry(item.address)
            .or_default()
            .extend(item.storage_keys.iter().copied());
    }
    AccessList(
        all.into_iter()
            .map(|(address, keys)| AccessListItem {
                address,
                storage_keys: keys.into_iter().collect(),
            })
            .collect(),
    )
}

/// What NodeInterface reads of a prepared call.
struct NodeInterfaceFacts<'a> {
    call: &'a PreparedCall,
    deadline: Instant,
}

impl nodeinterface::NodeFacts for NodeInterfaceFacts<'_> {
    fn block_number(&self) -> u64 {
        self.call.env.number.saturating_to()
    }

    fn base_fee(&self) -> U256 {
        U256::from(self.call.env.basefee)
    }

    fn estimate(&self, to: Option<Address>, data: Bytes) -> Result<u64, ChainError> {
        let mut request = self.call.request.clone();
        request.to = Some(to.map_or(TxKind::Create, TxKind::Call));
        request.input = data.into();
        let inner = PreparedCall {
            state: self.call.state.clone(),
            programs: self.call.programs.clone(),
            cfg: self.call.cfg.clone(),
            env: self.call.env.clone(),
            request,
            chain_id: self.call.chain_id,
        };
        inner.estimate(self.deadline)
    }
}

/// Refuses a call whose gas limit × price + value does not fit 256 bits:
/// with the balance check off (calls), revm would overflow on it.
///
/// # Errors
/// [`ChainError::Invalid`] when it does not fit.
fn affordable_in_u256(tx: &TxEnv) -> Result<(), ChainError> {
    U256::from(tx.gas_limit)
        .checked_mul(U256::from(tx.gas_price))
        .and_then(|cost| cost.checked_add(tx.value))
        .map(|_| ())
        .ok_or_else(|| ChainError::Invalid("gas limit × gas price + value overflows".to_owned()))
}

/// revm's view of an `eth_call` request.
fn call_env(request: &TransactionRequest, chain_id: u64, cap: u64) -> TxEnv {
    let gas_price = request
        .max_fee_per_gas
        .or(request.gas_price)
        .unwrap_or_default();
    TxEnv {
        tx_type: if request.max_fee_per_gas.is_some() {
            2
        } else {
            0
        },
        caller: request.from.unwrap_or_default(),
        gas_limit: request.gas.unwrap_or(cap).min(cap),
        gas_price,
        // The tip is dropped, as for transactions.
        gas_priority_fee: request.max_fee_per_gas.map(|_| 0),
        kind: request.to.unwrap_or(TxKind::Create),
        value: request.value.unwrap_or_default(),
        data: request.input.input().cloned().unwrap_or_default(),
        nonce: request.nonce.unwrap_or_default(),
        chain_id: Some(chain_id),
        access_list: request.access_list.clone().unwrap_or_default(),
        ..TxEnv::default()
    }
}

fn apply_overrides(state: &mut WorldState, overrides: StateOverride) -> Result<(), ChainError> {
    let mut ignored = Vec::new();
    for (address, account) in overrides {
        if let Some(balance) = account.balance {
            state.set_balance(address, balance, &mut ignored);
        }
        if let Some(nonce) = account.nonce {
            state.set_nonce(address, nonce, &mut ignored);
        }
        if let Some(code) = account.code {
            state.set_code(address, code, &mut ignored);
        }
        if account.state.is_some() && account.state_diff.is_some() {
            return Err(ChainError::InvalidParams(format!(
                "override for {address} has both state and stateDiff"
            )));
        }
        if let Some(slots) = account.state {
            state.clear_storage(address, &mut ignored);
            for (key, value) in slots {
                state.set_storage(address, key.into(), value.into(), &mut ignored);
            }
        }
        if let Some(slots) = account.state_diff {
            for (key, value) in slots {
                state.set_storage(address, key.into(), value.into(), &mut ignored);
            }
        }
    }
    Ok(())
}

fn invalid<E: std::fmt::Debug>(error: EVMError<E>) -> ChainError {
    match error {
        EVMError::Transaction(invalid) => ChainError::Invalid(invalid.to_string()),
        other => ChainError::Invalid(format!("{other:?}")),
    }
}

/// A call's output and gas, or its failure.
fn outcome(result: ExecutionResult) -> Result<(Bytes, u64), ChainError> {
    match result {
        ExecutionResult::Success { output, gas, .. } => Ok((output.into_data(), gas.tx_gas_used())),
        ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted(output)),
        // Out of gas in geth's words, which clients match on.
        ExecutionResult::Halt {
            reason: HaltReason::OutOfGas(_),
            ..
        } => Err(ChainError::Halted("out of gas".to_owned())),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted(format!("{reason:?}"))),
    }
}

fn logs_bloom(logs: &[Log]) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for log in logs {
        bloom.accrue_log(log);
    }
    bloom
}

/// The consensus receipt of a mined transaction.
#[must_use]
pub fn receipt_envelope(tx: &MinedTx) -> ReceiptEnvelope {
    receipt_envelope_with(tx, tx.logs.clone())
}

/// The receipt of a mined transaction, with its logs in another form (RPC
/// logs carry their positions).
#[must_use]
pub fn receipt_envelope_with<L>(tx: &MinedTx, logs: Vec<L>) -> ReceiptEnvelope<L> {
    let receipt = ReceiptWithBloom {
        receipt: Receipt {
            status: tx.success.into(),
            cumulative_gas_used: tx.cumulative_gas_used,
            logs,
        },
        logs_bloom: tx.bloom,
    };
    match tx.envelope.tx_type() {
        TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
    }
}

/// The logs of `block` matching `filter`, marked `removed` or not.
#[must_use]
pub fn block_logs(
    block: &MinedBlock,
    filter: &Filter,
    removed: bool,
) -> Vec<alloy_rpc_types_eth::Log> {
    let mut out = Vec::new();
    if !filter.matches_bloom(block.header.logs_bloom) {
        return out;
    }
    for (index, tx) in block.txs.iter().enumerate() {
        for (offset, log) in tx.logs.iter().enumerate() {
            if filter.matches_address(log.address) && filter.matches_topics(log.topics()) {
                out.push(rpc_log(
                    block,
                    index,
                    tx.first_log_index + offset as u64,
                    log,
                    removed,
                ));
            }
        }
    }
    out
}

/// A log as RPC returns it.
#[must_use]
pub fn rpc_log(
    block: &MinedBlock,
    tx_index: usize,
    log_index: u64,
    log: &Log,
    removed: bool,
) -> alloy_rpc_types_eth::Log {
    alloy_rpc_types_eth::Log {
        inner: log.clone(),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        block_timestamp: Some(block.header.timestamp),
        transaction_hash: block.txs.get(tx_index).map(|t| t.hash),
        transaction_index: Some(tx_index as u64),
        log_index: Some(log_index),
        removed,
    }
}

#[cfg(test)]
mod tests {
    use alloy_rpc_types_eth::state::AccountOverride;

    use super::*;

    /// An endless EVM loop with the whole call gas cap (50 M gas, seconds
    /// of work unoptimized) ends at its call's deadline, reported as a
    /// timeout rather than running until its gas is gone.
    #[test]
    fn an_evm_loop_stops_at_its_calls_deadline() {
        let chain = Chain::new(
            ChainConfig {
                chain_id: 412_346,
                allocation: Vec::new(),
                genesis_timestamp: 0,
            },
            Vec::new(),
        );
        let looping = Address::repeat_byte(0x77);
        // JUMPDEST PUSH0 JUMP
        let code = AccountOverride {
            code: Some(Bytes::from_static(&[0x5b, 0x5f, 0x56])),
            ..AccountOverride::default()
        };
        let overrides: StateOverride = [(looping, code)].into_iter().collect();
        let request = TransactionRequest::default().to(looping);
        let call = chain
            .prepare_call(request, BlockNumberOrTag::Latest, Some(overrides))
            .expect("prepared");
        let result = call.call(Instant::now() + std::time::Duration::from_millis(5));
        assert!(matches!(result, Err(ChainError::Timeout(_))), "{result:?}");
    }

    fn dev_chain() -> Chain {
        Chain::new(
            ChainConfig {
                chain_id: 412_346,
                allocation: Vec::new(),
                genesis_timestamp: 0,
            },
            Vec::new(),
        )
    }

    /// The history contract's code at the edges of its window, in a block
    /// past the first full ring: it answers for the last W blocks before
    /// the reader's and reverts (without data) for anything else.
    #[test]
    fn the_history_ring_answers_within_its_window_only() {
        use history::{slot, HISTORY_SERVE_WINDOW as W, HISTORY_STORAGE};
        let chain = dev_chain();
        let request = TransactionRequest::default().to(HISTORY_STORAGE);
        let mut call = chain
            .prepare_call(request, BlockNumberOrTag::Latest, None)
            .expect("prepared");
        let n = W + 10;
        call.env.number = U256::from(n);
        let state = Arc::make_mut(&mut call.state);
        // Block n - 1 shares its slot with block 9, which is out of reach.
        state.set_storage(HISTORY_STORAGE, slot(10), U256::from(1010), &mut Vec::new());
        state.set_storage(
            HISTORY_STORAGE,
            slot(n - 1),
            U256::from(1999),
            &mut Vec::new(),
        );
        let ask = |input: Vec<u8>| {
            let mut asked = call.request.clone();
            asked.input = Bytes::from(input).into();
            let prepared = PreparedCall {
                request: asked,
                state: call.state.clone(),
                programs: call.programs.clone(),
                cfg: call.cfg.clone(),
                env: call.env.clone(),
                chain_id: call.chain_id,
            };
            prepared
                .call(Instant::now() + std::time::Duration::from_secs(5))
                .map(|(output, _)| U256::from_be_slice(&output))
        };
        let word = |x: u64| U256::from(x).to_be_bytes::<32>().to_vec();
        assert_eq!(ask(word(10)).expect("W blocks old"), U256::from(1010));
        assert_eq!(ask(word(n - 1)).expect("the last block"), U256::from(1999));
        for refused in [word(9), word(n), word(n + 5), vec![0; 31], vec![0; 33]] {
            let answer = ask(refused.clone());
            assert!(
                matches!(&answer, Err(ChainError::Reverted(data)) if data.is_empty()),
                "{} bytes: {answer:?}",
                refused.len()
            );
        }
    }

    /// A call at an older block sees the ring as Nitro has it in that
    /// block: the block's own hash, written as its last change, is not in
    /// the slot yet.
    #[test]
    fn a_call_at_an_older_block_sees_the_ring_before_that_blocks_hash() {
        use history::{slot, HISTORY_STORAGE};
        let mut chain = dev_chain();
        for _ in 0..3 {
            chain.mine(None).expect("mined");
        }
        let hash_of = |chain: &Chain, n: u64| {
            chain
                .block(n)
                .map(|b| U256::from_be_bytes(b.hash.0))
                .unwrap_or_default()
        };
        assert_eq!(
            chain.state.storage(&HISTORY_STORAGE, &slot(2)),
            hash_of(&chain, 2)
        );
        let at_two = chain
            .prepare_call(
                TransactionRequest::default(),
                BlockNumberOrTag::Number(2),
                None,
            )
            .expect("prepared");
        assert_eq!(at_two.state.storage(&HISTORY_STORAGE, &slot(2)), U256::ZERO);
        assert_eq!(
            at_two.state.storage(&HISTORY_STORAGE, &slot(1)),
            hash_of(&chain, 1)
        );
    }
}
