//! The ArbWasm precompile's logic: activation of a real Pond contract, the
//! data fee and refund, every refusal, the views, expiry and keepalive.

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use pond_devnode::{
    arbwasm::{self, data_fee, ActivationRecord, ArbWasmState, IArbWasm, STYLUS_VERSION},
    stylus::Programs,
};

/// Code by address and activation records by code hash.
#[derive(Default)]
struct Codes(HashMap<Address, Vec<u8>>, HashMap<B256, ActivationRecord>);

impl ArbWasmState for Codes {
    fn code(&mut self, address: Address) -> Vec<u8> {
        self.0.get(&address).cloned().unwrap_or_default()
    }
    fn code_hash(&mut self, address: Address) -> B256 {
        self.0.get(&address).map(keccak256).unwrap_or_default()
    }
    fn record(&mut self, code_hash: &B256) -> Option<ActivationRecord> {
        self.1.get(code_hash).cloned()
    }
    fn set_record(&mut self, code_hash: &B256, record: &ActivationRecord) {
        // Records round-trip through their storage words on chain.
        let (packed, module) = record.to_words();
        let stored = ActivationRecord::from_words(packed, module).expect("a record");
        self.1.insert(*code_hash, stored);
    }
}

const TOKEN: Address = Address::repeat_byte(0x70);
const TWIN: Address = Address::repeat_byte(0x71);
const NOW: u64 = 1_700_000_000;

fn token_module() -> Vec<u8> {
    pond_contract_code::by_package("pond-token")
        .expect("a Pond contract")
        .wasm
        .to_vec()
}

fn setup() -> (Codes, Programs, U256) {
    let wasm = token_module();
    let code = pond_stylus_code::deployable_code(&wasm).unwrap();
    let module = pond_stylus_code::module_from_code(&code, usize::MAX).unwrap();
    let mut codes = Codes::default();
    codes.0.insert(TOKEN, code.clone());
    codes.0.insert(TWIN, code);
    (codes, Programs::new(), data_fee(module.len()))
}

fn activate(
    codes: &mut Codes,
    programs: &Programs,
    value: U256,
    now: u64,
) -> Result<pond_devnode::arbwasm::Output, Vec<u8>> {
    let input = IArbWasm::activateProgramCall { program: TOKEN }.abi_encode();
    arbwasm::call(codes, programs, value, &input, now)
}

#[test]
fn activation_charges_the_data_fee_and_refunds_the_rest() {
    let (mut codes, programs, fee) = setup();
    assert!(fee > U256::ZERO);
    let err = activate(&mut codes, &programs, fee - U256::from(1), NOW).unwrap_err();
    assert_eq!(
        err,
        IArbWasm::ProgramInsufficientValue {
            have: fee - U256::from(1),
            want: fee
        }
        .abi_encode()
    );
    let out = activate(&mut codes, &programs, fee + U256::from(5), NOW).unwrap();
    let returned = IArbWasm::activateProgramCall::abi_decode_returns(&out.data).unwrap();
    assert_eq!((returned.version, returned.dataFee), (STYLUS_VERSION, fee));
    assert_eq!(out.refund, U256::from(5));
    let (topics, data) = &out.logs[0];
    assert_eq!(topics[0], IArbWasm::ProgramActivated::SIGNATURE_HASH);
    assert_eq!(topics[1], keccak256(codes.code(TOKEN)));
    let event = IArbWasm::ProgramActivated::decode_raw_log(topics.iter().copied(), data).unwrap();
    assert_eq!(
        (event.program, event.dataFee, event.version),
        (TOKEN, fee, STYLUS_VERSION)
    );
    // Activation is by code hash: the twin with the same code is active too.
    let mut version = |program| {
        let input = IArbWasm::programVersionCall { program }.abi_encode();
        let out = arbwasm::call(&mut codes, &programs, U256::ZERO, &input, NOW).unwrap();
        IArbWasm::programVersionCall::abi_decode_returns(&out.data).unwrap()
    };
    assert_eq!(version(TWIN), STYLUS_VERSION);
    let err = activate(&mut codes, &programs, fee, NOW).unwrap_err();
    assert_eq!(err, IArbWasm::ProgramUpToDate {}.abi_encode());
    // The compiled module is ready to run.
    let hash = keccak256(codes.code(TOKEN));
    let record = codes.1.get(&hash).unwrap().clone();
    assert_eq!(
        programs
            .prepare(&pond_stylus_code::module_from_code(&codes.code(TOKEN), usize::MAX).unwrap())
            .unwrap(),
        record.module_hash
    );
}

