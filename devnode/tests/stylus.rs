//! The Stylus executor running real Pond contract WebAssembly (and small
//! hand-written modules) against an in-memory world: nested calls between
//! programs, revert rollback, the storage cache, static frames, log
//! limits, reentrancy and unknown imports.

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};
use pond_devnode::stylus::{
    BlockEnv, CallKind, CallOutcome, CreateOutcome, Message, ProgramError, Programs, Status,
    StylusHost, TxMeter,
};

mod abi {
    #![allow(missing_docs, clippy::all)]
    pub(crate) mod token {
        alloy_sol_types::sol!(
            #[sol(all_derives)]
            "../contracts/abi/PondToken.sol"
        );
    }
    pub(crate) mod vault {
        alloy_sol_types::sol!(
            #[sol(all_derives)]
            "../contracts/abi/Vault.sol"
        );
    }
}
use abi::{token::IPondToken, vault::IVault};

#[derive(Clone, Default)]
struct Account {
    program: Option<B256>,
    storage: HashMap<B256, B256>,
    balance: U256,
}

#[derive(Clone, Default)]
struct State {
    accounts: HashMap<Address, Account>,
    logs: Vec<(Address, Vec<B256>, Vec<u8>)>,
    transient: HashMap<(Address, B256), B256>,
}

/// A chain without an EVM: accounts, programs, storage, logs, and
/// snapshots so a failed frame leaves nothing behind.
#[derive(Clone)]
struct World {
    state: Rc<RefCell<State>>,
    programs: Rc<RefCell<Programs>>,
    /// Contracts with an open frame, innermost last.
    active: Rc<RefCell<Vec<Address>>>,
    /// Gas given to each top-level frame.
    gas: Rc<std::cell::Cell<u64>>,
    /// Deployed modules, to redeploy them elsewhere.
    modules: Rc<RefCell<HashMap<Address, Vec<u8>>>>,
    /// The frames' shared meter (each top-level call's pages are released
    /// when it returns).
    meter: std::sync::Arc<TxMeter>,
}

impl World {
    fn new() -> Self {
        World {
            state: Rc::default(),
            programs: Rc::new(RefCell::new(Programs::new())),
            active: Rc::default(),
            gas: Rc::new(std::cell::Cell::new(30_000_000)),
            modules: Rc::default(),
            meter: std::sync::Arc::default(),
        }
    }

    fn code_of(&self, address: Address) -> Vec<u8> {
        self.modules
            .borrow()
            .get(&address)
            .cloned()
            .unwrap_or_default()
    }

    fn deploy(&self, address: Address, wasm: &[u8]) {
        let hash = self
            .programs
            .borrow_mut()
            .prepare(wasm)
            .expect("program compiles");
        self.modules.borrow_mut().insert(address, wasm.to_vec());
        self.state
            .borrow_mut()
            .accounts
            .entry(address)
            .or_default()
            .program = Some(hash);
    }

    /// Places a Pond contract at `address` as if `OWNER` had deployed it
    /// with Pond's init code, which records the deployer (the only account
    /// the contracts let initialize them).
    fn deploy_pond(&self, address: Address, wasm: &[u8]) {
        self.deploy(address, wasm);
        self.state
            .borrow_mut()
            .accounts
            .entry(address)
            .or_default()
            .storage
            .insert(
                B256::from(pond_devnode::deploy::POND_DEPLOYER_SLOT),
                B256::left_padding_from(OWNER.as_slice()),
            );
    }

    /// One frame: runs `code_of`'s program in `contract`'s storage.
    fn frame(
        &self,
        sender: Address,
        contract: Address,
        code_of: Address,
        input: &[u8],
        value: U256,
        is_static: bool,
    ) -> CallOutcome {
        let program = self
            .state
            .borrow()
            .accounts
            .get(&code_of)
            .and_then(|a| a.program);
        let Some(program) = program else {
            return CallOutcome {
                success: true,
                output: Vec::new(),
                gas_used: 0,
            };
        };
        let snapshot = self.state.borrow().clone();
        let reentrant = self.active.borrow().contains(&contract);
        self.active.borrow_mut().push(contract);
        let msg = Message {
            sender,
            contract,
            value,
            is_static,
            reentrant,
        };
        let mut host = WorldHost {
            world: self.clone(),
            msg: msg.clone(),
        };
        let env = BlockEnv {
            chain_id: 412_346,
            number: 7,
            timestamp: 1_700_000_000,
            ..BlockEnv::default()
        };
        let outcome = self
            .programs
            .borrow()
            .run(
                program,
                &mut host,
                env,
                msg,
                input.to_vec(),
                self.gas.get(),
                &self.meter,
            )
            .expect("prepared");
        self.active.borrow_mut().pop();
        let success = outcome.status == Status::Success;
        if !success {
            *self.state.borrow_mut() = snapshot;
        }
        CallOutcome {
            success,
            output: outcome.output,
            gas_used: outcome.gas_used,
        }
    }

