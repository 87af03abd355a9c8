//! The ArbWasm precompile (`0x…71`): activating Stylus programs and the
//! views cargo-stylus and other tools read.
//!
//! Activation takes a deployed contract whose code is a Stylus program,
//! decompresses it, checks it against the [`crate::activation`] rules,
//! compiles it, and records the activation by code hash: every contract
//! with the same code is activated at once, as on Arbitrum. Records live in
//! chain state (storage of the precompile's account, see
//! [`ActivationRecord::slots`]), so they revert, snapshot, reorg and persist
//! with everything else. Activation
//! costs a data fee paid in value; devnode charges a small deterministic
//! fee ([`DATA_FEE_PER_KIB`] per started KiB of module) so deployment
//! tools exercise the payment path, and returns any excess to the caller.
//!
//! This module is the precompile's logic over an [`ArbWasmState`]; the
//! node routes calls at [`ARB_WASM`] here.

use alloy_primitives::{address, keccak256, Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolError, SolEvent, SolInterface};

use crate::{activation, stylus::Programs};

/// Address of the ArbWasm precompile.
pub const ARB_WASM: Address = address!("0000000000000000000000000000000000000071");
/// Stylus version programs are activated at.
pub const STYLUS_VERSION: u16 = 2;
/// Data fee per started KiB of decompressed module (wei).
pub const DATA_FEE_PER_KIB: u64 = 10_000_000_000_000;
/// How long an activation lasts before it must be kept alive (days).
pub const EXPIRY_DAYS: u16 = 365;
/// How soon after activation a keepalive is allowed (days).
pub const KEEPALIVE_DAYS: u16 = 31;
/// Ink per gas.
pub const INK_PRICE: u32 = crate::stylus::INK_PRICE;
/// Pages a program may start with.
pub const PAGE_LIMIT: u16 = 128;

sol! {
    /// ArbWasm's interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IArbWasm {
        function activateProgram(address program) external payable returns (uint16 version, uint256 dataFee);
        function codehashKeepalive(bytes32 codehash) external payable;
        function stylusVersion() external view returns (uint16 version);
        function codehashVersion(bytes32 codehash) external view returns (uint16 version);
        function codehashAsmSize(bytes32 codehash) external view returns (uint32 size);
        function programVersion(address program) external view returns (uint16 version);
        function programInitGas(address program) external view returns (uint64 gas, uint64 gasWhenCached);
        function programMemoryFootprint(address program) external view returns (uint16 footprint);
        function programTimeLeft(address program) external view returns (uint64 secs);
        function inkPrice() external view returns (uint32 price);
        function maxStackDepth() external view returns (uint32 depth);
        function freePages() external view returns (uint16 pages);
        function pageGas() external view returns (uint16 gas);
        function pageRamp() external view returns (uint64 ramp);
        function pageLimit() external view returns (uint16 limit);
        function minInitGas() external view returns (uint64 gas, uint64 cached);
        function initCostScalar() external view returns (uint64 percent);
        function expiryDays() external view returns (uint16 _days);
        function keepaliveDays() external view returns (uint16 _days);
        function blockCacheSize() external view returns (uint16 count);

        event ProgramActivated(bytes32 indexed codehash, bytes32 moduleHash, address program, uint256 dataFee, uint16 version);
        event ProgramLifetimeExtended(bytes32 indexed codehash, uint256 dataFee);

        error ProgramNotWasm();
        error ProgramNotActivated();
        error ProgramNeedsUpgrade(uint16 version, uint16 stylusVersion);
        error ProgramExpired(uint64 ageInSeconds);
        error ProgramUpToDate();
        error ProgramKeepaliveTooSoon(uint64 ageInSeconds);
        error ProgramInsufficientValue(uint256 have, uint256 want);
        /// devnode only: the module breaks an activation rule (the reason is the string).
        error ProgramInvalid(string reason);
    }
}

/// One activation, by code hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationRecord {
    /// Stylus version.
    pub version: u16,
    /// Hash of the decompressed module (what the executor runs).
    pub module_hash: B256,
    /// Decompressed module size.
    pub module_size: u32,
    /// Initial memory pages.
    pub pages: u16,
    /// When it was activated or last kept alive.
    pub activated_at: u64,
}

impl ActivationRecord {
    /// The two storage slots of ArbWasm's account that hold the record of
    /// `code_hash`: the packed fields, then the module hash.
    #[must_use]
    pub fn slots(code_hash: &B256) -> (U256, U256) {
        let base = U256::from_be_bytes(keccak256(code_hash).0);
        (base, base.wrapping_add(U256::from(1)))
    }

    /// The record as its two storage words.
    #[must_use]
    pub fn to_words(&self) -> (U256, U256) {
        // version (16) | size (32) | pages (16) | activated_at (64), and a
        // 1 bit above them so a record is never the zero word.
        let packed = (U256::from(1) << 128)
            | (U256::from(self.version) << 112)
            | (U256::from(self.module_size) << 80)
            | (U256::from(self.pages) << 64)
            | U256::from(self.activated_at);
        (packed, U256::from_be_bytes(self.module_hash.0))
    }

