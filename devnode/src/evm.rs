//! Executing transactions: revm for the EVM, wasmi for Stylus, one
//! transaction's frames in one journal.
//!
//! revm runs every frame. Before it interprets a callee's code it asks the
//! precompile provider; devnode's provider ([`ArbPrecompiles`]) answers for
//! Ethereum's precompiles, ArbSys, ArbWasm, and for every account whose code
//! is a Stylus program (`EF F0 00`). At that point revm has already opened
//! the callee's journal checkpoint and moved the call value, and it commits
//! or reverts the checkpoint by the answer's status, exactly as for EVM
//! code.
//!
//! A Stylus program's nested calls and creations ([`RevmHost`]) run as real
//! frames: a fresh revm frame loop over the same context, starting at the
//! current depth. So Stylus → Stylus, Stylus → EVM and EVM → Stylus calls
//! share one journal, and a revert anywhere rolls back exactly its frame.
//!
//! Every execution context has the same shape, `&mut DevContext<DB>`, so the
//! recursion EVM → Stylus → EVM does not grow the types.

use std::{collections::HashMap, sync::Arc};

use alloy_primitives::{Address, Bytes, Log, LogData, B256, U256};
use alloy_sol_types::SolError;
use revm::{
    bytecode::opcode,
    context::{BlockEnv, CfgEnv, Evm, TxEnv},
    context_interface::{
        result::{EVMError, ExecResultAndState, ExecutionResult, HaltReason, InvalidTransaction},
        ContextTr, CreateScheme, JournalTr, LocalContextTr,
    },
    handler::{
        instructions::EthInstructions, EthFrame, EthPrecompiles, FrameResult, Handler,
        MainnetHandler, PrecompileProvider,
    },
    interpreter::{
        instructions::control, interpreter::EthInterpreter, CallInput, CallInputs, CallScheme,
        CallValue, CreateInputs, FrameInput, Gas, Instruction, InstructionContext,
        InstructionExecResult, InstructionResult, InterpreterResult, SharedMemory,
    },
    primitives::{hardfork::SpecId, AddressSet},
    state::EvmState,
    Context, Database, Journal,
};

use crate::{
    arbaggregator::{self, ARB_AGGREGATOR},
    arbgasinfo::{self, ARB_GAS_INFO},
    arbinfo::{self, AccountReader, ARB_INFO},
    arbownerpublic::{self, ARB_OWNER_PUBLIC},
    arbretryabletx::{self, ARB_RETRYABLE_TX},
    arbstatistics::{self, ARB_STATISTICS},
    arbsys::{self, ArbSysState, ARB_SYS},
    arbwasm::{self, ActivationRecord, ArbWasmState, ARB_WASM},
    precompile::{Answer, Refusal},
    stylus::{self, CallKind, Message, Programs, Status, StylusHost, TxMeter},
};

/// The ArbOS precompiles devnode serves (their accounts hold code `0xFE`).
pub const ARBOS_PRECOMPILES: [Address; 8] = [
    ARB_SYS,
    ARB_INFO,
    ARB_OWNER_PUBLIC,
    ARB_GAS_INFO,
    ARB_AGGREGATOR,
    ARB_RETRYABLE_TX,
    ARB_STATISTICS,
    ARB_WASM,
];

/// Whether `address` is one of devnode's precompiles: ArbOS's or
/// Ethereum's (at [`SPEC`]).
#[must_use]
pub fn is_precompile(address: &Address) -> bool {
    ARBOS_PRECOMPILES.contains(address)
        || revm::precompile::Precompiles::new(SPEC.into()).contains(address)
}

/// The hard fork devnode's EVM follows (Arbitrum's ArbOS 40 tracks Prague).
pub const SPEC: SpecId = SpecId::PRAGUE;

/// What every frame of a transaction shares besides the journal: the
/// compiled programs, the Stylus frames that are open (for
/// `msg_reentrant`), and the meter of their memory and deadline.
#[derive(Clone)]
pub struct StylusChain {
    /// Compiled programs, shared across transactions.
    pub programs: Arc<Programs>,
    open: HashMap<Address, u32>,
    meter: Arc<TxMeter>,
    /// EVM jumps taken, for checking the deadline every [`JUMPS_PER_CHECK`].
    jumps: u32,
}

