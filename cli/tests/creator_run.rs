//! `pond job run` (the creator's one command) against devnode, a provider
//! agent and a store server on loopback: it publishes, posts, follows the
//! job, downloads and checks the outputs, re-runs the job here, accepts
//! and writes the outputs; and a job nobody takes is expired by the command
//! itself, with the price back and a message saying what to do.

mod common;

use std::{sync::Arc, time::Duration};

use alloy::primitives::U256;
use common::{agent_logs, key_of, printed_text, ChainCli};
use pond_deploy::testkit::{tokens, Stack};
use pond_jobs::testkit::{example_dir, example_wasm, ALIGN_RESULT};
use pond_store::{http::ServeConfig, LocalStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_runs_a_job_on_the_market_and_returns_verified_outputs() {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, provider) = (accounts[7].clone(), accounts[2].clone());
    s.fund(creator.address, tokens(1_000)).await;
    s.fund(provider.address, tokens(1_000)).await;
    let cli = ChainCli::for_stack(&s, "pond-creator-run");

    // A store server the creator publishes to (with a write token).
    let store = Arc::new(LocalStore::open(cli.dir.join("server-store")).expect("store"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let server = format!("http://{}", listener.local_addr().expect("address"));
    let config = ServeConfig {
        put_token: Some("secret-token".to_owned()),
        ..ServeConfig::default()
    };
    let router = pond_store::http::router(store, config);
    tokio::spawn(async move { axum::serve(listener, router).await });
    std::fs::write(cli.dir.join("token"), "secret-token\n").expect("token");

    let port = common::free_port();
    std::fs::write(
        cli.dir.join("provider.toml"),
        common::provider_toml(port, 4),
    )
    .expect("config");
    let mut agent = cli.spawn(
        &key_of(&provider),
        "provider.log",
        &["provider", "run", "--config", "provider.toml"],
    );

    let module = example_wasm("align").display().to_string();
    let input = example_dir("align").join("input").display().to_string();
    let (before, _) = s.balances(creator.address).await;
    let run = cli.run_in_background(
        &key_of(&creator),
        &[
            "job",
            "run",
            &module,
            "--input",
            &input,
            "--output",
            "outputs",
            "--max-price",
            "20",
            "--gpus",
            "1",
            "--publish",
            &server,
            "--publish-token-file",
            "token",
            "--verify",
            "local",
            "--json",
        ],
    );
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .unwrap_or_else(|_| panic!("pond job run hung; logs:\n{}", agent_logs(&cli.dir)))
        .expect("ran");
    agent.assert_running();
    let text = printed_text(&out);
    assert!(
        out.status.success(),
        "{text}\nlogs:\n{}",
        agent_logs(&cli.dir)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "published",
            "posted",
            "matched",
            "committed",
            "revealed",
            "downloaded",
            "verified",
            "accepted"
        ],
        "{text}"
    );
    assert_eq!(events[4]["result"], ALIGN_RESULT);
    assert_eq!(events[6]["agrees"], true);
    // The outputs written are the result's tree, byte for byte.
    let written =
        pond_store::walk::manifest_of_dir(&cli.dir.join("outputs"), &pond_store::Limits::default())
            .expect("outputs");
    assert_eq!(written.hash().to_string(), ALIGN_RESULT);
    // Paid the provider's price, nothing more.
    let (after, locked) = s.balances(creator.address).await;
    assert_eq!(before - after, tokens(10));
    assert_eq!(locked, U256::ZERO);

    // The provider agent's metrics tell the same story (earnings as the
    // registry records them, once its next pass has read them).
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let paid = tokens(10) - tokens(10) * U256::from(250) / U256::from(10_000);
    let text = common::wait_for_metric(&metrics, "pond_provider_earned", paid.to::<u64>()).await;
    for line in [
        "pond_provider_jobs_taken_total 1",
        "pond_provider_runs_ok_total 1",
        "pond_provider_runs_failed_total 0",
        "pond_provider_results_committed_total 1",
        "pond_provider_results_revealed_total 1",
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}:\n{text}");
    }

    // A job nobody can take (it pays less than any offer asks): the
    // command expires it once its match deadline passes.
    let run = cli.run_in_background(
        &key_of(&creator),
        &[
            "job",
            "run",
            &module,
            "--input",
            &input,
            "--output",
            "never",
            "--max-price",
            "1",
            "--gpus",
            "1",
            "--match-within",
            "10m",
            "--publish",
            &server,
            "--publish-token-file",
            "token",
        ],
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    s.advance(11 * 60).await;
    s.mine().await;
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("pond job run did not give up")
        .expect("ran");
    let text = printed_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("no provider took job"), "{text}");
    assert!(!cli.dir.join("never").exists());
    let (last, locked) = s.balances(creator.address).await;
    assert_eq!(last, after, "the expired job's price came back");
    assert_eq!(locked, U256::ZERO);
    s.assert_vault_invariant().await;
    assert!(agent.terminate().success());
}
