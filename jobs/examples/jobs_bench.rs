//! Benchmarks of issue 13 (results in `docs/benchmarks.md`):
//!
//! 1. the alignment example under the WASM executor vs. the same code built
//!    natively (the ratio), and instantiate-to-first-instruction time;
//! 2. hashing and storing a 1 GiB tree vs. `sha256sum` over the same files,
//!    and the store's HTTP transfer rate on loopback;
//! 3. the container executor's start-to-exit time for an empty job, next to
//!    a bare `podman run` of the same image.
//!
//! `cargo run --release -p pond-jobs --features testkit --example jobs_bench`
//! (add `-- --no-containers` where podman is not installed).

use pond_jobs::testkit::{busybox_image, example_dir, example_wasm, podman, scratch};
use pond_jobs::wasm::{run, InputFiles};
use pond_jobs::{JobSpec, RunLimits};
use pond_store::http::{router, ServeConfig};
use pond_store::walk::manifest_of_dir;
use pond_store::{ContentHash, Limits, LocalStore, RemoteStore};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

fn must<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The alignment job with every alignment done `repeat` times.
fn alignment(repeat: u32) {
    let module = must("module", std::fs::read(example_wasm("align")));
    let dir = scratch();
    let input = dir.path().join("input");
    must("mkdir", std::fs::create_dir(&input));
    for file in ["query.fasta", "targets.fasta"] {
        must(
            "copy",
            std::fs::copy(
                example_dir("align").join("input").join(file),
                input.join(file),
            ),
        );
    }
    let mut spec = JobSpec::exact(vec![
        "query.fasta".into(),
        "targets.fasta".into(),
        repeat.to_string(),
    ]);
    spec.limits = RunLimits {
        fuel: u64::MAX / 2,
        ..RunLimits::default()
    };
    must(
        "spec",
        std::fs::write(
            input.join("pond-job.json"),
            must("json", serde_json::to_vec(&spec)),
        ),
    );
    let tree = must("tree", manifest_of_dir(&input, &Limits::default()));
    let files = InputFiles::of_tree(&input, &tree);

    let started = Instant::now();
    let wasm = must("wasm run", run(&module, &files, tree.hash(), &spec));
    let under_wasmi = started.elapsed();

    // The same code, built natively in release mode.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--release", "-p", "pond-example-align"])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "native build failed");
    let native_bin = pond_jobs::testkit::repository().join("target/release/pond-example-align");
    let out = dir.path().join("native-out");
    must("mkdir", std::fs::create_dir(&out));
    let started = Instant::now();
    let status = Command::new(&native_bin)
        .args(&spec.args)
        .env("POND_INPUT", &input)
        .env("POND_OUTPUT", &out)
        .stdout(std::process::Stdio::null())
        .status();
    let native = started.elapsed();
    assert!(status.is_ok_and(|s| s.success()), "native run failed");
    let native_tsv = must("native output", std::fs::read(out.join("alignments.tsv")));
    assert_eq!(
        wasm.outputs.get("alignments.tsv"),
        Some(&native_tsv[..]),
        "same result natively"
    );
    println!(
        "| alignment example ×{repeat} (24 targets, {} instructions) | wasmi {} | native {} | ratio {:.1}× |",
        wasm.fuel_used,
        ms(under_wasmi),
        ms(native),
        under_wasmi.as_secs_f64() / native.as_secs_f64()
    );

    // Instantiate to first instruction: a module whose start exits at once.
    let empty = must(
        "wat",
        wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 0))))"#,
        ),
    );
    let times = (0..50)
        .map(|_| {
            let started = Instant::now();
            must(
                "empty run",
                run(&empty, &InputFiles::default(), ContentHash([0; 32]), &spec),
            );
            started.elapsed()
        })
        .collect();
    let small = (0..10)
        .map(|_| {
            let started = Instant::now();
            let spec = JobSpec::exact(vec![]);
            // `align` with no arguments prints its usage and exits 1: the
            // time to load, instantiate and reach `main` of a real module.
            let _ = run(&module, &InputFiles::default(), ContentHash([0; 32]), &spec);
            started.elapsed()
        })
        .collect();
    println!(
        "| instantiate to first instruction (median of 50; of 10 for the {} KiB align module to its usage error) | {} | {} |",
        module.len() / 1024,
        ms(median(times)),
        ms(median(small))
    );
}

