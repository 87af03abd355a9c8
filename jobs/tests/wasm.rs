//! The WASM executor against hostile and well-behaved modules: fuel and
//! memory limits, paths out of its directories, host-call loops, output
//! budgets, and determinism (clock, random bytes, the same hash twice).

use pond_jobs::outputs::Outputs;
use pond_jobs::wasm::{run, InputFiles, WasmError, WasmRun};
use pond_jobs::{JobSpec, RunLimits};
use pond_store::ContentHash;

/// A module from WebAssembly text (the WASI imports it needs are declared
/// by `imports`).
fn module(imports: &str, body: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            {body})"#
    );
    match wat::parse_str(&text) {
        Ok(bytes) => bytes,
        Err(e) => panic!("bad test module: {e}\n{text}"),
    }
}

const PROC_EXIT: &str = r#"(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#;
const PATH_OPEN: &str = r#"(import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#;
const FD_WRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))"#;
const RANDOM: &str = r#"(import "wasi_snapshot_preview1" "random_get"
    (func $random (param i32 i32) (result i32)))"#;
const CLOCK: &str = r#"(import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock (param i32 i64 i32) (result i32)))"#;
const UNLINK: &str = r#"(import "wasi_snapshot_preview1" "path_unlink_file"
    (func $unlink (param i32 i32 i32) (result i32)))"#;

fn limits(fuel: u64) -> JobSpec {
    let mut spec = JobSpec::exact(vec![]);
    spec.limits = RunLimits {
        fuel,
        memory_bytes: 16 << 20,
        output_bytes: 1 << 20,
        output_files: 16,
        ..RunLimits::default()
    };
    spec
}

fn go(module: &[u8], spec: &JobSpec, seed: u8) -> Result<WasmRun, WasmError> {
    run(
        module,
        &InputFiles::default(),
        ContentHash([seed; 32]),
        spec,
    )
}

#[test]
fn an_endless_loop_stops_at_its_fuel_limit() {
    let endless = module("", r#"(func (export "_start") (loop $l (br $l)))"#);
    let outcome = go(&endless, &limits(1_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::OutOfFuel(1_000_000))),
        "{outcome:?}"
    );

    // A start section runs during instantiation: it is metered too.
    let at_start = module(
        "",
        r#"(func $spin (loop $l (br $l))) (start $spin) (func (export "_start"))"#,
    );
    let outcome = go(&at_start, &limits(1_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::OutOfFuel(_))),
        "{outcome:?}"
    );
}

#[test]
fn host_calls_cost_fuel_by_the_bytes_they_move() {
    // 1 MiB of random bytes per call, forever: without charging host work
    // this would run for a very long time on almost no fuel.
    let greedy = module(
        RANDOM,
        r#"(func (export "_start")
            (loop $l (drop (call $random (i32.const 0) (i32.const 65536))) (br $l)))"#,
    );
    let outcome = go(&greedy, &limits(5_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::OutOfFuel(_))),
        "{outcome:?}"
    );
}

#[test]
fn growing_past_the_memory_limit_fails_with_a_typed_error() {
    // 16 MiB limit; ask for 32 MiB more and trap when refused, as Rust's
    // allocator does.
    let greedy = module(
        "",
        r#"(func (export "_start")
            (if (i32.eq (memory.grow (i32.const 512)) (i32.const -1)) (then unreachable)))"#,
    );
    let outcome = go(&greedy, &limits(1_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::MemoryLimit(_))),
        "{outcome:?}"
    );

    // Declaring too much initial memory is refused before anything runs.
    let huge =
        wat::parse_str(r#"(module (memory (export "memory") 1000) (func (export "_start")))"#)
            .unwrap_or_default();
    let outcome = go(&huge, &limits(1_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::MemoryLimit(_))),
        "{outcome:?}"
    );
}

/// A module that opens `path` from the preopen `dir` (3 = /input,
/// 4 = /output) with `oflags` and exits with the errno.
fn opener(dir: u32, path: &str, oflags: u32) -> Vec<u8> {
    module(
        &format!("{PROC_EXIT}{PATH_OPEN}"),
        &format!(
            r#"(data (i32.const 64) "{path}")
            (func (export "_start")
                (call $exit (call $open (i32.const {dir}) (i32.const 0) (i32.const 64)
                    (i32.const {len}) (i32.const {oflags}) (i64.const -1) (i64.const -1)
                    (i32.const 0) (i32.const 16))))"#,
            len = path.len()
        ),
    )
}