    /// The record stored as `words`, or `None` for empty slots.
    #[must_use]
    pub fn from_words(packed: U256, module_hash: U256) -> Option<Self> {
        if packed.is_zero() {
            return None;
        }
        let field = |shift: usize, bits: usize| -> u64 {
            let mask = (U256::from(1) << bits) - U256::from(1);
            ((packed >> shift) & mask).to::<u64>()
        };
        Some(Self {
            version: u16::try_from(field(112, 16)).unwrap_or(u16::MAX),
            module_size: u32::try_from(field(80, 32)).unwrap_or(u32::MAX),
            pages: u16::try_from(field(64, 16)).unwrap_or(u16::MAX),
            activated_at: field(0, 64),
            module_hash: B256::from(module_hash.to_be_bytes()),
        })
    }

    /// Whether the activation is still live at `now`.
    #[must_use]
    pub fn is_live(&self, now: u64) -> bool {
        now.saturating_sub(self.activated_at) <= expiry_secs()
    }
}

/// The chain state ArbWasm reads and writes.
pub trait ArbWasmState {
    /// An account's code.
    fn code(&mut self, address: Address) -> Vec<u8>;
    /// An account's code hash.
    fn code_hash(&mut self, address: Address) -> B256;
    /// The activation record of `code_hash`.
    fn record(&mut self, code_hash: &B256) -> Option<ActivationRecord>;
    /// Stores the activation record of `code_hash`.
    fn set_record(&mut self, code_hash: &B256, record: &ActivationRecord);
}

/// What a successful ArbWasm call returns.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// ABI-encoded return data.
    pub data: Vec<u8>,
    /// Logs emitted by the precompile: (topics, data).
    pub logs: Vec<(Vec<B256>, Vec<u8>)>,
    /// Value to return to the caller (excess over the data fee).
    pub refund: U256,
}

/// Handles a call to ArbWasm. `Err` carries revert data (an ArbWasm custom
/// error, or empty for an unknown selector or bad input).
///
/// # Errors
/// Revert data as described above.
pub fn call(
    state: &mut dyn ArbWasmState,
    programs: &Programs,
    value: U256,
    input: &[u8],
    now: u64,
) -> Result<Output, Vec<u8>> {
    use IArbWasm::IArbWasmCalls as Call;
    let call = Call::abi_decode(input).map_err(|_| Vec::new())?;
    if !matches!(call, Call::activateProgram(_) | Call::codehashKeepalive(_)) && !value.is_zero() {
        // Views are not payable.
        return Err(Vec::new());
    }
    let data = match call {
        Call::activateProgram(c) => return activate(state, programs, c.program, value, now),
        Call::codehashKeepalive(c) => return keepalive(state, c.codehash, value, now),
        Call::stylusVersion(_) => IArbWasm::stylusVersionCall::abi_encode_returns(&STYLUS_VERSION),
        Call::codehashVersion(c) => {
            let record = current(state, &c.codehash, now)?;
            IArbWasm::codehashVersionCall::abi_encode_returns(&record.version)
        }
        Call::codehashAsmSize(c) => {
            let record = current(state, &c.codehash, now)?;
            IArbWasm::codehashAsmSizeCall::abi_encode_returns(&record.module_size)
        }
        Call::programVersion(c) => {
            let record = program_record(state, c.program, now)?;
            IArbWasm::programVersionCall::abi_encode_returns(&record.version)
        }
        Call::programInitGas(c) => {
            let record = program_record(state, c.program, now)?;
            let gas = u64::from(record.module_size) / 8 + 1_000;
            IArbWasm::programInitGasCall::abi_encode_returns(&IArbWasm::programInitGasReturn {
                gas,
                gasWhenCached: gas / 4,
            })
        }
        Call::programMemoryFootprint(c) => {
            let record = program_record(state, c.program, now)?;
            IArbWasm::programMemoryFootprintCall::abi_encode_returns(&record.pages)
        }
        Call::programTimeLeft(c) => {
            let record = program_record(state, c.program, now)?;
            let left = expiry_secs().saturating_sub(now.saturating_sub(record.activated_at));
            IArbWasm::programTimeLeftCall::abi_encode_returns(&left)
        }
        Call::inkPrice(_) => IArbWasm::inkPriceCall::abi_encode_returns(&INK_PRICE),
        Call::maxStackDepth(_) => IArbWasm::maxStackDepthCall::abi_encode_returns(&262_144u32),
        Call::freePages(_) => IArbWasm::freePagesCall::abi_encode_returns(&2u16),
        Call::pageGas(_) => IArbWasm::pageGasCall::abi_encode_returns(&1_000u16),
        Call::pageRamp(_) => IArbWasm::pageRampCall::abi_encode_returns(&620_674_314u64),
        Call::pageLimit(_) => IArbWasm::pageLimitCall::abi_encode_returns(&PAGE_LIMIT),
        Call::minInitGas(_) => {
            IArbWasm::minInitGasCall::abi_encode_returns(&IArbWasm::minInitGasReturn {
                gas: 1_000,
                cached: 250,
            })
        }
        Call::initCostScalar(_) => IArbWasm::initCostScalarCall::abi_encode_returns(&100u64),
        Call::expiryDays(_) => IArbWasm::expiryDaysCall::abi_encode_returns(&EXPIRY_DAYS),
        Call::keepaliveDays(_) => IArbWasm::keepaliveDaysCall::abi_encode_returns(&KEEPALIVE_DAYS),
        Call::blockCacheSize(_) => IArbWasm::blockCacheSizeCall::abi_encode_returns(&32u16),
    };
    Ok(Output {
        data,
        ..Output::default()
    })
}