    fn call(&self, from: Address, to: Address, input: &[u8]) -> CallOutcome {
        self.frame(from, to, to, input, U256::ZERO, false)
    }

    fn storage(&self, address: Address) -> HashMap<B256, B256> {
        self.state
            .borrow()
            .accounts
            .get(&address)
            .map(|a| a.storage.clone())
            .unwrap_or_default()
    }
}

struct WorldHost {
    world: World,
    msg: Message,
}

impl StylusHost for WorldHost {
    fn storage_load(&mut self, key: B256) -> B256 {
        self.world
            .storage(self.msg.contract)
            .get(&key)
            .copied()
            .unwrap_or_default()
    }
    fn storage_store(&mut self, key: B256, value: B256) {
        self.world
            .state
            .borrow_mut()
            .accounts
            .entry(self.msg.contract)
            .or_default()
            .storage
            .insert(key, value);
    }
    fn transient_load(&mut self, key: B256) -> B256 {
        self.world
            .state
            .borrow()
            .transient
            .get(&(self.msg.contract, key))
            .copied()
            .unwrap_or_default()
    }
    fn transient_store(&mut self, key: B256, value: B256) {
        self.world
            .state
            .borrow_mut()
            .transient
            .insert((self.msg.contract, key), value);
    }
    fn emit_log(&mut self, topics: &[B256], data: &[u8]) {
        self.world.state.borrow_mut().logs.push((
            self.msg.contract,
            topics.to_vec(),
            data.to_vec(),
        ));
    }
    fn call(
        &mut self,
        kind: CallKind,
        to: Address,
        input: &[u8],
        value: U256,
        _gas: u64,
    ) -> CallOutcome {
        match kind {
            CallKind::Call => {
                self.world
                    .frame(self.msg.contract, to, to, input, value, self.msg.is_static)
            }
            CallKind::Static => self
                .world
                .frame(self.msg.contract, to, to, input, value, true),
            CallKind::Delegate => self.world.frame(
                self.msg.sender,
                self.msg.contract,
                to,
                input,
                self.msg.value,
                self.msg.is_static,
            ),
        }
    }
    fn create(
        &mut self,
        _code: &[u8],
        _value: U256,
        _salt: Option<B256>,
        _gas: u64,
    ) -> CreateOutcome {
        CreateOutcome::default()
    }
    fn balance(&mut self, address: Address) -> U256 {
        self.world
            .state
            .borrow()
            .accounts
            .get(&address)
            .map(|a| a.balance)
            .unwrap_or_default()
    }
    fn code(&mut self, address: Address) -> Vec<u8> {
        let program = self
            .world
            .state
            .borrow()
            .accounts
            .get(&address)
            .and_then(|a| a.program);
        program.map(|hash| hash.to_vec()).unwrap_or_default()
    }
    fn code_hash(&mut self, address: Address) -> B256 {
        let program = self
            .world
            .state
            .borrow()
            .accounts
            .get(&address)
            .and_then(|a| a.program);
        program.map(keccak256).unwrap_or_default()
    }
}