fn exit_code(outcome: Result<WasmRun, WasmError>) -> i32 {
    match outcome {
        Ok(_) => 0,
        Err(WasmError::Exit { code, .. }) => code,
        Err(e) => panic!("expected an exit code: {e}"),
    }
}

#[test]
fn paths_outside_the_job_directories_are_not_reachable() {
    const NOTCAPABLE: i32 = 76;
    const NOENT: i32 = 44;
    const ROFS: i32 = 69;
    let spec = limits(1_000_000);
    for path in [
        "../etc/passwd",
        "/etc/passwd",
        "..",
        "./../output/x",
        "../../../../etc",
    ] {
        let code = exit_code(go(&opener(3, path, 0), &spec, 0));
        assert_eq!(code, NOTCAPABLE, "{path}");
    }
    // Not there at all (there are no links to follow to the host either).
    assert_eq!(exit_code(go(&opener(3, "etc/passwd", 0), &spec, 0)), NOENT);
    // /input is read-only: creating a file there is refused.
    assert_eq!(exit_code(go(&opener(3, "new", 1), &spec, 0)), ROFS);
    // /output accepts it.
    assert_eq!(exit_code(go(&opener(4, "new", 1), &spec, 0)), 0);
    // A descriptor that is not a directory is refused.
    assert_eq!(exit_code(go(&opener(99, "x", 0), &spec, 0)), 8);
}

