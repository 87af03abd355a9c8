//! The shipped example jobs, built for `wasm32-wasip1` with their
//! documented command and run as a provider runs them: each result hash is
//! pinned here, so any change to the executor that would change a result
//! (and so split validators from providers) fails this test. Also the two
//! determinism classes, as a validator applies them.

use pond_jobs::run::{run_job, RunReport};
use pond_jobs::testkit::{example_dir, example_wasm, scratch, ALIGN_RESULT, INFER_RESULT};
use pond_jobs::verify::{claimed_tree, compare, vote, Side, Verdict, VerifyError};
use pond_jobs::{JobModule, RunError};
use std::path::Path;

fn run_example(name: &str, out: &Path) -> RunReport {
    let module = JobModule::read_wasm(&example_wasm(name)).unwrap_or_else(|e| panic!("{e}"));
    run_job(&module, &example_dir(name).join("input"), out, None)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_alignment_example_finds_the_homologs_and_its_result_is_pinned() {
    let dir = scratch();
    let report = run_example("align", &dir.path().join("out"));
    assert_eq!(report.result_hash.to_string(), ALIGN_RESULT);
    let tsv = std::fs::read_to_string(dir.path().join("out/alignments.tsv")).unwrap_or_default();
    // The six planted homologs outscore every random sequence.
    let top: Vec<&str> = tsv.lines().skip(1).take(6).collect();
    assert!(top.iter().all(|l| l.starts_with("homolog_")), "{tsv}");
    assert_eq!(tsv.lines().count(), 25);
}

#[test]
fn the_inference_example_classifies_the_spiral_and_its_result_is_pinned() {
    let dir = scratch();
    let report = run_example("infer", &dir.path().join("out"));
    assert_eq!(report.result_hash.to_string(), INFER_RESULT);
    let accuracy = std::fs::read_to_string(dir.path().join("out/accuracy.txt")).unwrap_or_default();
    let (right, total) = accuracy.trim().split_once('/').unwrap_or(("0", "1"));
    let (right, total): (u32, u32) = (right.parse().unwrap_or(0), total.parse().unwrap_or(1));
    assert!(right * 100 >= total * 90, "accuracy {accuracy}");
}

#[test]
fn the_same_job_twice_gives_the_same_result() {
    let dir = scratch();
    let first = run_example("align", &dir.path().join("one"));
    let second = run_example("align", &dir.path().join("two"));
    assert_eq!(first.result_hash, second.result_hash);
    assert_eq!(first.fuel_used, second.fuel_used);
    // Outputs never overwrite anything.
    let module = JobModule::read_wasm(&example_wasm("align")).unwrap_or_else(|e| panic!("{e}"));
    let again = run_job(
        &module,
        &example_dir("align").join("input"),
        &dir.path().join("one"),
        None,
    );
    assert!(matches!(again, Err(RunError::Output(_))), "{again:?}");
}

#[test]
fn a_job_over_its_fuel_limit_stops_and_leaves_nothing() {
    let dir = scratch();
    let input = dir.path().join("input");
    copy_dir(&example_dir("align").join("input"), &input);
    let spec = std::fs::read_to_string(input.join("pond-job.json")).unwrap_or_default();
    std::fs::write(
        input.join("pond-job.json"),
        spec.replace("2000000000", "1000000"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let module = JobModule::read_wasm(&example_wasm("align")).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let outcome = run_job(&module, &input, &out, None);
    assert!(
        matches!(
            outcome,
            Err(RunError::Wasm(pond_jobs::wasm::WasmError::OutOfFuel(
                1_000_000
            )))
        ),
        "{outcome:?}"
    );
    assert!(!out.exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Changes every number in `predictions.csv` by `delta` (as a GPU might).
fn perturb(dir: &Path, delta: f64) {
    let path = dir.join("predictions.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<String> = line
            .split(',')
            .map(|f| match f.parse::<f64>() {
                Ok(v) if n > 0 && f.contains('.') => format!("{:.6}", v + delta),
                _ => f.to_owned(),
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("{e}"));
}

/// A spec whose (default) output limits bound the claimed trees.
fn output_limits() -> pond_jobs::JobSpec {
    pond_jobs::JobSpec::exact(vec![])
}

#[test]
fn tolerant_jobs_agree_within_the_comparators_tolerance_and_exact_ones_do_not() {
    let dir = scratch();
    // The inference job's output, as a provider and as a validator made it.
    let own_dir = dir.path().join("own");
    let own = run_example("infer", &own_dir);
    let provider_dir = dir.path().join("provider");
    copy_dir(&own_dir, &provider_dir);
    perturb(&provider_dir, 2e-5);
    let provider =
        claimed_tree(&provider_dir, None, &output_limits()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(provider.hash(), own.result_hash);

    // The input tree of a tolerant job names the comparator inside it.
    let input = dir.path().join("input");
    copy_dir(&example_dir("infer").join("input"), &input);
    std::fs::copy(example_wasm("compare-csv"), input.join("compare.wasm"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        input.join("pond-job.json"),
        r#"{"version":1,"args":["model.txt","points.csv"],
            "determinism":{"tolerant":{"comparator":"compare.wasm","args":["1e-4","1e-3"]}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (input_tree, tolerant) =
        pond_jobs::run::read_input(&input).unwrap_or_else(|e| panic!("{e}"));
    let side = |dir, tree| Side { dir, tree };
    let verdict = compare(
        side(&input, &input_tree),
        &tolerant,
        side(&provider_dir, &provider),
        side(&own_dir, &own.output),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verdict, Verdict::Agree);
    assert_eq!(
        vote(&verdict, provider.hash(), own.result_hash),
        provider.hash()
    );

    // The same small difference under the exact class: disagree, vote own.
    let verdict = compare(
        side(&input, &input_tree),
        &pond_jobs::JobSpec::exact(vec![]),
        side(&provider_dir, &provider),
        side(&own_dir, &own.output),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(verdict, Verdict::Disagree(_)));
    assert_eq!(
        vote(&verdict, provider.hash(), own.result_hash),
        own.result_hash
    );

    // A larger difference is outside the tolerance.
    let far_dir = dir.path().join("far");
    copy_dir(&own_dir, &far_dir);
    perturb(&far_dir, 0.05);
    let far = claimed_tree(&far_dir, None, &output_limits()).unwrap_or_else(|e| panic!("{e}"));
    let verdict = compare(
        side(&input, &input_tree),
        &tolerant,
        side(&far_dir, &far),
        side(&own_dir, &own.output),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Verdict::Disagree(reason) = verdict else {
        panic!("0.05 off agreed");
    };
    assert!(reason.contains("predictions.csv"), "{reason}");

    // Claimed outputs that do not hash to the claim are refused.
    let wrong = claimed_tree(&far_dir, Some(provider.hash()), &output_limits());
    assert!(matches!(wrong, Err(VerifyError::NotTheClaim { .. })));
}

/// A comparator that traps when the first tree holds `evil`, and otherwise
/// answers `agree`.
fn fragile_comparator() -> Vec<u8> {
    let text = r#"(module
        (import "wasi_snapshot_preview1" "path_open"
            (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write"
            (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "a/evil")
        (data (i32.const 80) "verdict")
        (data (i32.const 96) "agree")
        (data (i32.const 32) "\60\00\00\00\05\00\00\00")
        (func (export "_start")
            (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 6)
                    (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
                (then unreachable))
            (drop (call $open (i32.const 4) (i32.const 0) (i32.const 80) (i32.const 7)
                (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
            (drop (call $write (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 24)))))"#;
    wat::parse_str(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn outputs_that_break_the_comparator_are_voted_down_not_left_unjudged() {
    let dir = scratch();
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("cmp.wasm"), fragile_comparator()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        input.join("pond-job.json"),
        r#"{"version":1,"determinism":{"tolerant":{"comparator":"cmp.wasm"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (input_tree, spec) = pond_jobs::run::read_input(&input).unwrap_or_else(|e| panic!("{e}"));
    let own_dir = dir.path().join("own");
    let evil_dir = dir.path().join("evil");
    for (at, name) in [(&own_dir, "result.txt"), (&evil_dir, "evil")] {
        std::fs::create_dir(at).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(at.join(name), "x").unwrap_or_else(|e| panic!("{e}"));
    }
    let own = claimed_tree(&own_dir, None, &spec).unwrap_or_else(|e| panic!("{e}"));
    let evil = claimed_tree(&evil_dir, None, &spec).unwrap_or_else(|e| panic!("{e}"));
    let side = |dir, tree| Side { dir, tree };
    let verdict = compare(
        side(&input, &input_tree),
        &spec,
        side(&evil_dir, &evil),
        side(&own_dir, &own),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Verdict::Disagree(reason) = verdict else {
        panic!("outputs that crash the comparator were accepted");
    };
    assert!(reason.contains("comparator fails"), "{reason}");

    // A comparator that fails on the validator's own outputs too is the
    // job's fault: an error, never a vote.
    let also_evil_dir = dir.path().join("also-evil");
    std::fs::create_dir(&also_evil_dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(also_evil_dir.join("evil"), "y").unwrap_or_else(|e| panic!("{e}"));
    let also_evil = claimed_tree(&also_evil_dir, None, &spec).unwrap_or_else(|e| panic!("{e}"));
    let broken = compare(
        side(&input, &input_tree),
        &spec,
        side(&evil_dir, &evil),
        side(&also_evil_dir, &also_evil),
    );
    assert!(
        matches!(broken, Err(VerifyError::Comparator(_))),
        "{broken:?}"
    );
}
