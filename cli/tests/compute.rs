//! `pond job pack | run --local | verify` and `pond store serve | put |
//! get` as a user runs them: the example alignment job packed, run in two
//! processes to the same pinned result hash, verified against honest and
//! tampered outputs; its inputs published to a store server and fetched
//! back, verified, into an empty store; bad input refused with a reason.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{printed_text, run_pond, Pond};
use pond_jobs::testkit::{example_dir, example_wasm, scratch, ALIGN_RESULT};

fn printed(output: &std::process::Output, label: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(label).map(|r| r.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {label} line in {}", printed_text(output)))
}

fn ok(output: std::process::Output) -> std::process::Output {
    assert!(output.status.success(), "{}", printed_text(&output));
    output
}

fn fails(output: &std::process::Output, says: &str) {
    assert!(
        !output.status.success(),
        "succeeded: {}",
        printed_text(output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[test]
fn a_job_is_packed_run_twice_to_one_hash_and_verified() {
    let dir = scratch();
    let module = example_wasm("align").display().to_string();
    let input = example_dir("align").join("input").display().to_string();
    let at = dir.path();

    let packed = ok(run_pond(at, None, &[], &["job", "pack", &input]));
    let input_hash = String::from_utf8_lossy(&packed.stdout).trim().to_owned();

    // Two processes, one result.
    let run = |out: &str| {
        ok(run_pond(
            at,
            None,
            &[],
            &[
                "job", "run", "--local", &module, "--input", &input, "--output", out,
            ],
        ))
    };
    let first = run("one");
    let second = run("two");
    assert_eq!(printed(&first, "result"), ALIGN_RESULT);
    assert_eq!(printed(&second, "result"), ALIGN_RESULT);
    assert_eq!(printed(&first, "input"), input_hash);
    assert!(at.join("one/alignments.tsv").is_file());

    // The honest outputs agree; the vote is the provider's hash.
    let verified = ok(run_pond(
        at,
        None,
        &[],
        &[
            "job",
            "verify",
            &module,
            "--input",
            &input,
            "--claimed",
            "one",
            "--claimed-hash",
            ALIGN_RESULT,
        ],
    ));
    assert_eq!(printed(&verified, "verdict"), "agree");
    assert_eq!(printed(&verified, "vote"), ALIGN_RESULT);

    // Tampered outputs: they no longer hash to the claim…
    let tsv = at.join("two/alignments.tsv");
    let text = std::fs::read_to_string(&tsv).unwrap_or_default();
    std::fs::write(&tsv, text.replacen("homolog_00", "homolog_99", 1))
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = run_pond(
        at,
        None,
        &[],
        &[
            "job",
            "verify",
            &module,
            "--input",
            &input,
            "--claimed",
            "two",
            "--claimed-hash",
            ALIGN_RESULT,
        ],
    );
    fails(&refused, "not the claimed");
    // …and, taken as they are, they disagree: the vote is the re-run's.
    let disagreed = run_pond(
        at,
        None,
        &[],
        &[
            "job",
            "verify",
            &module,
            "--input",
            &input,
            "--claimed",
            "two",
        ],
    );
    fails(&disagreed, "does not agree");
    assert_eq!(printed(&disagreed, "verdict"), "disagree");
    assert_eq!(printed(&disagreed, "vote"), ALIGN_RESULT);

    // Bad input: a typed reason, nothing written.
    let not_wasm = at.join("job.wasm");
    std::fs::write(&not_wasm, "hello").unwrap_or_else(|e| panic!("{e}"));
    fails(
        &run_pond(
            at,
            None,
            &[],
            &[
                "job", "run", "--local", "job.wasm", "--input", &input, "--output", "x",
            ],
        ),
        "not a WebAssembly module",
    );
    std::fs::create_dir(at.join("bare")).unwrap_or_else(|e| panic!("{e}"));
    fails(
        &run_pond(
            at,
            None,
            &[],
            &[
                "job", "run", "--local", &module, "--input", "bare", "--output", "x",
            ],
        ),
        "pond-job.json",
    );
    fails(
        &run_pond(
            at,
            None,
            &[],
            &[
                "job", "run", "--local", &module, "--input", &input, "--output", "one",
            ],
        ),
        "already exists",
    );
    fails(
        &run_pond(
            at,
            None,
            &[],
            &[
                "job", "run", "--local", "job.exe", "--input", &input, "--output", "x",
            ],
        ),
        "is not a module",
    );
    assert!(!at.join("x").exists());
}

fn same_files(a: &Path, b: &Path) {
    for entry in std::fs::read_dir(a).into_iter().flatten().flatten() {
        let other = b.join(entry.file_name());
        assert_eq!(
            std::fs::read(entry.path()).ok(),
            std::fs::read(&other).ok(),
            "{}",
            other.display()
        );
    }
}

#[test]
fn inputs_are_published_to_a_store_server_and_fetched_back_verified() {
    let dir = scratch();
    let at = dir.path();
    std::fs::write(at.join("token"), "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
    let server_store = at.join("server-store").display().to_string();
    let mut server = Pond::start(
        at,
        "serve.log",
        &[
            "store",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            "token",
            "--store-dir",
            &server_store,
        ],
    );
    let url = server.printed("store", Duration::from_secs(30));
    server.assert_running();
    let input = example_dir("align").join("input").display().to_string();

    // Without the token the server refuses the upload.
    let creator = [("POND_STORE_DIR", "creator-store")];
    let refused = run_pond(
        at,
        None,
        &creator,
        &["store", "put", &input, "--server", &url],
    );
    assert!(!refused.status.success(), "{}", printed_text(&refused));
    let put = ok(run_pond(
        at,
        None,
        &creator,
        &[
            "store",
            "put",
            &input,
            "--server",
            &url,
            "--token-file",
            "token",
        ],
    ));
    let hash = String::from_utf8_lossy(&put.stdout).trim().to_owned();
    let packed = ok(run_pond(at, None, &[], &["job", "pack", &input]));
    assert_eq!(hash, String::from_utf8_lossy(&packed.stdout).trim());

    // A provider with an empty store fetches it by hash from the server.
    let provider = [("POND_STORE_DIR", "provider-store")];
    ok(run_pond(
        at,
        None,
        &provider,
        &["store", "get", &hash, "--server", &url, "--out", "fetched"],
    ));
    same_files(&example_dir("align").join("input"), &at.join("fetched"));
    // A hash nobody has is a clear error.
    let unknown = format!("0x{}", "ab".repeat(32));
    let missing = run_pond(
        at,
        None,
        &provider,
        &["store", "get", &unknown, "--server", &url, "--out", "none"],
    );
    assert!(!missing.status.success());
    assert!(!at.join("none").exists());
    server.kill();
}

#[test]
fn pond_toml_supplies_settings_that_flags_and_the_environment_override() {
    let dir = scratch();
    let at = dir.path();
    let write = |path: &str, text: &str| {
        std::fs::write(at.join(path), text).unwrap_or_else(|e| panic!("{e}"))
    };
    write("data.txt", "some data\n");
    std::fs::create_dir(at.join("conf")).unwrap_or_else(|e| panic!("{e}"));
    write("conf/pond.toml", "store-dir = \"from-config\"\n");
    // A pond.toml in the working directory is not read by itself.
    write("pond.toml", "store-dir = \"planted\"\n");
    let home = at.display().to_string();
    ok(run_pond(
        at,
        None,
        &[("HOME", &home)],
        &["store", "put", "data.txt"],
    ));
    assert!(!at.join("planted").exists(), "./pond.toml was ignored");
    assert!(at.join(".pond/store/blobs").is_dir());
    let config = [("POND_CONFIG", "conf/pond.toml")];
    ok(run_pond(at, None, &config, &["store", "put", "data.txt"]));
    assert!(
        at.join("conf/from-config/blobs").is_dir(),
        "the file's store-dir, relative to the file"
    );
    let both = [
        ("POND_CONFIG", "conf/pond.toml"),
        ("POND_STORE_DIR", "from-env"),
    ];
    ok(run_pond(at, None, &both, &["store", "put", "data.txt"]));
    assert!(
        at.join("from-env/blobs").is_dir(),
        "the environment beats the file"
    );
    ok(run_pond(
        at,
        None,
        &config,
        &["store", "put", "data.txt", "--store-dir", "from-flag"],
    ));
    assert!(at.join("from-flag/blobs").is_dir(), "a flag beats both");

    write("conf/pond.toml", "store_dir = \"x\"\n");
    fails(
        &run_pond(at, None, &config, &["store", "put", "data.txt"]),
        "unknown key `store_dir`",
    );
}