/// Nested program frames recurse on the Rust stack (deeply in debug
/// builds); tests run on a thread with the stack devnode gives transactions.
fn on_big_stack(test: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new()
        .stack_size(pond_devnode::stylus::EXECUTION_STACK_SIZE)
        .spawn(test)
        .expect("test thread starts");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

const OWNER: Address = Address::repeat_byte(0x0e);
const ALICE: Address = Address::repeat_byte(0xa1);
const TOKEN: Address = Address::repeat_byte(0x70);
const VAULT: Address = Address::repeat_byte(0x7a);
const MARKET: Address = Address::repeat_byte(0x3a);

fn contract_wasm(package: &str) -> Vec<u8> {
    pond_contract_code::by_package(package)
        .expect("a Pond contract")
        .wasm
        .to_vec()
}

fn ok(outcome: &CallOutcome) -> &[u8] {
    assert!(outcome.success, "call failed: {:?}", outcome.output);
    &outcome.output
}

fn token_and_vault() -> World {
    let world = World::new();
    world.deploy_pond(TOKEN, &contract_wasm("pond-token"));
    world.deploy_pond(VAULT, &contract_wasm("pond-vault"));
    ok(&world.call(
        OWNER,
        TOKEN,
        &IPondToken::initializeCall { owner: OWNER }.abi_encode(),
    ));
    let init = IVault::initializeCall {
        token: TOKEN,
        treasury: OWNER,
        protocol_contracts: vec![MARKET],
        governor: OWNER,
    };
    ok(&world.call(OWNER, VAULT, &init.abi_encode()));
    ok(&world.call(
        OWNER,
        TOKEN,
        &IPondToken::mintCall {
            account: ALICE,
            value: U256::from(100),
        }
        .abi_encode(),
    ));
    world
}

fn token_balance(world: &World, who: Address) -> U256 {
    let out = world.call(
        ALICE,
        TOKEN,
        &IPondToken::balanceOfCall { account: who }.abi_encode(),
    );
    IPondToken::balanceOfCall::abi_decode_returns(ok(&out)).unwrap()
}

#[test]
fn the_real_token_runs_and_logs_transfers() {
    on_big_stack(|| {
        let world = token_and_vault();
        assert_eq!(token_balance(&world, ALICE), U256::from(100));
        let transfer = IPondToken::transferCall {
            to: OWNER,
            value: U256::from(30),
        };
        let out = world.call(ALICE, TOKEN, &transfer.abi_encode());
        assert!(IPondToken::transferCall::abi_decode_returns(ok(&out)).unwrap());
        assert_eq!(token_balance(&world, ALICE), U256::from(70));
        let logs = world.state.borrow().logs.clone();
        let (emitter, topics, data) = logs.last().unwrap();
        assert_eq!(*emitter, TOKEN);
        assert_eq!(topics[0], keccak256("Transfer(address,address,uint256)"));
        assert_eq!(topics[1], ALICE.into_word());
        assert_eq!(topics[2], OWNER.into_word());
        assert_eq!(U256::from_be_slice(data), U256::from(30));
    });
}

#[test]
fn a_program_calls_another_program_in_the_same_transaction() {
    on_big_stack(|| {
        let world = token_and_vault();
        ok(&world.call(
            ALICE,
            TOKEN,
            &IPondToken::approveCall {
                spender: VAULT,
                value: U256::from(60),
            }
            .abi_encode(),
        ));
        ok(&world.call(
            ALICE,
            VAULT,
            &IVault::depositCall {
                amount: U256::from(60),
            }
            .abi_encode(),
        ));
        let out = world.call(
            ALICE,
            VAULT,
            &IVault::availableOfCall { account: ALICE }.abi_encode(),
        );
        assert_eq!(
            IVault::availableOfCall::abi_decode_returns(ok(&out)).unwrap(),
            U256::from(60)
        );
        assert_eq!(token_balance(&world, VAULT), U256::from(60));
        assert_eq!(token_balance(&world, ALICE), U256::from(40));
    });
}

#[test]
fn a_failure_deep_inside_rolls_back_and_the_custom_error_comes_back_intact() {
    on_big_stack(|| {
        let world = token_and_vault();
        let token_before = world.storage(TOKEN);
        let vault_before = world.storage(VAULT);
        let logs_before = world.state.borrow().logs.len();
        // No allowance: the token's transferFrom reverts inside the vault's deposit.
        let out = world.call(
            ALICE,
            VAULT,
            &IVault::depositCall {
                amount: U256::from(10),
            }
            .abi_encode(),
        );
        assert!(!out.success);
        let error = IVault::IVaultErrors::abi_decode(&out.output).expect("a Vault custom error");
        assert!(
            matches!(error, IVault::IVaultErrors::TokenTransferFailed(_)),
            "{error:?}"
        );
        assert_eq!(world.storage(TOKEN), token_before);
        assert_eq!(world.storage(VAULT), vault_before);
        assert_eq!(world.state.borrow().logs.len(), logs_before);
        // Protocol-only functions refuse strangers with the named error.
        let out = world.call(
            ALICE,
            VAULT,
            &IVault::lockCall {
                account: ALICE,
                amount: U256::from(1),
            }
            .abi_encode(),
        );
        let error = IVault::IVaultErrors::abi_decode(&out.output).unwrap();
        assert!(matches!(error, IVault::IVaultErrors::UnauthorizedCaller(_)));
    });
}

/// A module: `user_entrypoint` runs `body` with the memory laid out by `data`.
fn module(body: &str, extra_imports: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "vm_hooks" "read_args" (func $read_args (param i32)))
            (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
            (import "vm_hooks" "storage_load_bytes32" (func $load (param i32 i32)))
            (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
            (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
            (import "vm_hooks" "emit_log" (func $log (param i32 i32 i32)))
            (import "vm_hooks" "msg_reentrant" (func $reentrant (result i32)))
            (import "vm_hooks" "contract_address" (func $this (param i32)))
            (import "vm_hooks" "static_call_contract" (func $static_call (param i32 i32 i32 i64 i32) (result i32)))
            (import "vm_hooks" "call_contract" (func $call (param i32 i32 i32 i32 i64 i32) (result i32)))
            {extra_imports}
            (memory (export "memory") 1)
            (data (i32.const 32) "\01")
            (func (export "user_entrypoint") (param $len i32) (result i32) {body}))"#
    ))
    .expect("test module parses")
}

