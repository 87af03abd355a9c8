//! Running Stylus programs: WebAssembly in wasmi, host imports with
//! Nitro's semantics.
//!
//! A program is compiled once per code hash ([`Programs`]) and run per call
//! ([`Programs::run`]). Each run is one frame: it owns its arguments, its
//! result, its storage cache and its return data; chain state goes through
//! a [`StylusHost`].
//!
//! Semantics kept from Nitro:
//! - **Storage cache.** `storage_load_bytes32` reads through a per-frame
//!   cache, `storage_cache_bytes32` writes only to the cache, and
//!   `storage_flush_cache` writes the dirty slots to state (and empties the
//!   cache when asked). Nothing else writes it: not a nested call or
//!   creation (the SDK's call helpers flush before one themselves, as
//!   Nitro's host leaves it to them), not the frame's end; it is dropped
//!   unwritten when the program reverts or traps, or returns without
//!   flushing.
//! - **Outcome.** The entry point's status 0 is success, anything else a
//!   revert (the output is the revert data); a trap is a failure with no
//!   output. `exit_early` ends the program with the given status.
//! - **Static frames.** Flushing dirty slots, transient stores, logs,
//!   calls with value and creations trap in a static frame.
//! - **Logs** carry at most four topics.
//! - **Return data** belongs to the frame and is replaced by each nested
//!   call or creation.
//!
//! **Limits.** Memory follows Nitro's model across the transaction's
//! frames ([`meter`]: pages charged as they open, at most 8 MiB open at
//! once); each frame's value stack is bounded ([`MAX_STACK_CELLS`]). Fuel
//! is given to wasmi in slices ([`FUEL_SLICE`]) so that a call with a
//! deadline stops at it, however tight the program's loop.
//!
//! **Gas is approximate.** Wasmi's fuel stands in for Stylus ink: one fuel
//! is one interpreted instruction, [`FUEL_PER_GAS`] fuel make one gas, and
//! host imports charge rough EVM-like gas costs. Nothing may depend on
//! exact gas figures.

mod host;
pub mod meter;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use alloy_primitives::{keccak256, B256};
pub use host::{BlockEnv, CallKind, CallOutcome, CreateOutcome, Message, StylusHost};
pub use meter::TxMeter;
use wasmi::{
    Config, Engine, Error as Trap, Linker, Memory, Module, ResourceLimiter, Store,
    TypedResumableCall,
};
use wasmi_core::LimiterError;

/// Stack size for threads that execute transactions: nested program frames
/// recurse through host calls on the Rust stack.
pub const EXECUTION_STACK_SIZE: usize = 64 * 1024 * 1024;
/// Wasm instructions per unit of gas (an approximation of Stylus ink pricing).
pub const FUEL_PER_GAS: u64 = 100;
/// Ink per gas reported to programs (`tx_ink_price`).
pub const INK_PRICE: u32 = 10_000;
/// Most topics a log may carry.
pub const MAX_LOG_TOPICS: usize = 4;
/// Most value-stack cells (8 bytes each) one program frame may use: 2 MiB,
/// Nitro's default stack depth of 4 × 65 536 words. With at most
/// [`meter::MAX_FRAMES`] frames open, a transaction's stacks stay bounded
/// too (512 MiB at worst, 2 MiB a frame in practice).
pub const MAX_STACK_CELLS: usize = 4 * 65_536;
/// Fuel given to wasmi at a time (100 000 gas): a deadline is checked
/// between slices.
pub const FUEL_SLICE: u64 = 10_000_000;
/// Bytes in a WebAssembly page.
const PAGE_BYTES: usize = 65_536;

/// Why a program could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// The module failed to compile.
    #[error("cannot compile program: {0}")]
    Compile(String),
    /// The module imports something the host does not provide.
    #[error("program imports unknown function {0}")]
    UnknownImport(String),
}

/// How a program run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Status 0: changes kept.
    Success,
    /// Non-zero status: changes dropped, output is the revert data.
    Revert,
    /// A trap (a Rust panic, an out-of-bounds access, `unreachable`):
    /// changes dropped, no output, the unused gas returned; Nitro reports
    /// it as a plain revert.
    Failure(String),
    /// Ink ran out: changes dropped, no output, all gas spent. Also a
    /// frame stopped by its call's deadline ([`TxMeter::timed_out`] tells
    /// them apart).
    OutOfInk,
}

/// The result of one program run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Result or revert data.
    pub output: Vec<u8>,
    /// Gas used (approximate).
    pub gas_used: u64,
}