#[test]
fn the_output_budget_holds() {
    // Create /output/big, then write 4 KiB to it 1000 times (4 MB > 1 MiB):
    // exits with the errno of the first refused write.
    let writer = module(
        &format!("{PROC_EXIT}{PATH_OPEN}{FD_WRITE}"),
        r#"(data (i32.const 64) "big")
        (data (i32.const 32) "\00\10\00\00\00\10\00\00")
        (func (export "_start") (local $fd i32) (local $n i32) (local $e i32)
            (drop (call $open (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 3)
                (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
            (local.set $fd (i32.load (i32.const 16)))
            (loop $l
                (local.set $e (call $write (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 24)))
                (if (local.get $e) (then (call $exit (local.get $e))))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $n) (i32.const 1000)))))"#,
    );
    const NOSPC: i32 = 51;
    assert_eq!(exit_code(go(&writer, &limits(100_000_000), 0)), NOSPC);

    // Creating and removing files in a loop stops at the file limit (16).
    let churn = module(
        &format!("{PROC_EXIT}{PATH_OPEN}{UNLINK}"),
        r#"(data (i32.const 64) "tmp")
        (func (export "_start") (local $e i32)
            (loop $l
                (local.set $e (call $open (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 3)
                    (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
                (if (local.get $e) (then (call $exit (local.get $e))))
                (drop (call $unlink (i32.const 4) (i32.const 64) (i32.const 3)))
                (br $l)))"#,
    );
    assert_eq!(exit_code(go(&churn, &limits(100_000_000), 0)), NOSPC);
}

#[test]
fn hostile_sizes_and_offsets_get_an_errno_not_a_host_panic() {
    const SET_SIZE: &str = r#"(import "wasi_snapshot_preview1" "fd_filestat_set_size"
        (func $size (param i32 i64) (result i32)))"#;
    const PWRITE: &str = r#"(import "wasi_snapshot_preview1" "fd_pwrite"
        (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))"#;
    // Open /output/f, then: resize it to 2^64 - 1; write at offset -16;
    // exit with the sum of the two errnos (both must be refused).
    let hostile = module(
        &format!("{PROC_EXIT}{PATH_OPEN}{SET_SIZE}{PWRITE}"),
        r#"(data (i32.const 64) "f")
        (data (i32.const 32) "\00\01\00\00\01\00\00\00")
        (func (export "_start") (local $fd i32)
            (drop (call $open (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 1)
                (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
            (local.set $fd (i32.load (i32.const 16)))
            (call $exit (i32.add
                (call $size (local.get $fd) (i64.const -1))
                (call $pwrite (local.get $fd) (i32.const 32) (i32.const 1) (i64.const -16) (i32.const 24)))))"#,
    );
    let code = exit_code(go(&hostile, &limits(10_000_000), 0));
    assert!(code > 0, "both refused with an errno, got {code}");

    // Growing and shrinking a file in a loop costs fuel by the bytes it
    // zeroes: 1 MiB each time, so it stops quickly.
    let churn = module(
        &format!("{PATH_OPEN}{SET_SIZE}"),
        r#"(data (i32.const 64) "f")
        (func (export "_start") (local $fd i32)
            (drop (call $open (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 1)
                (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
            (local.set $fd (i32.load (i32.const 16)))
            (loop $l
                (drop (call $size (local.get $fd) (i64.const 1048576)))
                (drop (call $size (local.get $fd) (i64.const 0)))
                (br $l)))"#,
    );
    let outcome = go(&churn, &limits(10_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::OutOfFuel(_))),
        "{outcome:?}"
    );

    // A write of 1024 empty buffers, forever: each buffer costs a call.
    let empty = module(
        FD_WRITE,
        r#"(func (export "_start")
            (loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1024) (i32.const 60000)))
                (br $l)))"#,
    );
    let outcome = go(&empty, &limits(10_000_000), 0);
    assert!(
        matches!(outcome, Err(WasmError::OutOfFuel(_))),
        "{outcome:?}"
    );
}

/// Writes 32 random bytes and the clock to stdout and to /output/r.
fn entropy_module() -> Vec<u8> {
    module(
        &format!("{PATH_OPEN}{FD_WRITE}{RANDOM}{CLOCK}"),
        r#"(data (i32.const 64) "r")
        (data (i32.const 32) "\00\01\00\00\28\00\00\00")
        (func (export "_start") (local $fd i32)
            (drop (call $random (i32.const 256) (i32.const 32)))
            (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 288)))
            (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 24)))
            (drop (call $open (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 1)
                (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
            (local.set $fd (i32.load (i32.const 16)))
            (drop (call $write (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 24))))"#,
    )
}

#[test]
fn clock_and_random_bytes_are_fixed_by_the_input_hash() {
    let spec = limits(1_000_000);
    let entropy = entropy_module();
    let first = go(&entropy, &spec, 1).unwrap_or_else(|e| panic!("{e}"));
    let again = go(&entropy, &spec, 1).unwrap_or_else(|e| panic!("{e}"));
    let other = go(&entropy, &spec, 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.stdout.len(), 40);
    assert_eq!(first.stdout, again.stdout);
    assert_eq!(first.manifest.hash(), again.manifest.hash());
    assert_eq!(first.fuel_used, again.fuel_used);
    assert_ne!(
        first.stdout[..32],
        other.stdout[..32],
        "random bytes follow the seed"
    );
    assert_eq!(first.stdout[32..], other.stdout[32..], "the clock does not");
    let clock = u64::from_le_bytes(first.stdout[32..40].try_into().unwrap_or_default());
    assert_eq!(clock, pond_jobs::wasm::wasi::FIXED_TIME_NS);
    assert_eq!(first.outputs.get("r"), Some(&first.stdout[..]));
}

#[test]
fn modules_that_are_not_wasi_jobs_are_refused() {
    let spec = limits(1_000_000);
    let sneaky = module(
        r#"(import "env" "host_time" (func $t (result i64)))"#,
        r#"(func (export "_start"))"#,
    );
    assert!(matches!(go(&sneaky, &spec, 0), Err(WasmError::Module(_))));
    let no_start = module("", r#"(func (export "main"))"#);
    assert!(matches!(go(&no_start, &spec, 0), Err(WasmError::Module(_))));
    assert!(matches!(
        go(b"not wasm", &spec, 0),
        Err(WasmError::Module(_))
    ));
    let traps = module("", r#"(func (export "_start") unreachable)"#);
    assert!(matches!(go(&traps, &spec, 0), Err(WasmError::Trap { .. })));
}

#[test]
fn outputs_are_written_atomically_and_never_over_anything() {
    let dir = pond_jobs::testkit::scratch();
    let outputs = Outputs::new(vec![
        ("b/c.txt".into(), b"c".to_vec()),
        ("a.txt".into(), b"a".to_vec()),
    ]);
    let to = dir.path().join("out");
    let tree = outputs.write_to(&to).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tree.entries().len(), 2);
    assert_eq!(std::fs::read(to.join("b/c.txt")).ok(), Some(b"c".to_vec()));
    let again = outputs.write_to(&to);
    assert!(matches!(
        again,
        Err(pond_jobs::outputs::OutputError::Exists(_))
    ));
    let bad = Outputs::new(vec![("x/".into(), vec![])]);
    assert!(bad.write_to(&dir.path().join("bad")).is_err());
    assert!(!dir.path().join("bad").exists());
    assert!(!dir.path().join("bad.partial").exists());
}