const PROBE: Address = Address::repeat_byte(0x99);

fn slot1() -> B256 {
    let mut value = B256::ZERO;
    value[0] = 1;
    value
}

#[test]
fn the_storage_cache_writes_only_on_flush_and_never_after_a_trap() {
    on_big_stack(|| {
        let world = World::new();
        // Cache slot 0 := (bytes at 32), then trap.
        world.deploy(
            PROBE,
            &module("i32.const 0 i32.const 32 call $cache unreachable", ""),
        );
        assert!(!world.call(ALICE, PROBE, &[]).success);
        assert!(world.storage(PROBE).is_empty());
        // Cache without flushing, then succeed: nothing reaches state.
        let world = World::new();
        world.deploy(
            PROBE,
            &module("i32.const 0 i32.const 32 call $cache i32.const 0", ""),
        );
        assert!(world.call(ALICE, PROBE, &[]).success);
        assert!(world.storage(PROBE).is_empty());
        // Cache, read back through the cache, flush, return what was read.
        let world = World::new();
        world.deploy(
            PROBE,
            &module(
                "i32.const 0 i32.const 32 call $cache
                 i32.const 0 i32.const 64 call $load
                 i32.const 1 call $flush
                 i32.const 64 i32.const 32 call $write_result
                 i32.const 0",
                "",
            ),
        );
        let out = world.call(ALICE, PROBE, &[]);
        assert_eq!(ok(&out), slot1().as_slice());
        assert_eq!(world.storage(PROBE).get(&B256::ZERO), Some(&slot1()));
    });
}

#[test]
fn static_frames_cannot_write_and_logs_have_at_most_four_topics() {
    on_big_stack(|| {
        let world = World::new();
        let writer = Address::repeat_byte(0x98);
        world.deploy(
            writer,
            &module(
                "i32.const 0 i32.const 32 call $cache i32.const 0 call $flush i32.const 0",
                "",
            ),
        );
        let out = world.frame(ALICE, writer, writer, &[], U256::ZERO, true);
        assert!(!out.success, "a static frame must not flush writes");
        assert!(world.storage(writer).is_empty());
        let out = world.frame(ALICE, writer, writer, &[], U256::ZERO, false);
        assert!(out.success);
        let logger = Address::repeat_byte(0x97);
        world.deploy(
            logger,
            &module(
                "i32.const 0 i32.const 160 i32.const 5 call $log i32.const 0",
                "",
            ),
        );
        assert!(!world.call(ALICE, logger, &[]).success, "five topics trap");
        world.deploy(
            logger,
            &module(
                "i32.const 0 i32.const 160 i32.const 4 call $log i32.const 0",
                "",
            ),
        );
        assert!(world.call(ALICE, logger, &[]).success);
        assert_eq!(world.state.borrow().logs.last().unwrap().1.len(), 4);
    });
}

#[test]
fn the_reentrancy_flag_is_set_when_the_program_already_has_a_frame_open() {
    on_big_stack(|| {
        let world = World::new();
        // Reentrant frame: return "R" and revert. First frame: call itself,
        // then return the inner frame's revert data as its own result.
        world.deploy(
            PROBE,
            &module(
                r#"call $reentrant
                   if (result i32)
                     i32.const 500 i32.const 82 i32.store8
                     i32.const 500 i32.const 1 call $write_result
                     i32.const 7
                   else
                     i32.const 0 call $this
                     i32.const 0 i32.const 0 i32.const 0 i32.const 64 i64.const 1000000 i32.const 96 call $call
                     drop
                     i32.const 400 i32.const 0 call $return_data_size call $read_return_data
                     i32.const 400 call $return_data_size call $write_result drop
                     i32.const 0
                   end"#,
                r#"(import "vm_hooks" "read_return_data" (func $read_return_data (param i32 i32 i32) (result i32)))
                   (import "vm_hooks" "return_data_size" (func $return_data_size (result i32)))"#,
            ),
        );
        let out = world.call(ALICE, PROBE, &[]);
        assert_eq!(
            ok(&out),
            b"R",
            "the inner frame saw msg_reentrant and reverted with its data"
        );
    });
}