/// Compiled programs, keyed by the hash of their WebAssembly. Shared by
/// every frame of every transaction: compiling is the expensive part.
pub struct Programs {
    engine: Engine,
    linker: Linker<Frame>,
    modules: Mutex<HashMap<B256, Module>>,
}

impl Default for Programs {
    fn default() -> Self {
        Self::new()
    }
}

impl Programs {
    /// An empty cache with every host import linked.
    #[must_use]
    pub fn new() -> Self {
        let mut config = Config::default();
        config
            .consume_fuel(true)
            .wasm_reference_types(false)
            .wasm_tail_call(false)
            .wasm_multi_memory(false)
            .floats(false)
            .set_max_stack_height(MAX_STACK_CELLS)
            // Compiled when prepared, not at a function's first call: lazy
            // compilation charges fuel, so a program's first run would cost
            // more gas than the next (Nitro charges nothing for it), and
            // it cannot be resumed when a slice runs out.
            .compilation_mode(wasmi::CompilationMode::Eager);
        let engine = Engine::new(&config);
        let mut linker = Linker::new(&engine);
        imports::link(&mut linker);
        Self {
            engine,
            linker,
            modules: Mutex::new(HashMap::new()),
        }
    }

    /// Compiles `wasm` (once per hash) and returns its hash.
    ///
    /// # Errors
    /// The module does not compile, or imports an unknown function (named).
    pub fn prepare(&self, wasm: &[u8]) -> Result<B256, ProgramError> {
        let hash = keccak256(wasm);
        if self.module(&hash).is_some() {
            return Ok(hash);
        }
        let module =
            Module::new(&self.engine, wasm).map_err(|e| ProgramError::Compile(e.to_string()))?;
        for import in module.imports() {
            let known = crate::hostio::find(import.module(), import.name()).is_some();
            if !known {
                return Err(ProgramError::UnknownImport(format!(
                    "{}.{}",
                    import.module(),
                    import.name()
                )));
            }
        }
        self.cache().insert(hash, module);
        Ok(hash)
    }

    /// Whether the program `hash` is compiled.
    #[must_use]
    pub fn is_prepared(&self, hash: &B256) -> bool {
        self.module(hash).is_some()
    }