impl StylusChain {
    /// A chain context over `programs`, its frames metered by `meter`.
    #[must_use]
    pub fn new(programs: Arc<Programs>, meter: Arc<TxMeter>) -> Self {
        Self {
            programs,
            open: HashMap::new(),
            meter,
            jumps: 0,
        }
    }
}

/// How many EVM jumps run between two looks at the deadline: every loop
/// jumps, and a look costs a clock read.
const JUMPS_PER_CHECK: u32 = 1_024;

/// The mainnet instructions, with `JUMP` and `JUMPI` looking at the call's
/// deadline now and then: gas alone bounds an EVM loop, but a call may be
/// given 50 M gas and must still end by its deadline (as geth's RPC EVM
/// timeout stops one). A transaction's meter has no deadline.
fn instructions<'a, DB: Database>() -> EthInstructions<EthInterpreter, &'a mut DevContext<DB>> {
    let mut instructions = EthInstructions::new_mainnet_with_spec(SPEC);
    let table = instructions.instruction_table_mut();
    table[usize::from(opcode::JUMP)] = Instruction::new(timed::<DB, false>);
    table[usize::from(opcode::JUMPI)] = Instruction::new(timed::<DB, true>);
    instructions
}

/// `JUMP` (or `JUMPI`), halting the frame out of gas once the deadline
/// has passed (the meter records why, so the call reports a timeout).
fn timed<DB: Database, const CONDITIONAL: bool>(
    context: InstructionContext<'_, &mut DevContext<DB>, EthInterpreter>,
) -> InstructionExecResult {
    let chain = &mut context.host.chain;
    chain.jumps = chain.jumps.wrapping_add(1);
    if chain.jumps.is_multiple_of(JUMPS_PER_CHECK) && chain.meter.past_deadline() {
        return Err(InstructionResult::OutOfGas);
    }
    if CONDITIONAL {
        control::jumpi(context)
    } else {
        control::jump(context)
    }
}

/// The execution context: revm's mainnet context with Stylus state.
pub type DevContext<DB> = Context<BlockEnv, TxEnv, CfgEnv, DB, Journal<DB>, StylusChain>;

type DevEvm<'a, DB> = Evm<
    &'a mut DevContext<DB>,
    (),
    EthInstructions<EthInterpreter, &'a mut DevContext<DB>>,
    ArbPrecompiles,
    EthFrame<EthInterpreter>,
>;

/// The outcome of one transaction (not yet applied to the state).
pub type Executed<E> = Result<
    ExecResultAndState<ExecutionResult<HaltReason>, EvmState>,
    EVMError<E, InvalidTransaction>,
>;

/// Runs `tx` in `block` with `cfg` against `db`, returning the result and
/// the state changes (nothing is written to `db`). Its program frames
/// share `meter` (a call's deadline; [`TxMeter::default`] for a
/// transaction).
///
/// # Errors
/// The transaction is invalid (nonce, balance, gas, chain id) or the
/// database failed.
pub fn transact<DB: Database>(
    db: DB,
    programs: Arc<Programs>,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    meter: Arc<TxMeter>,
) -> Executed<DB::Error> {
    let mut ctx: DevContext<DB> =
        Context::<BlockEnv, TxEnv, CfgEnv, DB, Journal<DB>, ()>::new(db, SPEC)
            .with_chain(StylusChain::new(programs, meter))
            .with_cfg(cfg)
            .with_block(block)
            .with_tx(tx);
    let mut evm: DevEvm<'_, DB> = Evm::new(&mut ctx, instructions(), ArbPrecompiles::new());
    let outcome = MainnetHandler::default().run(&mut evm);
    let state = evm.ctx.journal_mut().finalize();
    outcome.map(|result| ExecResultAndState::new(result, state))
}

/// The precompile provider: Ethereum's precompiles, ArbSys, ArbWasm, and
/// Stylus programs.
#[derive(Clone, Debug)]
pub struct ArbPrecompiles {
    eth: EthPrecompiles,
}

impl ArbPrecompiles {
    /// The provider for [`SPEC`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            eth: EthPrecompiles::new(SPEC),
        }
    }
}

