//! `pond up` as a user runs it: a copy of the binary, in an empty
//! directory, with no cargo, rustup or source tree on its `PATH`, starts
//! devnode, deploys the embedded contracts, indexes them and serves
//! GraphQL; the printed URL answers queries. SIGTERM stops it like Ctrl-C
//! and writes its `--state` chain, which the next `pond up` reuses, and a
//! chain running other contract code is refused. `pond up --demo` runs a
//! market that moves by itself.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::primitives::keccak256;
use common::{free_port, post, ready, Pond};

/// The deployed code at `address` on the devnode at `rpc` (JSON-RPC).
fn code_at(rpc: &str, address: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getCode","params":["{address}","latest"]}}"#
    );
    let answer = post(&format!("{rpc}/"), &body).expect("devnode answers");
    let value: serde_json::Value = serde_json::from_str(&answer).expect("JSON-RPC");
    let hex = value["result"].as_str().expect("code");
    alloy::hex::decode(hex).expect("hex code")
}

fn deployment(dir: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(dir.join("deployments/devnode.json")).expect("deployment file");
    serde_json::from_str(&text).expect("deployment JSON")
}

/// A copy of the `pond` binary in `<root>/bin` and an empty directory to
/// run it in, `<root>/empty`; (root, binary, directory).
fn installed(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("pond-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (bin, dir) = (root.join("bin"), root.join("empty"));
    std::fs::create_dir_all(&bin).expect("dir");
    std::fs::create_dir_all(&dir).expect("dir");
    let pond = bin.join("pond");
    std::fs::copy(env!("CARGO_BIN_EXE_pond"), &pond).expect("copied binary");
    (root, pond, dir)
}

#[test]
fn a_copied_pond_runs_from_an_empty_directory_and_keeps_its_chain_across_sigterm() {
    let (root, pond, dir) = installed("up");
    let state = dir.join("chain.json");
    let state_arg = state.display().to_string();
    let up = |log: &str| {
        let listen = format!("127.0.0.1:{}", free_port());
        let devnode_port = free_port().to_string();
        Pond::start_installed(
            &pond,
            &dir,
            log,
            &[
                "up",
                "--devnode-port",
                &devnode_port,
                "--listen",
                &listen,
                "--state",
                &state_arg,
            ],
        )
    };

    // First run: a new chain, the embedded contracts deployed.
    let mut first = up("first.log");
    let rpc = first.printed("devnode", Duration::from_secs(120));
    let rpc = rpc
        .split_whitespace()
        .next()
        .expect("devnode URL")
        .to_owned();
    let url = first.printed("GraphQL", Duration::from_secs(300));
    let meta = ready(&mut first, &url);
    assert_eq!(meta["data"]["_meta"]["chainId"], 412_346);
    let deployed = deployment(&dir);
    assert_eq!(deployed["chainId"], 412_346);
    // `pond contracts` names the code that is on chain.
    let listed = std::process::Command::new(&pond)
        .args(["contracts", "--json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(&dir)
        .output()
        .expect("pond contracts runs");
    assert!(listed.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(10));
    let market = listed
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "Market"))
        .expect("Market listed");
    let market_address = deployed["contracts"]["market"].as_str().expect("address");
    let on_chain = code_at(&rpc, market_address);
    assert_eq!(market["deployedBytes"], on_chain.len());
    assert_eq!(market["codeHash"], keccak256(&on_chain).to_string());
    let first_log = first.log();
    let status = first.terminate();
    assert!(status.success(), "SIGTERM: {status}; log:\n{first_log}");
    assert!(state.exists(), "SIGTERM wrote no state file");

    // Second run: the same chain, reused (nothing deployed again).
    let mut second = up("second.log");
    let url = second.printed("GraphQL", Duration::from_secs(300));
    ready(&mut second, &url);
    let printed = second.printed_lines();
    assert!(
        !printed.iter().any(|l| l.starts_with("deploying")),
        "redeployed on a restored chain: {printed:?}"
    );
    assert_eq!(deployment(&dir), deployed);
    assert!(second.terminate().success());

    // A chain whose "Market" runs other code (here: the token's) is refused.
    let mut tampered = deployed.clone();
    tampered["contracts"]["market"] = deployed["contracts"]["token"].clone();
    std::fs::write(
        dir.join("deployments/devnode.json"),
        serde_json::to_string_pretty(&tampered).expect("JSON"),
    )
    .expect("written");
    let mut third = up("third.log");
    let status = third.wait_exit(Duration::from_secs(120));
    let log = third.log();
    assert!(!status.success(), "a chain with other code was accepted");
    assert!(
        log.contains("runs different Pond contracts") && log.contains("Market at"),
        "{log}"
    );
    assert!(!log.contains("PondToken at"), "{log}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Deals by state, and the states each deal went through, from GraphQL.
fn deals_by_state(url: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let query =
        r#"{"query":"{ deals(first: 200) { edges { node { state history { state } } } } }"}"#;
    let answer = post(url, query).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let mut by_state: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for edge in value["data"]["deals"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let node = &edge["node"];
        let history = node["history"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| step["state"].as_str().map(str::to_owned))
            .collect();
        by_state
            .entry(node["state"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(history);
    }
    by_state
}

#[test]
fn pond_up_demo_runs_a_market_that_moves_by_itself() {
    let (root, pond, dir) = installed("demo");
    let listen = format!("127.0.0.1:{}", free_port());
    let devnode_port = free_port().to_string();
    let mut up = Pond::start_installed(
        &pond,
        &dir,
        "demo.log",
        &[
            "up",
            "--demo",
            "--devnode-port",
            &devnode_port,
            "--listen",
            &listen,
        ],
    );
    let tokens = up.printed("tokens", Duration::from_secs(300));
    assert!(tokens.starts_with("10000 pUSD"), "{tokens}");
    let url = up.printed("GraphQL", Duration::from_secs(300));
    ready(&mut up, &url);
    let summary = up.printed("demo        3 provider", Duration::from_secs(120));
    assert!(summary.contains("windows are 60 s"), "{summary}");

    // Without any other help: honest results accepted (or finalized by
    // their providers after the judge window), the cheat's rejected by the
    // validators, and an honest one upheld after a challenge.
    let started = Instant::now();
    let went_through = |deals: &[Vec<String>], state: &str| {
        deals
            .iter()
            .any(|history| history.iter().any(|s| s == state))
    };
    loop {
        up.assert_running();
        let deals = deals_by_state(&url);
        let completed = deals.get("completed").cloned().unwrap_or_default();
        let rejected = deals.get("rejected").cloned().unwrap_or_default();
        if went_through(&completed, "challenged")
            && completed
                .iter()
                .filter(|h| !h.iter().any(|s| s == "challenged"))
                .count()
                >= 2
            && went_through(&rejected, "challenged")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the demo market did not move: {deals:?}; log:\n{}",
            up.log()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let log = up.log();
    let status = up.terminate();
    assert!(status.success(), "SIGTERM: {status}; log:\n{log}");
    let _ = std::fs::remove_dir_all(&root);
}