/// `count` files of `size` bytes of pseudo-random content under `dir`.
fn make_tree(dir: &Path, count: usize, size: usize) {
    let mut block = vec![0u8; size];
    for k in 0..count {
        let sub = dir.join(format!("part{:02}", k % 8));
        must("mkdir", std::fs::create_dir_all(&sub));
        let mut state = ContentHash::of(&k.to_le_bytes()).0;
        for chunk in block.chunks_mut(32) {
            state = ContentHash::of(&state).0;
            chunk.copy_from_slice(&state[..chunk.len()]);
        }
        must(
            "write",
            std::fs::write(sub.join(format!("file{k:03}.bin")), &block),
        );
    }
}

fn store(rt: &tokio::runtime::Runtime) {
    let dir = scratch();
    let tree_dir = dir.path().join("tree");
    let (count, size) = (64, 16 << 20);
    make_tree(&tree_dir, count, size);
    // Warm the page cache for both sides alike.
    let _ = must("hash", manifest_of_dir(&tree_dir, &Limits::default()));

    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -print0 | sort -z | xargs -0 sha256sum > /dev/null")
        .current_dir(&tree_dir)
        .status();
    let sha256sum = started.elapsed();
    assert!(status.is_ok_and(|s| s.success()), "sha256sum failed");

    let started = Instant::now();
    let tree = must("hash", manifest_of_dir(&tree_dir, &Limits::default()));
    let hashing = started.elapsed();

    let local = Arc::new(must("store", LocalStore::open(dir.path().join("store"))));
    let started = Instant::now();
    let stored = must("put", local.put_dir(&tree_dir, &Limits::default()));
    let storing = started.elapsed();
    assert_eq!(stored.hash(), tree.hash());
    println!(
        "| 1 GiB tree ({count} × {} MiB): sha256sum {} | hash (manifest) {} ({:.2}×) | hash + store {} ({:.2}×) |",
        size >> 20,
        ms(sha256sum),
        ms(hashing),
        hashing.as_secs_f64() / sha256sum.as_secs_f64(),
        ms(storing),
        storing.as_secs_f64() / sha256sum.as_secs_f64()
    );

    // Loopback HTTP: fetch the whole tree into an empty store.
    let (rate, bytes) = rt.block_on(async {
        let listener = must("bind", tokio::net::TcpListener::bind("127.0.0.1:0").await);
        let address = must("address", listener.local_addr());
        let app = router(Arc::clone(&local), ServeConfig::default());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let remote = must(
            "client",
            RemoteStore::new(&format!("http://{address}"), None),
        );
        let fetcher = must("store", LocalStore::open(dir.path().join("fetched")));
        let started = Instant::now();
        let fetched = must(
            "fetch",
            remote
                .fetch_tree(&fetcher, &tree.hash(), &Limits::default())
                .await,
        );
        let elapsed = started.elapsed();
        (
            fetched.total_bytes() as f64 / elapsed.as_secs_f64() / (1 << 20) as f64,
            fetched.total_bytes(),
        )
    });
    println!("| HTTP on loopback: the tree fetched and verified into an empty store ({} MiB) | {rate:.0} MiB/s |", bytes >> 20);
}

fn containers() {
    let runtime = podman();
    let image = busybox_image(&runtime);
    let dir = scratch();
    let input = dir.path().join("input");
    must("mkdir", std::fs::create_dir(&input));
    let spec = JobSpec::exact(vec!["/bin/true".into()]);
    let executor: Vec<Duration> = (0..5)
        .map(|k| {
            let started = Instant::now();
            must(
                "run",
                runtime.run(&image, &input, &spec, &dir.path().join(format!("out{k}"))),
            );
            started.elapsed()
        })
        .collect();
    let bare: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(&runtime.program)
                .envs(runtime.env.iter().map(|(k, v)| (k, v)))
                .args(["run", "--rm", "--pull=never", &image.hex(), "/bin/true"])
                .status();
            assert!(status.is_ok_and(|s| s.success()));
            started.elapsed()
        })
        .collect();
    println!(
        "| empty container job, start to exit (median of 5) | executor {} | bare `podman run --rm` (default network) {} |",
        ms(median(executor)),
        ms(median(bare))
    );
}

fn main() {
    let rt = must(
        "runtime",
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    );
    alignment(20);
    store(&rt);
    if !std::env::args().any(|a| a == "--no-containers") {
        containers();
    }
}