impl Default for ArbPrecompiles {
    fn default() -> Self {
        Self::new()
    }
}

impl<DB: Database> PrecompileProvider<&mut DevContext<DB>> for ArbPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        <EthPrecompiles as PrecompileProvider<&mut DevContext<DB>>>::set_spec(&mut self.eth, spec)
    }

    fn run(
        &mut self,
        context: &mut &mut DevContext<DB>,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        let ctx: &mut DevContext<DB> = context;
        match inputs.bytecode_address {
            ARB_WASM => Ok(Some(run_arbwasm(ctx, inputs))),
            ARB_SYS => Ok(Some(run_arbsys(ctx, inputs))),
            ARB_GAS_INFO => Ok(Some(run_view(ctx, inputs, |ctx, input| {
                let prices = arbgasinfo::GasPrices {
                    base_fee: ctx.block.basefee,
                    minimum: crate::chain::BASE_FEE,
                    block_gas_limit: crate::chain::MAX_TX_GAS,
                };
                arbgasinfo::call(prices, input).map_err(|_| Refusal::Invalid)
            }))),
            ARB_INFO => Ok(Some(run_view(ctx, inputs, |ctx, input| {
                arbinfo::call(&mut RevmArb { ctx }, input)
            }))),
            ARB_STATISTICS => Ok(Some(run_view(ctx, inputs, |ctx, input| {
                arbstatistics::call(ctx.block.number.saturating_to(), input)
            }))),
            ARB_AGGREGATOR => Ok(Some(run_view(ctx, inputs, |_, input| {
                arbaggregator::call(input)
            }))),
            ARB_RETRYABLE_TX => Ok(Some(run_view(ctx, inputs, |_, input| {
                arbretryabletx::call(input)
            }))),
            ARB_OWNER_PUBLIC => Ok(Some(run_view(ctx, inputs, |_, input| {
                arbownerpublic::call(input)
            }))),
            address if self.eth.contains(&address) => {
                PrecompileProvider::<&mut DevContext<DB>>::run(&mut self.eth, context, inputs)
            }
            _ if pond_stylus_code::is_stylus(inputs.known_bytecode.1.original_byte_slice()) => {
                Ok(Some(run_program(ctx, inputs)))
            }
            _ => Ok(None),
        }
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.eth.warm_addresses()
    }

    fn contains(&self, address: &Address) -> bool {
        ARBOS_PRECOMPILES.contains(address) || self.eth.contains(address)
    }
}

/// A frame result with `used` gas of `limit` spent (all of it on failure).
fn result(status: InstructionResult, output: Vec<u8>, limit: u64, used: u64) -> InterpreterResult {
    let mut gas = Gas::new(limit);
    if status.is_ok_or_revert() {
        let _ = gas.record_regular_cost(used.min(limit));
    } else {
        gas.spend_all();
    }
    InterpreterResult::new(status, Bytes::from(output), gas)
}

fn revert_with(error: &impl SolError, limit: u64) -> InterpreterResult {
    result(InstructionResult::Revert, error.abi_encode(), limit, 0)
}

fn input_bytes<DB: Database>(ctx: &DevContext<DB>, inputs: &CallInputs) -> Vec<u8> {
    inputs.input.as_bytes(ctx).to_vec()
}

fn now<DB: Database>(ctx: &DevContext<DB>) -> u64 {
    ctx.block.timestamp.saturating_to()
}

// Cost of a precompile call (approximate, like all of devnode's Stylus gas).
const PRECOMPILE_GAS: u64 = 700;
const ACTIVATION_GAS: u64 = 1_000_000;

fn run_arbsys<DB: Database>(ctx: &mut DevContext<DB>, inputs: &CallInputs) -> InterpreterResult {
    let input = input_bytes(ctx, inputs);
    let mut state = RevmArb { ctx };
    match arbsys::call(&mut state, &input) {
        Ok(output) => result(
            InstructionResult::Return,
            output,
            inputs.gas_limit,
            PRECOMPILE_GAS,
        ),
        Err(data) => result(
            InstructionResult::Revert,
            data,
            inputs.gas_limit,
            PRECOMPILE_GAS,
        ),
    }
}

