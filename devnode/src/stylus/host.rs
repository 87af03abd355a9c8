//! What a running Stylus program needs from the chain around it.
//!
//! The executor keeps the per-frame parts itself (arguments, result,
//! storage cache, return data, fuel); everything that touches chain state
//! goes through [`StylusHost`], so the same executor runs on devnode's EVM
//! state and on the small in-memory world of the unit tests.

use alloy_primitives::{Address, B256, U256};

/// Block and transaction context, the same for every frame of a transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEnv {
    /// Chain id.
    pub chain_id: u64,
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Base fee (wei).
    pub basefee: U256,
    /// Block coinbase.
    pub coinbase: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Transaction gas price (wei).
    pub gas_price: U256,
    /// Transaction origin.
    pub origin: Address,
}

/// One call frame's message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// `msg.sender`.
    pub sender: Address,
    /// The address whose storage the frame uses (`address(this)`).
    pub contract: Address,
    /// `msg.value`.
    pub value: U256,
    /// No state may change (a static call, or inside one).
    pub is_static: bool,
    /// The same program already has a frame open in this transaction.
    pub reentrant: bool,
}

/// How a program calls another contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `call_contract`: a normal call, possibly with value.
    Call,
    /// `delegate_call_contract`: the callee's code in the caller's context.
    Delegate,
    /// `static_call_contract`: no state changes allowed.
    Static,
}

/// Result of a nested call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOutcome {
    /// The callee succeeded (its changes are kept).
    pub success: bool,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Gas the callee used.
    pub gas_used: u64,
}

/// Result of a nested contract creation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateOutcome {
    /// The new contract, or `None` when creation failed.
    pub address: Option<Address>,
    /// Revert data when creation failed.
    pub output: Vec<u8>,
    /// Gas used.
    pub gas_used: u64,
}

/// Chain state as seen by a program frame. Storage functions act on the
/// frame's own contract (`Message::contract`).
pub trait StylusHost {
    /// Reads a storage slot.
    fn storage_load(&mut self, key: B256) -> B256;
    /// Writes a storage slot.
    fn storage_store(&mut self, key: B256, value: B256);
    /// Reads a transient storage slot (EIP-1153).
    fn transient_load(&mut self, key: B256) -> B256;
    /// Writes a transient storage slot.
    fn transient_store(&mut self, key: B256, value: B256);
    /// Emits a log from the frame's contract.
    fn emit_log(&mut self, topics: &[B256], data: &[u8]);
    /// Runs a nested call as a real frame of the same transaction; a failed
    /// callee leaves no changes behind.
    fn call(
        &mut self,
        kind: CallKind,
        to: Address,
        input: &[u8],
        value: U256,
        gas: u64,
    ) -> CallOutcome;
    /// Creates a contract (CREATE, or CREATE2 with `salt`).
    fn create(
        &mut self,
        init_code: &[u8],
        endowment: U256,
        salt: Option<B256>,
        gas: u64,
    ) -> CreateOutcome;
    /// An account's balance.
    fn balance(&mut self, address: Address) -> U256;
    /// An account's code.
    fn code(&mut self, address: Address) -> Vec<u8>;
    /// An account's code hash (zero for an account that does not exist).
    fn code_hash(&mut self, address: Address) -> B256;
}
