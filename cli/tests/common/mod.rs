//! Running the `pond` binary as a user does: a child process with its log
//! in a file (shown when a test fails), its printed URLs, plain HTTP.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// POSTs `body` as JSON to `url` (`http://host:port/path`); the response
/// body, or `None` when the server does not answer.
pub(crate) fn post(url: &str, body: &str) -> Option<String> {
    request(url, "POST", Some(body))
}

/// GETs `url` (`http://host:port/path`); the response body, or `None`
/// when the server does not answer.
pub(crate) fn get(url: &str) -> Option<String> {
    request(url, "GET", None)
}

/// One plain HTTP/1.1 request (a JSON body when given).
fn request(url: &str, method: &str, body: Option<&str>) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/')?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body_headers = body.map_or_else(String::new, |b| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        )
    });
    let request = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\n{body_headers}Connection: close\r\n\r\n{}",
        body.unwrap_or_default()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

/// Waits (bounded) until the Prometheus text at `url` shows `metric` at
/// `value`; the text last read.
pub(crate) async fn wait_for_metric(url: &str, metric: &str, value: u64) -> String {
    let line = format!("\n{metric} {value}\n");
    let started = Instant::now();
    loop {
        let text = get(url).unwrap_or_default();
        if text.contains(&line) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{url} never showed {metric} {value}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A running `pond` process.
pub(crate) struct Pond {
    pub(crate) child: Child,
    log_path: PathBuf,
    lines: mpsc::Receiver<String>,
    /// Every line received so far.
    seen: std::cell::RefCell<Vec<String>>,
}

/// A `pond` a test started never outlives the test, even one that fails:
/// an agent left behind would poll a dead node (or another test's) forever.
impl Drop for Pond {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Pond {
    /// Starts `pond args…` in `dir`, its stderr logged to `dir/<log>`.
    pub(crate) fn start(dir: &Path, log: &str, args: &[&str]) -> Self {
        Self::start_binary(Command::new(env!("CARGO_BIN_EXE_pond")), dir, log, args)
    }

    /// Starts `binary args…` (a copy of `pond`) in `dir` as a user's shell
    /// would on a machine without Rust: an empty environment but
    /// `PATH=/usr/bin:/bin` and `HOME=dir`.
    pub(crate) fn start_installed(binary: &Path, dir: &Path, log: &str, args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir);
        Self::start_binary(command, dir, log, args)
    }

    pub(crate) fn start_binary(mut command: Command, dir: &Path, log: &str, args: &[&str]) -> Self {
        let log_path = dir.join(log);
        let file = std::fs::File::create(&log_path).expect("log file");
        command
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(file));
        // A binary copied just now can be "busy" for a moment: another
        // test thread's fork may still hold the copy's write descriptor
        // until that child execs (a Linux race); try again briefly.
        let mut attempts = 0;
        let mut child = loop {
            match command.spawn() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                spawned => break spawned.expect("pond starts"),
            }
        };
        // Keep reading stdout to the end: a closed pipe would make pond's
        // later lines fail to print.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            log_path,
            lines,
            seen: std::cell::RefCell::default(),
        }
    }

    /// The process's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The URL printed after `label`, waiting up to `within`.
    pub(crate) fn printed(&self, label: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.borrow_mut().push(line.clone());
                    if let Some(rest) = line.strip_prefix(label) {
                        return rest.trim().to_owned();
                    }
                }
                Err(_) => break,
            }
        }
        panic!("pond printed no {label} line; its log:\n{}", self.log());
    }

    /// Panics (with the log) if the process has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("pond exited with {status}; its log:\n{}", self.log());
        }
    }

    /// Sends SIGTERM (as `kill`, `docker stop` and systemd do) and waits
    /// up to a minute for the process to exit; its exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        self.request_stop();
        self.wait_exit(Duration::from_secs(60))
    }

    /// Sends SIGTERM without waiting.
    pub(crate) fn request_stop(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Waits up to `within` for the process to exit by itself; its exit
    /// status (panics with the log when it is still running).
    pub(crate) fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = self.log();
        let _ = self.child.kill();
        panic!("pond did not exit within {within:?}; its log:\n{log}");
    }

    /// Every line printed so far.
    pub(crate) fn printed_lines(&self) -> Vec<String> {
        let mut seen = self.seen.borrow_mut();
        seen.extend(self.lines.try_iter());
        seen.clone()
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `pond args…` to completion as a user's shell would on a machine
/// without Rust: an empty environment but `PATH=/usr/bin:/bin` (after
/// `path_first`, when given), `HOME=dir`, the working directory `dir`,
/// stdin closed, plus `env`.
pub(crate) fn run_pond(
    dir: &Path,
    path_first: Option<&Path>,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    run_in(
        Command::new(env!("CARGO_BIN_EXE_pond")),
        dir,
        path_first,
        env,
        args,
    )
}

/// [`run_pond`] in a session of its own, so that `pond` has no terminal
/// to prompt on even when the tests run in one (`setsid -w` waits for it
/// and passes its exit status on).
pub(crate) fn run_pond_without_terminal(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new("setsid");
    command.args(["-w", env!("CARGO_BIN_EXE_pond")]);
    run_in(command, dir, None, env, args)
}

fn run_in(
    mut command: Command,
    dir: &Path,
    path_first: Option<&Path>,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let path = path_first.map_or_else(
        || "/usr/bin:/bin".to_owned(),
        |first| format!("{}:/usr/bin:/bin", first.display()),
    );
    command
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("pond runs")
}

/// Everything a finished `pond` printed (stdout, then stderr).
pub(crate) fn printed_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `pond` against one devnode stack, as its users run it: a directory of
/// its own, `POND_RPC` and `POND_DEPLOYMENT` set, a key through `$KEY`.
pub(crate) struct ChainCli {
    /// The working (and home) directory.
    pub(crate) dir: PathBuf,
    rpc: String,
    deployment: String,
}

impl ChainCli {
    /// A fresh directory `tag-PID` holding the stack's deployment file.
    pub(crate) fn for_stack(stack: &pond_deploy::testkit::Stack, tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let deployment = dir.join("deployment.json");
        stack.deployment.save(&deployment).expect("deployment file");
        Self {
            dir,
            rpc: stack.node.http_url(),
            deployment: deployment.display().to_string(),
        }
    }

    /// Runs `pond args…`; with `key` (hex), signing as it through
    /// `--private-key-env KEY`; `env` adds or overrides variables.
    pub(crate) fn run_with(
        &self,
        key: Option<&str>,
        env: &[(&str, &str)],
        path_first: Option<&Path>,
        args: &[&str],
    ) -> std::process::Output {
        let mut all_env = vec![
            ("POND_RPC", self.rpc.as_str()),
            ("POND_DEPLOYMENT", self.deployment.as_str()),
        ];
        let mut all_args = args.to_vec();
        if let Some(key) = key {
            all_env.push(("KEY", key));
            all_args.extend_from_slice(&["--private-key-env", "KEY"]);
        }
        all_env.extend_from_slice(env);
        run_pond(&self.dir, path_first, &all_env, &all_args)
    }

    /// Runs `pond args…` as `key` to completion on a blocking thread, so
    /// the test's own servers keep answering meanwhile.
    pub(crate) fn run_in_background(
        &self,
        key: &str,
        args: &[&str],
    ) -> tokio::task::JoinHandle<std::process::Output> {
        let (dir, rpc, deployment, key) = (
            self.dir.clone(),
            self.rpc.clone(),
            self.deployment.clone(),
            key.to_owned(),
        );
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(["--private-key-env".to_owned(), "KEY".to_owned()]);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            run_pond(
                &dir,
                None,
                &[
                    ("POND_RPC", &rpc),
                    ("POND_DEPLOYMENT", &deployment),
                    ("KEY", &key),
                ],
                &args,
            )
        })
    }

    /// Starts `pond args…` as `key` in the background (an agent), with
    /// its stderr logged to `log` in the directory.
    pub(crate) fn spawn(&self, key: &str, log: &str, args: &[&str]) -> Pond {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pond"));
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.dir)
            .env("POND_RPC", &self.rpc)
            .env("POND_DEPLOYMENT", &self.deployment)
            .env("KEY", key);
        let mut all = args.to_vec();
        all.extend_from_slice(&["--private-key-env", "KEY"]);
        Pond::start_binary(command, &self.dir, log, &all)
    }

    /// Runs `pond args… --json` as `key`: (success, everything printed,
    /// the JSON printed).
    pub(crate) fn json(
        &self,
        key: &str,
        args: &[&str],
    ) -> (bool, String, Option<serde_json::Value>) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run_with(Some(key), &[], None, &all);
        (
            out.status.success(),
            printed_text(&out),
            serde_json::from_slice(&out.stdout).ok(),
        )
    }
}