/// Runs one of the ArbOS precompiles that only answer (no value moves, no
/// state changes): a delegate call, a call with value, or a call they
/// cannot dispatch reverts with empty data and consumes all its gas, as
/// Nitro's dispatcher does; a method's own failure charges only the gas
/// used.
fn run_view<DB: Database>(
    ctx: &mut DevContext<DB>,
    inputs: &CallInputs,
    answer: impl FnOnce(&mut DevContext<DB>, &[u8]) -> Answer,
) -> InterpreterResult {
    let limit = inputs.gas_limit;
    let plain_call = matches!(inputs.scheme, CallScheme::Call | CallScheme::StaticCall);
    if !plain_call || !inputs.value.get().is_zero() || limit < PRECOMPILE_GAS {
        return result(InstructionResult::Revert, Vec::new(), limit, limit);
    }
    let input = input_bytes(ctx, inputs);
    match answer(ctx, &input) {
        Ok(output) => result(InstructionResult::Return, output, limit, PRECOMPILE_GAS),
        Err(Refusal::Invalid) => result(InstructionResult::Revert, Vec::new(), limit, limit),
        Err(Refusal::Revert(data)) => {
            result(InstructionResult::Revert, data, limit, PRECOMPILE_GAS)
        }
    }
}

fn run_arbwasm<DB: Database>(ctx: &mut DevContext<DB>, inputs: &CallInputs) -> InterpreterResult {
    let input = input_bytes(ctx, inputs);
    if inputs.scheme == CallScheme::DelegateCall || inputs.scheme == CallScheme::CallCode {
        return result(InstructionResult::Revert, Vec::new(), inputs.gas_limit, 0);
    }
    let value = inputs.value.get();
    if inputs.is_static && !value.is_zero() {
        return result(InstructionResult::Revert, Vec::new(), inputs.gas_limit, 0);
    }
    let programs = ctx.chain.programs.clone();
    let time = now(ctx);
    let caller = inputs.caller;
    let is_static = inputs.is_static;
    let mut state = RevmArb { ctx };
    let outcome = arbwasm::call(&mut state, &programs, value, &input, time);
    let ctx = state.ctx;
    match outcome {
        Ok(output) => {
            let writes = !output.logs.is_empty();
            if writes && is_static {
                return result(InstructionResult::Revert, Vec::new(), inputs.gas_limit, 0);
            }
            for (topics, data) in output.logs {
                ctx.journal_mut().log(Log {
                    address: ARB_WASM,
                    data: LogData::new_unchecked(topics, data.into()),
                });
            }
            if !output.refund.is_zero() {
                let _ = ctx.journal_mut().load_account(caller);
                if ctx
                    .journal_mut()
                    .transfer(ARB_WASM, caller, output.refund)
                    .ok()
                    .flatten()
                    .is_some()
                {
                    return result(InstructionResult::Revert, Vec::new(), inputs.gas_limit, 0);
                }
            }
            let gas = if writes {
                ACTIVATION_GAS
            } else {
                PRECOMPILE_GAS
            };
            result(
                InstructionResult::Return,
                output.data,
                inputs.gas_limit,
                gas,
            )
        }
        Err(data) => result(
            InstructionResult::Revert,
            data,
            inputs.gas_limit,
            PRECOMPILE_GAS,
        ),
    }
}

/// ArbSys and ArbWasm state over a revm context.
struct RevmArb<'a, DB: Database> {
    ctx: &'a mut DevContext<DB>,
}

impl<DB: Database> ArbSysState for RevmArb<'_, DB> {
    fn block_number(&self) -> u64 {
        self.ctx.block.number.saturating_to()
    }

    fn chain_id(&self) -> u64 {
        self.ctx.cfg.chain_id
    }

    fn block_hash(&mut self, number: u64) -> B256 {
        self.ctx
            .journal_mut()
            .db_mut()
            .block_hash(number)
            .unwrap_or_default()
    }

    fn caller_depth(&self) -> usize {
        self.ctx.journal().depth().saturating_sub(1)
    }
}

impl<DB: Database> AccountReader for RevmArb<'_, DB> {
    fn balance(&mut self, account: Address) -> U256 {
        load_balance(self.ctx, account)
    }

    fn code(&mut self, account: Address) -> Vec<u8> {
        load_code(self.ctx, account).1.to_vec()
    }
}

