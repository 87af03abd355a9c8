//! Activation rules: every Pond contract passes; a crafted module breaking
//! each rule is refused with that rule's reason.

use pond_devnode::activation::{validate, ActivationError};

/// A minimal module that passes, with `extra` spliced into its body.
fn module(extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "vm_hooks" "read_args" (func (param i32)))
            (import "vm_hooks" "write_result" (func (param i32 i32)))
            (memory (export "memory") 1 128)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0)
            {extra})"#
    ))
    .expect("test module parses")
}

fn refused(wat_text: &str) -> ActivationError {
    validate(&wat::parse_str(wat_text).expect("test module parses"))
        .expect_err("module must be refused")
}

#[test]
fn a_minimal_program_is_accepted() {
    let info = validate(&module("")).unwrap();
    assert_eq!(info.initial_pages, 1);
    assert_eq!(
        info.imports,
        ["vm_hooks.read_args", "vm_hooks.write_result"]
    );
    assert_eq!(info.functions, 1);
}

#[test]
fn every_pond_contract_is_accepted() {
    for contract in pond_contract_code::CONTRACTS {
        let code = pond_stylus_code_roundtrip(contract.wasm);
        let info = validate(&code).unwrap_or_else(|e| panic!("{} refused: {e}", contract.name));
        assert!(
            info.imports.iter().any(|i| i == "vm_hooks.read_args"),
            "{}",
            contract.name
        );
    }
}

/// What activation sees: the module as decompressed from deployable code.
fn pond_stylus_code_roundtrip(wasm: &[u8]) -> Vec<u8> {
    let code = pond_stylus_code::deployable_code(wasm).unwrap();
    pond_stylus_code::module_from_code(&code, pond_stylus_code::MAX_MODULE_SIZE).unwrap()
}

#[test]
fn invalid_bytes_and_disabled_features_are_refused() {
    assert!(matches!(
        validate(b"\0asm\x01\0\0\0garbage"),
        Err(ActivationError::Invalid(_))
    ));
    let floats = module("(func (result f32) f32.const 1.5)");
    assert!(
        matches!(validate(&floats), Err(ActivationError::Invalid(_))),
        "floating point"
    );
    let simd = module("(func (result v128) v128.const i64x2 0 0)");
    assert!(
        matches!(validate(&simd), Err(ActivationError::Invalid(_))),
        "simd"
    );
    let reference_types = module("(func (result externref) ref.null extern)");
    assert!(
        matches!(validate(&reference_types), Err(ActivationError::Invalid(_))),
        "reference types"
    );
    let tail_call = module("(func $f (result i32) return_call $f)");
    assert!(
        matches!(validate(&tail_call), Err(ActivationError::Invalid(_))),
        "tail calls"
    );
    let threads = module("(func (param i32) (result i32) local.get 0 i32.atomic.load)");
    assert!(
        matches!(validate(&threads), Err(ActivationError::Invalid(_))),
        "threads"
    );
    // Accepted features really are accepted.
    let accepted = module(
        "(global (mut i32) (i32.const 0))
         (func (param i32) (result i32) local.get 0 i32.extend8_s)
         (func (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
         (func (result i32 i32) i32.const 1 i32.const 2)",
    );
    validate(&accepted).unwrap();
}

#[test]
fn structural_rules_are_enforced() {
    let start = module("(func $s) (start $s)");
    assert_eq!(validate(&start), Err(ActivationError::StartFunction));
    let no_memory = refused(
        r#"(module (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(no_memory, ActivationError::MemoryCount(0));
    let unexported = refused(
        r#"(module (memory 1) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(unexported, ActivationError::MemoryNotExported);
    let imported_memory = refused(
        r#"(module (import "vm_hooks" "memory" (memory 1)) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert!(matches!(
        imported_memory,
        ActivationError::ForeignImport { .. }
    ));
    let huge = refused(
        r#"(module (memory (export "memory") 129) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(
        huge,
        ActivationError::TooManyPages {
            pages: 129,
            limit: 128
        }
    );
    let no_entry = refused(r#"(module (memory (export "memory") 1))"#);
    assert_eq!(no_entry, ActivationError::MissingEntrypoint);
    let wrong_entry = refused(
        r#"(module (memory (export "memory") 1) (func (export "user_entrypoint") (param i64) (result i32) i32.const 0))"#,
    );
    assert_eq!(wrong_entry, ActivationError::EntrypointType);
    let reserved = module(r#"(global (export "stylus_ink_left") i32 (i32.const 0))"#);
    assert_eq!(
        validate(&reserved),
        Err(ActivationError::ReservedExport("stylus_ink_left".into()))
    );
    let too_large = module(&format!(
        r#"(data (i32.const 0) "{}")"#,
        "x".repeat(140_000)
    ));
    assert!(matches!(
        validate(&too_large),
        Err(ActivationError::TooLarge { .. })
    ));
}

#[test]
fn imports_must_be_known_host_functions_with_their_signature() {
    let foreign = refused(
        r#"(module (import "env" "abort" (func)) (memory (export "memory") 1) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(
        foreign,
        ActivationError::ForeignImport {
            module: "env".into(),
            name: "abort".into()
        }
    );
    let unknown = refused(
        r#"(module (import "vm_hooks" "teleport" (func)) (memory (export "memory") 1) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(
        unknown,
        ActivationError::UnknownImport {
            module: "vm_hooks".into(),
            name: "teleport".into()
        }
    );
    let wrong_signature = refused(
        r#"(module (import "vm_hooks" "block_number" (func (result i32))) (memory (export "memory") 1) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(
        wrong_signature,
        ActivationError::ImportSignature {
            module: "vm_hooks".into(),
            name: "block_number".into()
        }
    );
    let console = refused(
        r#"(module (import "console" "log_i64" (func (param i64))) (import "console" "beep" (func)) (memory (export "memory") 1) (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    );
    assert_eq!(
        console,
        ActivationError::UnknownImport {
            module: "console".into(),
            name: "beep".into()
        }
    );
}