#[test]
fn an_unknown_import_is_named() {
    on_big_stack(|| {
        let programs = Programs::new();
        let wasm = wat::parse_str(
            r#"(module (import "vm_hooks" "teleport" (func)) (memory (export "memory") 1)
                (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        match programs.prepare(&wasm) {
            Err(ProgramError::UnknownImport(name)) => assert_eq!(name, "vm_hooks.teleport"),
            other => panic!("expected an unknown import, got {other:?}"),
        }
    });
}

/// A module importing every host function (as `$name`), whose entry point
/// runs `body`. Memory: 1 page; bytes 32.. hold a one at byte 32.
fn full_module(body: &str) -> Vec<u8> {
    let ty = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|t| match t {
                wasmparser::ValType::I32 => "i32",
                wasmparser::ValType::I64 => "i64",
                wasmparser::ValType::F32 => "f32",
                wasmparser::ValType::F64 => "f64",
                _ => unreachable!("host imports use number types only"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let imports: String = pond_devnode::hostio::HOST_IMPORTS
        .iter()
        .map(|i| {
            format!(
                "(import \"{}\" \"{}\" (func ${} (param {}) (result {})))\n",
                i.module,
                i.name,
                i.name,
                ty(i.params),
                ty(i.results)
            )
        })
        .collect();
    wat::parse_str(format!(
        r#"(module {imports}
            (memory (export "memory") 1)
            (data (i32.const 32) "\01")
            (func (export "user_entrypoint") (param $len i32) (result i32) {body}))"#
    ))
    .expect("test module parses")
}

/// Runs `body` once in a fresh world as `PROBE`, called by `ALICE` with `calldata`.
fn probe(body: &str, calldata: &[u8]) -> CallOutcome {
    let world = World::new();
    world.deploy(PROBE, &full_module(body));
    world
        .state
        .borrow_mut()
        .accounts
        .entry(ALICE)
        .or_default()
        .balance = U256::from(12_345);
    world.call(ALICE, PROBE, calldata)
}

/// Runs `write` (which must leave bytes at 1024..1024+len) and returns them.
fn probe_bytes(write: &str, len: usize) -> Vec<u8> {
    let out = probe(
        &format!("{write} i32.const 1024 i32.const {len} call $write_result i32.const 0"),
        &[],
    );
    ok(&out).to_vec()
}

#[test]
fn arguments_results_and_early_exit() {
    on_big_stack(|| {
        let echo = probe("i32.const 1024 call $read_args i32.const 1024 local.get $len call $write_result i32.const 0", b"hello");
        assert_eq!(ok(&echo), b"hello");
        let exit_ok = probe(
            "i32.const 32 i32.const 1 call $write_result i32.const 0 call $exit_early unreachable",
            &[],
        );
        assert_eq!(ok(&exit_ok), &[1]);
        let exit_revert = probe(
            "i32.const 32 i32.const 1 call $write_result i32.const 3 call $exit_early unreachable",
            &[],
        );
        assert!(!exit_revert.success);
        assert_eq!(
            exit_revert.output,
            vec![1],
            "revert data survives exit_early"
        );
        let status = probe(
            "i32.const 32 i32.const 1 call $write_result i32.const 2",
            &[],
        );
        assert!(!status.success);
        assert_eq!(status.output, vec![1]);
        let trap = probe(
            "i32.const 32 i32.const 1 call $write_result unreachable",
            &[],
        );
        assert!(!trap.success);
        assert!(trap.output.is_empty(), "a trap returns no data");
        let out_of_bounds = probe(
            "i32.const 70000 i32.const 4 call $write_result i32.const 0",
            &[],
        );
        assert!(!out_of_bounds.success);
        let world = World::new();
        world.gas.set(20_000);
        world.deploy(PROBE, &full_module("(loop br 0) i32.const 0"));
        let endless = world.call(ALICE, PROBE, &[]);
        assert!(!endless.success, "runs out of ink");
    });
}

#[test]
fn context_getters() {
    on_big_stack(|| {
        assert_eq!(
            &probe_bytes("i32.const 1024 call $msg_sender", 20)[..],
            ALICE.as_slice()
        );
        assert_eq!(
            &probe_bytes("i32.const 1024 call $contract_address", 20)[..],
            PROBE.as_slice()
        );
        assert_eq!(
            probe_bytes("i32.const 1024 call $msg_value", 32),
            vec![0; 32]
        );
        assert_eq!(
            probe_bytes("i32.const 1024 call $tx_origin", 20),
            vec![0; 20]
        );
        assert_eq!(
            probe_bytes("i32.const 1024 call $block_coinbase", 20),
            vec![0; 20]
        );
        let number = probe_bytes("i32.const 1024 call $block_number i64.store", 8);
        assert_eq!(u64::from_le_bytes(number.try_into().unwrap()), 7);
        let timestamp = probe_bytes("i32.const 1024 call $block_timestamp i64.store", 8);
        assert_eq!(
            u64::from_le_bytes(timestamp.try_into().unwrap()),
            1_700_000_000
        );
        let chain = probe_bytes("i32.const 1024 call $chainid i64.store", 8);
        assert_eq!(u64::from_le_bytes(chain.try_into().unwrap()), 412_346);
        let ink_price = probe_bytes("i32.const 1024 call $tx_ink_price i32.store", 4);
        assert_eq!(
            u32::from_le_bytes(ink_price.try_into().unwrap()),
            pond_devnode::stylus::INK_PRICE
        );
        let reentrant = probe_bytes("i32.const 1024 call $msg_reentrant i32.store", 4);
        assert_eq!(reentrant, vec![0; 4]);
        // Gas left is positive and shrinks as the program runs; ink is gas × ink price.
        let gas = probe_bytes(
            "i32.const 1024 call $evm_gas_left i64.store
             i32.const 1032 call $evm_gas_left i64.store
             i32.const 1040 call $evm_ink_left i64.store",
            24,
        );
        let first = u64::from_le_bytes(gas[0..8].try_into().unwrap());
        let second = u64::from_le_bytes(gas[8..16].try_into().unwrap());
        let ink = u64::from_le_bytes(gas[16..24].try_into().unwrap());
        assert!(first > 0 && second <= first);
        assert!(ink <= second * u64::from(pond_devnode::stylus::INK_PRICE) && ink > 0);
        assert!(probe("i32.const 1 call $pay_for_memory_grow i32.const 0", &[]).success);
        assert!(
            probe(
                "i32.const 32 i32.const 1 call $log_txt i32.const 5 call $log_i32 i32.const 0",
                &[]
            )
            .success
        );
    });
}

#[test]
fn keccak_and_math_match_the_evm() {
    on_big_stack(|| {
        let hash = probe_bytes(
            "i32.const 32 i32.const 1 i32.const 1024 call $native_keccak256",
            32,
        );
        assert_eq!(hash, keccak256([1u8]).to_vec());
        // Operands: a at 1024, b at 1056, m at 1088, written by the module from calldata.
        let run = |op: &str, a: U256, b: U256, m: U256| -> U256 {
            let mut calldata = Vec::new();
            for v in [a, b, m] {
                calldata.extend_from_slice(&v.to_be_bytes::<32>());
            }
            let body = format!(
                "i32.const 1024 call $read_args {op} i32.const 1024 i32.const 32 call $write_result i32.const 0"
            );
            U256::from_be_slice(ok(&probe(&body, &calldata)))
        };
        let (a, b, m) = (
            U256::from(1_000_003u64),
            U256::from(97u64),
            U256::from(1_009u64),
        );
        assert_eq!(
            run("i32.const 1024 i32.const 1056 call $math_div", a, b, m),
            a / b
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 call $math_div",
                a,
                U256::ZERO,
                m
            ),
            U256::ZERO
        );
        assert_eq!(
            run("i32.const 1024 i32.const 1056 call $math_mod", a, b, m),
            a % b
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 call $math_mod",
                a,
                U256::ZERO,
                m
            ),
            U256::ZERO
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 call $math_pow",
                U256::from(3),
                U256::from(5),
                m
            ),
            U256::from(243)
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 call $math_pow",
                U256::from(2),
                U256::from(256),
                m
            ),
            U256::ZERO
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 i32.const 1088 call $math_add_mod",
                U256::MAX,
                U256::MAX,
                m
            ),
            U256::MAX.add_mod(U256::MAX, m)
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 i32.const 1088 call $math_mul_mod",
                U256::MAX,
                b,
                m
            ),
            U256::MAX.mul_mod(b, m)
        );
        assert_eq!(
            run(
                "i32.const 1024 i32.const 1056 i32.const 1088 call $math_mul_mod",
                a,
                b,
                U256::ZERO
            ),
            U256::ZERO
        );
    });
}