impl<DB: Database> ArbWasmState for RevmArb<'_, DB> {
    fn code(&mut self, address: Address) -> Vec<u8> {
        load_code(self.ctx, address).1.to_vec()
    }

    fn code_hash(&mut self, address: Address) -> B256 {
        load_code(self.ctx, address).0
    }

    fn record(&mut self, code_hash: &B256) -> Option<ActivationRecord> {
        load_record(self.ctx, code_hash)
    }

    fn set_record(&mut self, code_hash: &B256, record: &ActivationRecord) {
        let (first, second) = ActivationRecord::slots(code_hash);
        let (packed, module) = record.to_words();
        let journal = self.ctx.journal_mut();
        let _ = journal.load_account(ARB_WASM);
        let _ = journal.sstore(ARB_WASM, first, packed);
        let _ = journal.sstore(ARB_WASM, second, module);
    }
}

/// An account's code hash and code (zero hash and no code when absent).
/// An account's balance (zero if it cannot be loaded).
fn load_balance<DB: Database>(ctx: &mut DevContext<DB>, address: Address) -> U256 {
    ctx.journal_mut()
        .load_account(address)
        .map(|account| account.data.info.balance)
        .unwrap_or_default()
}

fn load_code<DB: Database>(ctx: &mut DevContext<DB>, address: Address) -> (B256, Bytes) {
    match ctx.journal_mut().load_account_with_code(address) {
        Ok(account) => {
            let info = &account.data.info;
            let code = info
                .code
                .as_ref()
                .map(|c| c.original_bytes())
                .unwrap_or_default();
            // EIP-1052 as revm and Nitro read it: an empty account (no
            // code, nonce or balance) has hash zero. An account created in
            // this transaction has nonce 1 (EIP-161): a program created and
            // activated in one transaction has its code's hash.
            if info.is_empty() {
                (B256::ZERO, code)
            } else {
                (info.code_hash, code)
            }
        }
        Err(_) => (B256::ZERO, Bytes::new()),
    }
}

fn load_record<DB: Database>(
    ctx: &mut DevContext<DB>,
    code_hash: &B256,
) -> Option<ActivationRecord> {
    let (first, second) = ActivationRecord::slots(code_hash);
    let journal = ctx.journal_mut();
    let _ = journal.load_account(ARB_WASM);
    let packed = journal.sload(ARB_WASM, first).ok()?.data;
    let module = journal.sload(ARB_WASM, second).ok()?.data;
    ActivationRecord::from_words(packed, module)
}

