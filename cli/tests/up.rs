//! `pond up` as a user runs it: a copy of the binary, in an empty
//! directory, with no cargo, rustup or source tree on its `PATH`, starts
//! devnode, deploys the embedded contracts, indexes them and serves
//! GraphQL; the printed URL answers queries. SIGTERM stops it like Ctrl-C
//! and writes its `--state` chain, which the next `pond up` reuses, and a
//! chain running other contract code is refused.

mod common;

use std::{path::Path, time::Duration};

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

#[test]
fn a_copied_pond_runs_from_an_empty_directory_and_keeps_its_chain_across_sigterm() {
    let root = std::env::temp_dir().join(format!("pond-up-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (bin, dir) = (root.join("bin"), root.join("empty"));
    std::fs::create_dir_all(&bin).expect("dir");
    std::fs::create_dir_all(&dir).expect("dir");
    let pond = bin.join("pond");
    std::fs::copy(env!("CARGO_BIN_EXE_pond"), &pond).expect("copied binary");
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