#[test]
fn accounts_transient_storage_and_logs() {
    on_big_stack(|| {
        // ALICE's balance (12 345) read at 1024; the address comes from calldata.
        let mut calldata = vec![0u8; 12];
        calldata.extend_from_slice(ALICE.as_slice());
        let out = probe(
            "i32.const 1000 call $read_args i32.const 1012 i32.const 1024 call $account_balance
             i32.const 1024 i32.const 32 call $write_result i32.const 0",
            &calldata,
        );
        assert_eq!(U256::from_be_slice(ok(&out)), U256::from(12_345));
        // Code size and hash of the probe itself (a program) and of ALICE (none).
        let size = probe_bytes("i32.const 0 call $contract_address i32.const 1024 i32.const 0 call $account_code_size i32.store", 4);
        assert_eq!(u32::from_le_bytes(size.try_into().unwrap()), 32);
        let code = probe_bytes("i32.const 0 call $contract_address i32.const 1024 i32.const 0 i32.const 30 i32.const 1100 call $account_code drop i32.const 0 i32.const 2 i32.const 10 i32.const 1024 call $account_code drop", 10);
        assert_eq!(code.len(), 10);
        let partial = probe_bytes("i32.const 0 call $contract_address i32.const 1024 i32.const 0 i32.const 30 i32.const 100 i32.const 2000 call $account_code i32.store", 4);
        assert_eq!(
            u32::from_le_bytes(partial.try_into().unwrap()),
            2,
            "copies only what exists past the offset"
        );
        let hash = probe_bytes(
            "i32.const 0 call $contract_address i32.const 0 i32.const 1024 call $account_codehash",
            32,
        );
        assert_ne!(hash, vec![0; 32]);
        // Transient storage round-trips within a frame.
        let transient = probe_bytes("i32.const 0 i32.const 32 call $transient_store_bytes32 i32.const 0 i32.const 1024 call $transient_load_bytes32", 32);
        assert_eq!(transient, slot1().to_vec());
        // Logs with zero to four topics carry the rest as data.
        let world = World::new();
        world.deploy(PROBE, &full_module("i32.const 32 i32.const 40 i32.const 1 call $emit_log i32.const 32 i32.const 3 i32.const 0 call $emit_log i32.const 0"));
        assert!(world.call(ALICE, PROBE, &[]).success);
        let logs = world.state.borrow().logs.clone();
        assert_eq!(logs[0].1, vec![slot1()]);
        assert_eq!(logs[0].2, vec![0u8; 8]);
        assert!(logs[1].1.is_empty());
        assert_eq!(logs[1].2, vec![1, 0, 0]);
        let short = probe(
            "i32.const 32 i32.const 40 i32.const 2 call $emit_log i32.const 0",
            &[],
        );
        assert!(!short.success, "a log shorter than its topics traps");
    });
}