/// Runs the Stylus program in `inputs.known_bytecode` as this frame.
fn run_program<DB: Database>(ctx: &mut DevContext<DB>, inputs: &CallInputs) -> InterpreterResult {
    let limit = inputs.gas_limit;
    let (code_hash, code) = &inputs.known_bytecode;
    let record = match load_record(ctx, code_hash) {
        None => return revert_with(&arbwasm::IArbWasm::ProgramNotActivated {}, limit),
        Some(record) if !record.is_live(now(ctx)) => {
            let age = now(ctx).saturating_sub(record.activated_at);
            return revert_with(
                &arbwasm::IArbWasm::ProgramExpired { ageInSeconds: age },
                limit,
            );
        }
        Some(record) => record,
    };
    let programs = ctx.chain.programs.clone();
    if !programs.is_prepared(&record.module_hash) {
        // Activated in an earlier run of the node (state file): compile now.
        let compiled = pond_stylus_code::module_from_code(
            code.original_byte_slice(),
            pond_stylus_code::MAX_MODULE_SIZE,
        )
        .map_err(|e| e.to_string())
        .and_then(|module| programs.prepare(&module).map_err(|e| e.to_string()));
        if let Err(reason) = compiled {
            return failure(ctx, reason, limit);
        }
    }
    let contract = inputs.target_address;
    let calldata = input_bytes(ctx, inputs);
    let open = ctx.chain.open.entry(contract).or_default();
    let reentrant = *open > 0;
    *open += 1;
    let env = stylus::BlockEnv {
        chain_id: ctx.cfg.chain_id,
        number: ctx.block.number.saturating_to(),
        timestamp: now(ctx),
        basefee: U256::from(ctx.block.basefee),
        coinbase: ctx.block.beneficiary,
        gas_limit: ctx.block.gas_limit,
        // What the transaction pays per gas (the tip dropped), as EVM
        // GASPRICE answers it.
        gas_price: U256::from(revm::context_interface::Transaction::effective_gas_price(
            &ctx.tx,
            u128::from(ctx.block.basefee),
        )),
        origin: ctx.tx.caller,
    };
    let msg = Message {
        sender: inputs.caller,
        contract,
        value: inputs.value.get(),
        is_static: inputs.is_static,
        reentrant,
    };
    let _ = ctx.journal_mut().load_account(contract);
    let mut host = RevmHost {
        ctx: &mut *ctx,
        msg: msg.clone(),
    };
    let meter = host.ctx.chain.meter.clone();
    let outcome = programs.run(
        record.module_hash,
        &mut host,
        env,
        msg,
        calldata,
        limit,
        &meter,
    );
    if let Some(open) = ctx.chain.open.get_mut(&contract) {
        *open -= 1;
    }
    tracing::trace!(%contract, reentrant, is_static = inputs.is_static, outcome = ?outcome.as_ref().map(|o| (&o.status, o.output.len())), "stylus frame");
    match outcome {
        Err(error) => failure(ctx, error.to_string(), limit),
        Ok(outcome) => match outcome.status {
            Status::Success => result(
                InstructionResult::Return,
                outcome.output,
                limit,
                outcome.gas_used,
            ),
            Status::Revert => result(
                InstructionResult::Revert,
                outcome.output,
                limit,
                outcome.gas_used,
            ),
            // As Nitro: a trap is a revert without data, the unused gas
            // returned.
            Status::Failure(reason) => {
                tracing::debug!(%contract, "stylus program trapped: {reason}");
                result(
                    InstructionResult::Revert,
                    Vec::new(),
                    limit,
                    outcome.gas_used,
                )
            }
            Status::OutOfInk => result(InstructionResult::OutOfGas, Vec::new(), limit, limit),
        },
    }
}

/// A program that could not run (not activated, a module that does not
/// instantiate): all gas spent, no output; the reason is kept for the
/// top-level result when the transaction itself called the program.
fn failure<DB: Database>(
    ctx: &mut DevContext<DB>,
    reason: String,
    limit: u64,
) -> InterpreterResult {
    if ctx.journal().depth() <= 1 {
        ctx.local_mut()
            .set_precompile_error_context(format!("stylus program failed: {reason}"));
    }
    result(InstructionResult::PrecompileError, Vec::new(), limit, limit)
}

/// Chain state for a Stylus frame, over the transaction's revm context.
struct RevmHost<'a, DB: Database> {
    ctx: &'a mut DevContext<DB>,
    msg: Message,
}

impl<DB: Database> RevmHost<'_, DB> {
    /// Runs `frame_input` as a child frame and returns its result.
    fn nested(&mut self, frame_input: FrameInput) -> Option<FrameResult> {
        let depth = self.ctx.journal().depth();
        // Child frames append to the transaction's shared memory buffer
        // above everything the enclosing EVM frames use, and give it back.
        let buffer = self.ctx.local().shared_memory_buffer().clone();
        let mut root = SharedMemory::new_with_buffer(buffer);
        let memory = root.new_child_context();
        let outcome = {
            let mut evm: DevEvm<'_, DB> =
                Evm::new(&mut *self.ctx, instructions(), ArbPrecompiles::new());
            let mut handler = MainnetHandler::<
                DevEvm<'_, DB>,
                EVMError<DB::Error>,
                EthFrame<EthInterpreter>,
            >::default();
            handler.run_exec_loop(
                &mut evm,
                revm::interpreter::interpreter_action::FrameInit {
                    depth,
                    memory,
                    frame_input,
                },
            )
        };
        root.free_child_context();
        outcome.ok()
    }
}