#[test]
fn non_programs_and_invalid_modules_are_refused() {
    let (mut codes, programs, fee) = setup();
    codes.0.insert(TOKEN, vec![0x60, 0x00]);
    let err = activate(&mut codes, &programs, fee, NOW).unwrap_err();
    assert_eq!(err, IArbWasm::ProgramNotWasm {}.abi_encode());
    // Stylus prefix, but a module that breaks a rule (no entry point).
    let bad = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    codes
        .0
        .insert(TOKEN, pond_stylus_code::deployable_code(&bad).unwrap());
    let err = activate(&mut codes, &programs, fee, NOW).unwrap_err();
    let reason = IArbWasm::ProgramInvalid::abi_decode(&err).unwrap().reason;
    assert!(reason.contains("user_entrypoint"), "{reason}");
    // Corrupt compressed data.
    codes
        .0
        .insert(TOKEN, vec![0xEF, 0xF0, 0x00, 0x00, 0xff, 0xff, 0xff]);
    let err = activate(&mut codes, &programs, fee, NOW).unwrap_err();
    assert!(IArbWasm::ProgramInvalid::abi_decode(&err).is_ok());
    // Unknown selectors and malformed input revert without data.
    assert_eq!(
        arbwasm::call(&mut codes, &programs, U256::ZERO, &[1, 2, 3, 4], NOW).unwrap_err(),
        Vec::<u8>::new()
    );
    assert_eq!(
        arbwasm::call(&mut codes, &programs, U256::ZERO, &[], NOW).unwrap_err(),
        Vec::<u8>::new()
    );
}

#[test]
fn views_expiry_and_keepalive() {
    let (mut codes, programs, fee) = setup();
    let hash = keccak256(codes.code(TOKEN));
    let mut call = |input: Vec<u8>, value: U256, now: u64| {
        arbwasm::call(&mut codes, &programs, value, &input, now)
    };
    let not_active = call(
        IArbWasm::codehashVersionCall { codehash: hash }.abi_encode(),
        U256::ZERO,
        NOW,
    )
    .unwrap_err();
    assert_eq!(not_active, IArbWasm::ProgramNotActivated {}.abi_encode());
    let out = call(IArbWasm::stylusVersionCall {}.abi_encode(), U256::ZERO, NOW).unwrap();
    assert_eq!(
        IArbWasm::stylusVersionCall::abi_decode_returns(&out.data).unwrap(),
        STYLUS_VERSION
    );
    call(
        IArbWasm::activateProgramCall { program: TOKEN }.abi_encode(),
        fee,
        NOW,
    )
    .unwrap();
    let out = call(
        IArbWasm::codehashAsmSizeCall { codehash: hash }.abi_encode(),
        U256::ZERO,
        NOW,
    )
    .unwrap();
    assert!(IArbWasm::codehashAsmSizeCall::abi_decode_returns(&out.data).unwrap() > 1_000);
    let out = call(
        IArbWasm::programMemoryFootprintCall { program: TOKEN }.abi_encode(),
        U256::ZERO,
        NOW,
    )
    .unwrap();
    assert!(IArbWasm::programMemoryFootprintCall::abi_decode_returns(&out.data).unwrap() >= 1);
    let out = call(
        IArbWasm::programTimeLeftCall { program: TOKEN }.abi_encode(),
        U256::ZERO,
        NOW + 86_400,
    )
    .unwrap();
    assert_eq!(
        IArbWasm::programTimeLeftCall::abi_decode_returns(&out.data).unwrap(),
        364 * 86_400
    );
    for input in [
        IArbWasm::inkPriceCall {}.abi_encode(),
        IArbWasm::pageLimitCall {}.abi_encode(),
        IArbWasm::expiryDaysCall {}.abi_encode(),
        IArbWasm::programInitGasCall { program: TOKEN }.abi_encode(),
    ] {
        assert_eq!(call(input, U256::ZERO, NOW).unwrap().data.len() % 32, 0);
    }
    // Keepalive: not in the first 31 days, then it renews the lifetime.
    let keepalive = IArbWasm::codehashKeepaliveCall { codehash: hash }.abi_encode();
    let err = call(keepalive.clone(), fee, NOW + 86_400).unwrap_err();
    assert!(IArbWasm::ProgramKeepaliveTooSoon::abi_decode(&err).is_ok());
    let out = call(keepalive, fee, NOW + 40 * 86_400).unwrap();
    assert_eq!(
        out.logs[0].0[0],
        IArbWasm::ProgramLifetimeExtended::SIGNATURE_HASH
    );
    // A year after the renewal the program has expired.
    let expired = call(
        IArbWasm::codehashVersionCall { codehash: hash }.abi_encode(),
        U256::ZERO,
        NOW + 406 * 86_400,
    )
    .unwrap_err();
    assert!(IArbWasm::ProgramExpired::abi_decode(&expired).is_ok());
}