#[test]
fn nested_calls_delegate_and_return_data() {
    on_big_stack(|| {
        let world = World::new();
        let callee = Address::repeat_byte(0x55);
        // The callee stores a one in slot 0 of whatever storage it runs in and returns "ok!".
        world.deploy(
            callee,
            &full_module(
                r#"i32.const 0 i32.const 32 call $storage_cache_bytes32 i32.const 1 call $storage_flush_cache
                   i32.const 2000 i32.const 0x216b6f i32.store
                   i32.const 2000 i32.const 3 call $write_result i32.const 0"#,
            ),
        );
        // The caller delegate-calls the callee (address from calldata at 1000..1020),
        // then returns bytes 1..3 of the return data and the return data size.
        world.deploy(
            PROBE,
            &full_module(
                r#"i32.const 1000 call $read_args
                   i32.const 1000 i32.const 0 i32.const 0 i64.const 1000000 i32.const 1100 call $delegate_call_contract drop
                   i32.const 1200 i32.const 1 i32.const 10 call $read_return_data drop
                   i32.const 1202 call $return_data_size i32.store8
                   i32.const 1200 i32.const 3 call $write_result i32.const 0"#,
            ),
        );
        let out = world.call(ALICE, PROBE, callee.as_slice());
        assert_eq!(ok(&out), b"k!\x03");
        // Delegate call: the write landed in the caller's storage, not the callee's.
        assert_eq!(world.storage(PROBE).get(&B256::ZERO), Some(&slot1()));
        assert!(world.storage(callee).is_empty());
        // In a static frame the delegate-called write is refused: the callee
        // fails, the caller goes on, and no storage changes.
        let fresh = World::new();
        fresh.deploy(callee, &world.code_of(callee));
        fresh.deploy(PROBE, &world.code_of(PROBE));
        let out = fresh.frame(ALICE, PROBE, PROBE, callee.as_slice(), U256::ZERO, true);
        assert!(out.success);
        assert!(fresh.storage(PROBE).is_empty());
        // A static frame may not create contracts or store transient values.
        let world = World::new();
        world.deploy(PROBE, &full_module("i32.const 0 i32.const 0 i32.const 64 i32.const 1024 i32.const 1100 call $create1 i32.const 0"));
        assert!(
            !world
                .frame(ALICE, PROBE, PROBE, &[], U256::ZERO, true)
                .success
        );
        world.deploy(
            PROBE,
            &full_module("i32.const 0 i32.const 32 call $transient_store_bytes32 i32.const 0"),
        );
        assert!(
            !world
                .frame(ALICE, PROBE, PROBE, &[], U256::ZERO, true)
                .success
        );
    });
}