impl<DB: Database> StylusHost for RevmHost<'_, DB> {
    fn storage_load(&mut self, key: B256) -> B256 {
        let value = self
            .ctx
            .journal_mut()
            .sload(self.msg.contract, key.into())
            .map(|load| load.data)
            .unwrap_or_default();
        B256::from(value)
    }

    fn storage_store(&mut self, key: B256, value: B256) {
        let _ = self
            .ctx
            .journal_mut()
            .sstore(self.msg.contract, key.into(), value.into());
    }

    fn transient_load(&mut self, key: B256) -> B256 {
        B256::from(self.ctx.journal_mut().tload(self.msg.contract, key.into()))
    }

    fn transient_store(&mut self, key: B256, value: B256) {
        self.ctx
            .journal_mut()
            .tstore(self.msg.contract, key.into(), value.into());
    }

    fn emit_log(&mut self, topics: &[B256], data: &[u8]) {
        self.ctx.journal_mut().log(Log {
            address: self.msg.contract,
            data: LogData::new_unchecked(topics.to_vec(), Bytes::copy_from_slice(data)),
        });
    }

    fn call(
        &mut self,
        kind: CallKind,
        to: Address,
        input: &[u8],
        value: U256,
        gas: u64,
    ) -> stylus::CallOutcome {
        let known_bytecode = match self.ctx.journal_mut().load_account_with_code(to) {
            Ok(account) => (
                account.data.info.code_hash,
                account.data.info.code.clone().unwrap_or_default(),
            ),
            Err(_) => return stylus::CallOutcome::default(),
        };
        let (target_address, caller, value, scheme) = match kind {
            CallKind::Delegate => (
                self.msg.contract,
                self.msg.sender,
                CallValue::Apparent(self.msg.value),
                CallScheme::DelegateCall,
            ),
            CallKind::Call => (
                to,
                self.msg.contract,
                CallValue::Transfer(value),
                CallScheme::Call,
            ),
            CallKind::Static => (
                to,
                self.msg.contract,
                CallValue::Transfer(U256::ZERO),
                CallScheme::StaticCall,
            ),
        };
        let inputs = CallInputs {
            input: CallInput::Bytes(Bytes::copy_from_slice(input)),
            return_memory_offset: 0..0,
            gas_limit: gas,
            reservoir: 0,
            bytecode_address: to,
            known_bytecode,
            target_address,
            caller,
            value,
            scheme,
            is_static: self.msg.is_static || kind == CallKind::Static,
            charged_new_account_state_gas: false,
        };
        match self.nested(FrameInput::Call(Box::new(inputs))) {
            Some(FrameResult::Call(outcome)) => stylus::CallOutcome {
                success: outcome.result.result.is_ok(),
                output: outcome.result.output.to_vec(),
                gas_used: outcome.result.gas.total_gas_spent(),
            },
            _ => stylus::CallOutcome {
                success: false,
                output: Vec::new(),
                gas_used: gas,
            },
        }
    }

    fn create(
        &mut self,
        init_code: &[u8],
        endowment: U256,
        salt: Option<B256>,
        gas: u64,
    ) -> stylus::CreateOutcome {
        let scheme = salt.map_or(CreateScheme::Create, |salt| CreateScheme::Create2 {
            salt: salt.into(),
        });
        let inputs = CreateInputs::new(
            self.msg.contract,
            scheme,
            endowment,
            Bytes::copy_from_slice(init_code),
            gas,
            0,
        );
        match self.nested(FrameInput::Create(Box::new(inputs))) {
            Some(FrameResult::Create(outcome)) => {
                let ok = outcome.result.result.is_ok();
                stylus::CreateOutcome {
                    address: if ok { outcome.address } else { None },
                    output: if ok {
                        Vec::new()
                    } else {
                        outcome.result.output.to_vec()
                    },
                    gas_used: outcome.result.gas.total_gas_spent(),
                }
            }
            _ => stylus::CreateOutcome {
                address: None,
                output: Vec::new(),
                gas_used: gas,
            },
        }
    }

    fn balance(&mut self, address: Address) -> U256 {
        load_balance(self.ctx, address)
    }

    fn code(&mut self, address: Address) -> Vec<u8> {
        load_code(self.ctx, address).1.to_vec()
    }

    fn code_hash(&mut self, address: Address) -> B256 {
        load_code(self.ctx, address).0
    }
}