impl ChainCli {
    /// Reaches the chain at `rpc` from now on (a proxy in front).
    pub(crate) fn use_rpc(&mut self, rpc: &str) {
        rpc.clone_into(&mut self.rpc);
    }

    /// Runs `pond args… --json` as `who` and returns the JSON printed,
    /// failing the test (with everything printed) if the command fails.
    pub(crate) fn ok_json(
        &self,
        who: &pond_devnode::node::DevAccount,
        args: &[&str],
    ) -> serde_json::Value {
        let (ok, all, value) = self.json(&key_of(who), args);
        assert!(ok, "{args:?}: {all}");
        value.unwrap_or_else(|| panic!("{args:?} printed no JSON: {all}"))
    }
}

impl Drop for ChainCli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hex private key (`0x…`) of a dev account.
pub(crate) fn key_of(account: &pond_devnode::node::DevAccount) -> String {
    format!("0x{}", account.private_key)
}

/// `pond job post` of a one-GPU, one-hour job paying at most 80, plus
/// `extra` arguments (a matching mode, other limits).
pub(crate) fn job_post_args(extra: &[&str]) -> Vec<String> {
    let (module, input) = (
        alloy::primitives::B256::repeat_byte(1).to_string(),
        alloy::primitives::B256::repeat_byte(2).to_string(),
    );
    let mut args: Vec<String> = [
        "job",
        "post",
        "--module-hash",
        &module,
        "--module-uri",
        "oci://m",
        "--input-hash",
        &input,
        "--input-uri",
        "ipfs://i",
        "--max-duration",
        "1h",
        "--max-price",
        "80",
        "--gpus",
        "1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Waits until `pond`'s GraphQL URL says the index is ready; the answer.
pub(crate) fn ready(pond: &mut Pond, url: &str) -> serde_json::Value {
    let started = Instant::now();
    let mut answer = String::new();
    // Generous: CI machines are shared, and the bound only ends a hung run.
    while started.elapsed() < Duration::from_secs(300) {
        pond.assert_running();
        if let Some(body) = post(
            url,
            r#"{"query":"{ _meta { chainId isReady indexedBlock { number } } }"}"#,
        ) {
            answer = body;
            if answer.contains("\"isReady\":true") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|_| {
        panic!(
            "no JSON answer ({answer:?}) after {:?}; pond up's log:\n{}",
            started.elapsed(),
            pond.log()
        )
    });
    assert_eq!(
        value["data"]["_meta"]["isReady"],
        true,
        "{answer}; log:\n{}",
        pond.log()
    );
    value
}

/// `pond provider register` of the one-GPU machine (24 GB, 100 GB disk)
/// every test provider declares.
pub(crate) const REGISTER_ONE_GPU: [&str; 8] = [
    "provider",
    "register",
    "--gpus",
    "1",
    "--gpu-memory-gb",
    "24",
    "--disk-gb",
    "100",
];

/// Every agent log in `dir`, in order.
pub(crate) fn agent_logs(dir: &std::path::Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "log"));
    names.sort();
    names
        .iter()
        .map(|p| {
            format!(
                "--- {}\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}

/// A signing client for a dev account.
pub(crate) async fn client_of(
    stack: &pond_deploy::testkit::Stack,
    who: &pond_devnode::node::DevAccount,
) -> pond_client::Client {
    let signer: alloy::signers::local::PrivateKeySigner = who.private_key.parse().expect("dev key");
    pond_client::Client::connect(
        &stack.node.http_url(),
        stack.deployment.clone(),
        Some(signer),
    )
    .await
    .expect("connects")
}

/// An example job's module and inputs, on a store server of the
/// creator's own on loopback, as `pond job post --publish` leaves them.
pub(crate) struct ExampleJob {
    /// The creator's store (serve other trees from it too).
    pub(crate) store: std::sync::Arc<pond_store::LocalStore>,
    /// The server's base URL.
    pub(crate) base: String,
    module: pond_store::ContentHash,
    input: pond_store::ContentHash,
}

impl ExampleJob {
    /// Builds example job `name` and serves it from a store in `dir`.
    pub(crate) async fn serve(name: &str, dir: &Path) -> Self {
        use pond_jobs::testkit::{example_dir, example_wasm};
        let store = std::sync::Arc::new(pond_store::LocalStore::open(dir).expect("store"));
        let module = std::fs::read(example_wasm(name)).expect("module");
        let module = pond_jobs::module::put_wasm_module(&store, &module).expect("module stored");
        let input = store
            .put_dir(
                &example_dir(name).join("input"),
                &pond_store::Limits::default(),
            )
            .expect("inputs");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = pond_store::http::router(
            std::sync::Arc::clone(&store),
            pond_store::http::ServeConfig::default(),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            store,
            base,
            module,
            input: input.hash(),
        }
    }

    /// The URI the server gives `hash`.
    pub(crate) fn uri(&self, hash: &pond_store::ContentHash) -> String {
        format!("{}/blobs/{hash}", self.base)
    }

    /// A one-GPU, one-hour job paying at most 20 tokens, matchable for
    /// three hours from `now` (on `offer` when it is not zero).
    pub(crate) fn request(
        &self,
        now: u64,
        offer: alloy::primitives::U256,
    ) -> pond_client::JobRequest {
        use alloy::primitives::B256;
        pond_client::JobRequest {
            module_hash: B256::from(self.module.0),
            module_uri: self.uri(&self.module),
            input_hash: B256::from(self.input.0),
            input_uri: self.uri(&self.input),
            min_hardware: pond_client::hardware::Hardware {
                gpu_count: 1,
                ..Default::default()
            },
            max_duration: 3600,
            max_price: pond_deploy::testkit::tokens(20),
            match_deadline: now + 3 * 3600,
            bidding_window: 0,
            offer_id: offer,
        }
    }
}

/// A provider agent's configuration: one GPU, 10 tokens a job, outputs
/// served on `port`, its data under `agent`.
pub(crate) fn provider_toml(port: u16, max_concurrent: u32) -> String {
    provider_toml_with("agent", port, 24, max_concurrent)
}

/// [`provider_toml`] with its own data directory and GPU memory.
pub(crate) fn provider_toml_with(
    data_dir: &str,
    port: u16,
    gpu_memory_gb: u32,
    max_concurrent: u32,
) -> String {
    format!(
        "data-dir = \"{data_dir}\"\nserve = \"127.0.0.1:{port}\"\npoll-interval = \"1s\"\n\
         [hardware]\ngpus = 1\ngpu-memory-gb = {gpu_memory_gb}\ncpu-cores = 4\nram-gb = 16\ndisk-gb = 100\n\
         [offer]\nprice = \"10\"\nmax-duration = \"2h\"\nmax-concurrent = {max_concurrent}\n"
    )
}

/// The indexer and the GraphQL API of `stack`, in this process (SQLite);
/// stopped when dropped.
pub(crate) struct Api {
    /// The GraphQL endpoint.
    pub(crate) url: String,
    /// Its subscription endpoint.
    pub(crate) ws_url: String,
    stop: tokio::sync::watch::Sender<bool>,
    server: Option<pond_graphql::Server>,
}

impl Api {
    /// Starts indexing `stack`'s chain and serving GraphQL on loopback.
    pub(crate) async fn start(stack: &pond_deploy::testkit::Stack) -> Self {
        let store = pond_indexer::store::Store::open(&pond_indexer::testkit::sqlite_url())
            .await
            .expect("index database");
        let mut config = pond_indexer::follow::IndexerConfig::new(
            &stack.node.http_url(),
            stack.deployment.clone(),
        );
        config.poll_interval = Duration::from_millis(100);
        let indexer = pond_indexer::follow::Indexer::new(store.clone(), config);
        let state = pond_graphql::ApiState {
            store,
            updates: indexer.updates(),
            progress: indexer.progress.clone(),
            chain_id: stack.deployment.chain_id,
        };
        let server = pond_graphql::Server::start(
            pond_graphql::router(state, None),
            "127.0.0.1:0".parse().expect("address"),
        )
        .await
        .expect("GraphQL served");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(indexer.run(stopped));
        Self {
            url: server.url(),
            ws_url: server.ws_url(),
            stop,
            server: Some(server),
        }
    }

    /// Answers `query` once the index holds block `block`.
    pub(crate) async fn query_at(&self, block: u64, query: &str) -> serde_json::Value {
        let body = serde_json::json!({ "query": query }).to_string();
        let meta = r#"{"query":"{ _meta { indexedBlock { number } } }"}"#;
        let started = Instant::now();
        loop {
            let indexed = post(&self.url, meta)
                .and_then(|answer| serde_json::from_str::<serde_json::Value>(&answer).ok())
                .and_then(|v| v["data"]["_meta"]["indexedBlock"]["number"].as_u64());
            if indexed.is_some_and(|n| n >= block) {
                let answer = post(&self.url, &body).expect("GraphQL answers");
                return serde_json::from_str(&answer).expect("GraphQL JSON");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the index did not reach block {block} (at {indexed:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// An input for `align` that takes a while to run: the example's targets
/// `repeat` times over (20: a few seconds in a debug build), with the fuel
/// to match; in `dir/slow-input`.
pub(crate) fn slow_align_input(dir: &Path, repeat: usize) -> PathBuf {
    let example = pond_jobs::testkit::example_dir("align").join("input");
    let slow = dir.join("slow-input");
    std::fs::create_dir_all(&slow).expect("dir");
    std::fs::copy(example.join("query.fasta"), slow.join("query.fasta")).expect("query");
    let targets = std::fs::read_to_string(example.join("targets.fasta")).expect("targets");
    std::fs::write(slow.join("targets.fasta"), targets.repeat(repeat)).expect("targets");
    std::fs::write(
        slow.join("pond-job.json"),
        r#"{ "version": 1, "args": ["query.fasta", "targets.fasta"],
             "limits": { "fuel": 5000000000000, "memory_bytes": 268435456 },
             "determinism": "exact" }"#,
    )
    .expect("spec");
    slow
}

/// A TCP proxy on loopback in front of `upstream` (`host:port`) that the
/// test can cut: while cut, every open connection is dropped and new ones
/// are closed at once — an RPC outage as a client sees it; while silent,
/// open connections are dropped and new ones are held open unanswered — a
/// node that hangs.
pub(crate) struct CuttableProxy {
    /// `http://127.0.0.1:PORT`: the proxy's URL.
    pub(crate) url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl CuttableProxy {
    /// Starts the proxy.
    pub(crate) async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let silent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let generation = std::sync::Arc::new(generation);
        let (upstream, is_cut, is_silent, cuts) = (
            upstream.to_owned(),
            std::sync::Arc::clone(&cut),
            std::sync::Arc::clone(&silent),
            std::sync::Arc::clone(&generation),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_cut.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                if is_silent.load(std::sync::atomic::Ordering::SeqCst) {
                    let mut cut_now = cuts.subscribe();
                    tokio::spawn(async move {
                        let _held = inbound;
                        let _ = cut_now.changed().await;
                    });
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_now = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_now.changed() => {}
                    }
                });
            }
        });
        Self {
            url,
            cut,
            silent,
            generation,
        }
    }

    /// Starts (`true`) or ends (`false`) the outage.
    pub(crate) fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
        if cut {
            self.generation.send_modify(|g| *g += 1);
        }
    }

    /// Makes the node hang: open connections dropped, new ones unanswered.
    pub(crate) fn go_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }
}