/// A call's deadline stops a program however tight its loop: a frame with
/// gas for hours is stopped at its deadline, all its gas spent, and the
/// meter says why (issue 16, item 11).
#[test]
fn a_program_is_stopped_at_its_calls_deadline() {
    on_big_stack(|| {
        let mut world = World::new();
        world.meter = std::sync::Arc::new(TxMeter::with_deadline(
            std::time::Instant::now() + std::time::Duration::from_millis(300),
        ));
        world.gas.set(1_000_000_000_000);
        world.deploy(PROBE, &module("(loop br 0) i32.const 0", ""));
        let started = std::time::Instant::now();
        let out = world.call(ALICE, PROBE, &[]);
        assert!(!out.success);
        assert_eq!(out.gas_used, 1_000_000_000_000, "all spent, as out of ink");
        assert!(world.meter.timed_out());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    });
}

/// Memory follows Nitro's model (issue 16, item 12): pages beyond the free
/// ones are charged as they open; a program cannot grow to 1 GiB (it runs
/// out of ink, all gas spent); and the 8 MiB limit counts the pages of
/// every open frame of the transaction: a callee that fits alone fails
/// under a caller that holds 100 pages.
#[test]
fn memory_is_charged_as_it_opens_and_bounded_across_frames() {
    on_big_stack(|| {
        let grow = |pages: u32| {
            module(
                &format!(
                    "i32.const {pages} memory.grow i32.const -1 i32.eq if unreachable end i32.const 0"
                ),
                "",
            )
        };
        let world = World::new();
        world.deploy(PROBE, &grow(0));
        let base = world.call(ALICE, PROBE, &[]);
        assert!(base.success);
        world.deploy(PROBE, &grow(10));
        let ten = world.call(ALICE, PROBE, &[]);
        assert!(ten.success);
        assert!(
            ten.gas_used >= base.gas_used + 9 * pond_devnode::stylus::meter::PAGE_GAS,
            "{} vs {}",
            ten.gas_used,
            base.gas_used
        );
        world.deploy(PROBE, &grow(16_383));
        let huge = world.call(ALICE, PROBE, &[]);
        assert!(!huge.success, "1 GiB refused");
        assert_eq!(huge.gas_used, world.gas.get(), "out of ink spends it all");

        let callee = Address::repeat_byte(0x98);
        let world = World::new();
        world.deploy(callee, &grow(39));
        assert!(world.call(ALICE, callee, &[]).success, "40 pages alone fit");
        // The caller holds `pages` + 1 pages, then calls the callee
        // (address in the calldata) and returns the call's status byte.
        let caller = |pages: u32| {
            module(
                &format!(
                    "i32.const 0 call $read_args
                     i32.const {pages} memory.grow drop
                     i32.const 400
                     i32.const 0 i32.const 100 i32.const 0 i32.const 200 i64.const 10000000 i32.const 300 call $call
                     i32.store8
                     i32.const 400 i32.const 1 call $write_result
                     i32.const 0"
                ),
                "",
            )
        };
        world.deploy(PROBE, &caller(49));
        let out = world.call(ALICE, PROBE, callee.as_slice());
        assert_eq!(ok(&out), [0u8].as_slice(), "under 50 pages the callee fits");
        world.deploy(PROBE, &caller(99));
        let out = world.call(ALICE, PROBE, callee.as_slice());
        assert_eq!(
            ok(&out),
            [1u8].as_slice(),
            "the callee failed under 100 pages"
        );
    });
}

/// Nitro's host leaves the storage cache alone around a nested call (the
/// SDK's call helpers flush it themselves): a raw program that caches a
/// write and then calls itself is seen by its reentrant frame without the
/// write, and the write never reaches state unless it is flushed
/// (issue 15, defect 9).
#[test]
fn a_nested_call_does_not_flush_the_callers_storage_cache() {
    on_big_stack(|| {
        let world = World::new();
        world.deploy(
            PROBE,
            &module(
                r#"call $reentrant
                   if (result i32)
                     ;; Reentrant frame: return slot 0 as state has it.
                     i32.const 200 i32.const 500 call $load
                     i32.const 500 i32.const 32 call $write_result
                     i32.const 0
                   else
                     ;; Cache slot 0 := 0x01…, unflushed; call itself.
                     i32.const 200 i32.const 32 call $cache
                     i32.const 0 call $this
                     i32.const 0 i32.const 0 i32.const 0 i32.const 64 i64.const 1000000 i32.const 96 call $call
                     drop
                     i32.const 400 i32.const 0 call $return_data_size call $read_return_data
                     i32.const 400 call $return_data_size call $write_result drop
                     i32.const 0
                   end"#,
                r#"(import "vm_hooks" "read_return_data" (func $read_return_data (param i32 i32 i32) (result i32)))
                   (import "vm_hooks" "return_data_size" (func $return_data_size (result i32)))"#,
            ),
        );
        let out = world.call(ALICE, PROBE, &[]);
        assert_eq!(
            ok(&out),
            [0u8; 32],
            "the callee did not see the cached write"
        );
        assert!(
            world.storage(PROBE).is_empty(),
            "an unflushed write never reaches state"
        );
    });
}