    fn module(&self, hash: &B256) -> Option<Module> {
        // Modules are reference-counted: cloning one is cheap.
        self.cache().get(hash).cloned()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<B256, Module>> {
        // The map stays consistent even if a holder panicked.
        self.modules.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the prepared program `hash` as one frame of the transaction
    /// whose frames share `meter`.
    ///
    /// # Errors
    /// `hash` was never prepared.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        hash: B256,
        host: &mut dyn StylusHost,
        env: BlockEnv,
        msg: Message,
        calldata: Vec<u8>,
        gas: u64,
        meter: &Arc<TxMeter>,
    ) -> Result<Outcome, ProgramError> {
        let module = self
            .module(&hash)
            .ok_or_else(|| ProgramError::Compile(format!("program {hash} was not prepared")))?;
        let fuel = gas.saturating_mul(FUEL_PER_GAS);
        let slice = fuel.min(FUEL_SLICE);
        let frame = Frame {
            host: HostRef::new(host),
            env,
            msg,
            args: calldata,
            output: Vec::new(),
            return_data: Vec::new(),
            cache: HashMap::new(),
            memory: None,
            out_of_ink: false,
            reserve: fuel - slice,
            owed: 0,
            meter: meter.clone(),
            pages: 0,
            last_growth: None,
        };
        let mut store = Store::new(&self.engine, frame);
        store.limiter(|frame: &mut Frame| -> &mut dyn ResourceLimiter { frame });
        // Past the deadline, or too many frames open: out of ink, as a
        // depth error is on Nitro.
        if meter.past_deadline() || !meter.enter() {
            return Ok(Outcome {
                status: Status::OutOfInk,
                output: Vec::new(),
                gas_used: gas,
            });
        }
        let setup = store.set_fuel(slice).map_err(|e| e.to_string());
        let result = setup.and_then(|()| {
            let instance = self
                .linker
                .instantiate_and_start(&mut store, &module)
                .map_err(|e| e.to_string())?;
            let memory = instance
                .get_memory(&store, "memory")
                .ok_or("program exports no memory")?;
            store.data_mut().memory = Some(memory);
            let entry = instance
                .get_typed_func::<i32, i32>(&store, "user_entrypoint")
                .map_err(|e| e.to_string())?;
            let len = i32::try_from(store.data().args.len()).map_err(|_| "calldata too long")?;
            let call = entry.call_resumable(&mut store, len);
            Ok(run_in_slices(&mut store, call))
        });
        // Memory grown since the last settling is paid now, or the frame
        // ran out of ink.
        if settle(&mut store).is_err() {
            store.data_mut().out_of_ink = true;
        }
        let fuel_left = store
            .get_fuel()
            .unwrap_or(0)
            .saturating_add(store.data().reserve);
        let gas_used = fuel.saturating_sub(fuel_left) / FUEL_PER_GAS;
        let status = match result {
            Err(setup_error) => Status::Failure(setup_error),
            Ok(Ok(0)) => Status::Success,
            Ok(Ok(_)) => Status::Revert,
            Ok(Err(trap)) => match trap.i32_exit_status() {
                Some(0) => Status::Success,
                Some(_) => Status::Revert,
                // wasmi's metering or a host import charging past the ink
                // left; a stack overflow spends it all too, as Nitro's
                // depth error does.
                None if matches!(
                    trap.as_trap_code(),
                    Some(wasmi::TrapCode::OutOfFuel | wasmi::TrapCode::StackOverflow)
                ) || store.data().out_of_ink =>
                {
                    Status::OutOfInk
                }
                None => Status::Failure(trap.to_string()),
            },
        };
        // Ink spent on growth that was never paid makes the run fail.
        let status = if store.data().out_of_ink && status != Status::OutOfInk {
            Status::OutOfInk
        } else {
            status
        };
        let gas_used = if status == Status::OutOfInk {
            fuel / FUEL_PER_GAS
        } else {
            gas_used
        };
        let frame = store.into_data();
        frame.meter.close(frame.pages);
        frame.meter.leave();
        let output = if matches!(status, Status::Failure(_) | Status::OutOfInk) {
            Vec::new()
        } else {
            frame.output
        };
        Ok(Outcome {
            status,
            output,
            gas_used,
        })
    }
}

/// The frame's host, borrowed for the duration of one [`Programs::run`].
///
/// wasmi's linker is built once for one store data type, so the frame
/// cannot carry the borrow's lifetime; it keeps a pointer instead.
struct HostRef(*mut (dyn StylusHost + 'static));

impl HostRef {
    fn new(host: &mut dyn StylusHost) -> Self {
        let pointer: *mut (dyn StylusHost + '_) = host;
        // SAFETY: only the lifetime is erased. The pointer lives in the
        // frame, which `Programs::run` creates and drops before it returns,
        // while the `&mut` borrow it came from is still held; nothing else
        // reaches the host in between.
        Self(unsafe {
            std::mem::transmute::<*mut (dyn StylusHost + '_), *mut (dyn StylusHost + 'static)>(
                pointer,
            )
        })
    }
}

impl std::ops::Deref for HostRef {
    type Target = dyn StylusHost;
    fn deref(&self) -> &Self::Target {
        // SAFETY: see `HostRef::new`; the borrow outlives the frame.
        unsafe { &*self.0 }
    }
}

impl std::ops::DerefMut for HostRef {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: see `HostRef::new`; the frame holds the only access.
        unsafe { &mut *self.0 }
    }
}

/// One program frame: the store data of a run.
struct Frame {
    host: HostRef,
    env: BlockEnv,
    msg: Message,
    args: Vec<u8>,
    output: Vec<u8>,
    return_data: Vec<u8>,
    /// Storage cache: slot → (value, dirty).
    cache: HashMap<B256, (B256, bool)>,
    memory: Option<Memory>,
    /// A host import found too little ink left for its cost.
    out_of_ink: bool,
    /// Fuel of the frame not yet given to wasmi (see [`FUEL_SLICE`]).
    reserve: u64,
    /// Fuel owed for memory grown while the reserve could not cover it,
    /// paid from wasmi's fuel at the next settling.
    owed: u64,
    /// The transaction's shared meter.
    meter: Arc<TxMeter>,
    /// Pages this frame opened (released when it returns).
    pages: u16,
    /// The last growth the limiter allowed: its pages and the fuel taken
    /// from the reserve and added to `owed`, undone if wasmi then fails it
    /// (out of fuel at a slice's end: it retries the instruction).
    last_growth: Option<(u16, u64, u64)>,
}

/// Runs a resumable call to its end, giving wasmi the frame's fuel a slice
/// at a time and stopping at the meter's deadline.
fn run_in_slices(
    store: &mut Store<Frame>,
    mut call: Result<TypedResumableCall<i32>, Trap>,
) -> Result<i32, Trap> {
    loop {
        match call {
            Ok(TypedResumableCall::Finished(status)) => return Ok(status),
            Ok(TypedResumableCall::HostTrap(paused)) => {
                // `exit_early` ends the program with its status; any other
                // host error is a trap.
                let error = paused.host_error();
                return match error.i32_exit_status() {
                    Some(status) => Ok(status),
                    None => Err(Trap::new(error.to_string())),
                };
            }
            Ok(TypedResumableCall::OutOfFuel(paused)) => {
                if settle(store).is_err() || store.data().meter.past_deadline() {
                    store.data_mut().out_of_ink = true;
                    return Err(Trap::new("out of ink"));
                }
                let required = paused.required_fuel();
                let in_wasmi = store.get_fuel().unwrap_or(0);
                let frame = store.data_mut();
                if frame.reserve.saturating_add(in_wasmi) < required {
                    frame.reserve = 0;
                    frame.out_of_ink = true;
                    return Err(Trap::new("out of ink"));
                }
                let next = frame
                    .reserve
                    .min(FUEL_SLICE.max(required.saturating_sub(in_wasmi)));
                frame.reserve -= next;
                store.set_fuel(in_wasmi.saturating_add(next))?;
                call = paused.resume(&mut *store);
            }
            Err(trap) => return Err(trap),
        }
    }
}

/// Pays what the frame owes for grown memory from wasmi's fuel.
///
/// # Errors
/// Too little fuel left (it is then all spent).
fn settle(store: &mut Store<Frame>) -> Result<(), Trap> {
    let owed = std::mem::take(&mut store.data_mut().owed);
    if owed == 0 {
        return Ok(());
    }
    let in_wasmi = store.get_fuel().unwrap_or(0);
    if in_wasmi >= owed {
        return store.set_fuel(in_wasmi - owed);
    }
    store.set_fuel(0)?;
    store.data_mut().reserve = 0;
    Err(Trap::new("out of ink"))
}

impl ResourceLimiter for Frame {
    /// Memory growth (and the initial memory) opens pages on the
    /// transaction's meter and pays for them, as Nitro's model does; past
    /// its limit the program runs out of ink.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        // More pages than a u16 counts is far past the limit too.
        let priced = u16::try_from(desired.saturating_sub(current) / PAGE_BYTES)
            .ok()
            .and_then(|pages| Some((pages, self.meter.cost(pages)?)));
        let Some((pages, gas)) = priced else {
            self.out_of_ink = true;
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        };
        let cost = gas.saturating_mul(FUEL_PER_GAS);
        let from_reserve = cost.min(self.reserve);
        self.reserve -= from_reserve;
        self.owed = self.owed.saturating_add(cost - from_reserve);
        self.meter.open(pages);
        self.pages = self.pages.saturating_add(pages);
        self.last_growth = Some((pages, from_reserve, cost - from_reserve));
        Ok(true)
    }

    /// A growth the limiter allowed failed after all (wasmi ran out of the
    /// slice's fuel and will retry it): its pages close and its cost comes
    /// back, so the retry is charged once.
    fn memory_grow_failed(&mut self, _error: &wasmi_core::MemoryError) -> Result<(), LimiterError> {
        if let Some((pages, from_reserve, owed)) = self.last_growth.take() {
            self.meter.close(pages);
            self.pages = self.pages.saturating_sub(pages);
            self.reserve = self.reserve.saturating_add(from_reserve);
            self.owed = self.owed.saturating_sub(owed);
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        // Programs have at most the one table they are activated with.
        Ok(desired <= 10_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

impl Frame {
    /// Writes dirty slots to state; empties the cache when `clear`.
    fn flush(&mut self, clear: bool) -> Result<(), Trap> {
        let dirty: Vec<(B256, B256)> = self
            .cache
            .iter()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|(k, (v, _))| (*k, *v))
            .collect();
        if !dirty.is_empty() && self.msg.is_static {
            return Err(Trap::new("storage write in a static call"));
        }
        for (key, value) in dirty {
            self.host.storage_store(key, value);
            if let Some(entry) = self.cache.get_mut(&key) {
                entry.1 = false;
            }
        }
        if clear {
            self.cache.clear();
        }
        Ok(())
    }
}

mod imports;