/// The live activation of `code_hash`.
fn current(
    state: &mut dyn ArbWasmState,
    code_hash: &B256,
    now: u64,
) -> Result<ActivationRecord, Vec<u8>> {
    let record = state
        .record(code_hash)
        .ok_or_else(|| IArbWasm::ProgramNotActivated {}.abi_encode())?;
    let age = now.saturating_sub(record.activated_at);
    if !record.is_live(now) {
        return Err(IArbWasm::ProgramExpired { ageInSeconds: age }.abi_encode());
    }
    Ok(record)
}

fn program_record(
    state: &mut dyn ArbWasmState,
    program: Address,
    now: u64,
) -> Result<ActivationRecord, Vec<u8>> {
    let code = state.code(program);
    if !pond_stylus_code::is_stylus(&code) {
        return Err(IArbWasm::ProgramNotWasm {}.abi_encode());
    }
    let code_hash = state.code_hash(program);
    current(state, &code_hash, now)
}

fn activate(
    state: &mut dyn ArbWasmState,
    programs: &Programs,
    program: Address,
    value: U256,
    now: u64,
) -> Result<Output, Vec<u8>> {
    let code = state.code(program);
    if !pond_stylus_code::is_stylus(&code) {
        return Err(IArbWasm::ProgramNotWasm {}.abi_encode());
    }
    let code_hash = state.code_hash(program);
    if let Some(record) = state.record(&code_hash) {
        if record.version == STYLUS_VERSION && record.is_live(now) {
            return Err(IArbWasm::ProgramUpToDate {}.abi_encode());
        }
    }
    let invalid = |reason: String| IArbWasm::ProgramInvalid { reason }.abi_encode();
    let module = pond_stylus_code::module_from_code(&code, pond_stylus_code::MAX_MODULE_SIZE)
        .map_err(|e| invalid(e.to_string()))?;
    let info = activation::validate(&module).map_err(|e| invalid(e.to_string()))?;
    let fee = data_fee(module.len());
    if value < fee {
        return Err(IArbWasm::ProgramInsufficientValue {
            have: value,
            want: fee,
        }
        .abi_encode());
    }
    let module_hash = programs
        .prepare(&module)
        .map_err(|e| invalid(e.to_string()))?;
    let record = ActivationRecord {
        version: STYLUS_VERSION,
        module_hash,
        module_size: u32::try_from(module.len()).unwrap_or(u32::MAX),
        pages: u16::try_from(info.initial_pages).unwrap_or(u16::MAX),
        activated_at: now,
    };
    state.set_record(&code_hash, &record);
    let event = IArbWasm::ProgramActivated {
        codehash: code_hash,
        moduleHash: module_hash,
        program,
        dataFee: fee,
        version: STYLUS_VERSION,
    };
    Ok(Output {
        data: IArbWasm::activateProgramCall::abi_encode_returns(&IArbWasm::activateProgramReturn {
            version: STYLUS_VERSION,
            dataFee: fee,
        }),
        logs: vec![log_of(&event)],
        refund: value - fee,
    })
}

fn keepalive(
    state: &mut dyn ArbWasmState,
    code_hash: B256,
    value: U256,
    now: u64,
) -> Result<Output, Vec<u8>> {
    let mut record = current(state, &code_hash, now)?;
    let age = now.saturating_sub(record.activated_at);
    if age < u64::from(KEEPALIVE_DAYS) * 86_400 {
        return Err(IArbWasm::ProgramKeepaliveTooSoon { ageInSeconds: age }.abi_encode());
    }
    let fee = data_fee(record.module_size as usize);
    if value < fee {
        return Err(IArbWasm::ProgramInsufficientValue {
            have: value,
            want: fee,
        }
        .abi_encode());
    }
    record.activated_at = now;
    state.set_record(&code_hash, &record);
    let event = IArbWasm::ProgramLifetimeExtended {
        codehash: code_hash,
        dataFee: fee,
    };
    Ok(Output {
        data: Vec::new(),
        logs: vec![log_of(&event)],
        refund: value - fee,
    })
}

fn expiry_secs() -> u64 {
    u64::from(EXPIRY_DAYS) * 86_400
}

/// devnode's activation data fee for a module of `size` bytes.
#[must_use]
pub fn data_fee(size: usize) -> U256 {
    let kib = (size as u64).div_ceil(1024);
    U256::from(kib) * U256::from(DATA_FEE_PER_KIB)
}

fn log_of<E: SolEvent>(event: &E) -> (Vec<B256>, Vec<u8>) {
    let log = event.encode_log_data();
    (log.topics().to_vec(), log.data.to_vec())
}
