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

/// A chain with a provider agent (10 tokens a job, one GPU) and a store
/// server creators publish to with a write token (in the file `token`).
struct Market {
    s: Stack,
    cli: ChainCli,
    server: String,
    agent: common::Pond,
    /// The agent's outputs and metrics port.
    port: u16,
}

impl Market {
    async fn start(tag: &str) -> Self {
        let s = Stack::start().await;
        let provider = s.node.accounts()[2].clone();
        s.fund(provider.address, tokens(1_000)).await;
        let cli = ChainCli::for_stack(&s, tag);
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
        let agent = cli.spawn(
            &key_of(&provider),
            "provider.log",
            &["provider", "run", "--config", "provider.toml"],
        );
        Self {
            s,
            cli,
            server,
            agent,
            port,
        }
    }

    /// `pond job run` of the example `align` job as `key`, publishing to
    /// the store server, with `extra` arguments.
    fn job_run(
        &self,
        key: &str,
        output: &str,
        extra: &[&str],
    ) -> tokio::task::JoinHandle<std::process::Output> {
        let module = example_wasm("align").display().to_string();
        let input = example_dir("align").join("input").display().to_string();
        let mut args = vec![
            "job",
            "run",
            &module,
            "--input",
            &input,
            "--output",
            output,
            "--gpus",
            "1",
            "--publish",
            &self.server,
            "--publish-token-file",
            "token",
        ];
        args.extend_from_slice(extra);
        self.cli.run_in_background(key, &args)
    }

    /// Waits (bounded) for a `pond job run`: its output.
    async fn finished(
        &self,
        run: tokio::task::JoinHandle<std::process::Output>,
    ) -> std::process::Output {
        tokio::time::timeout(Duration::from_secs(300), run)
            .await
            .unwrap_or_else(|_| panic!("pond job run hung; logs:\n{}", agent_logs(&self.cli.dir)))
            .expect("ran")
    }
}

/// Waits (bounded) until `pond job run --relay` has written its signed
/// job to `path`.
async fn signed_file(path: &std::path::Path) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The JSON events a `pond job run --json` printed, and their names.
fn events_of(out: &std::process::Output) -> (Vec<serde_json::Value>, Vec<String>) {
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let names = events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    (events, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_runs_a_job_on_the_market_and_returns_verified_outputs() {
    let mut m = Market::start("pond-creator-run").await;
    let creator = m.s.node.accounts()[7].clone();
    m.s.fund(creator.address, tokens(1_000)).await;
    let (s, cli) = (&m.s, &m.cli);

    let (before, _) = s.balances(creator.address).await;
    let run = m.job_run(
        &key_of(&creator),
        "outputs",
        &["--max-price", "20", "--verify", "local", "--json"],
    );
    let out = m.finished(run).await;
    m.agent.assert_running();
    let text = printed_text(&out);
    assert!(
        out.status.success(),
        "{text}\nlogs:\n{}",
        agent_logs(&cli.dir)
    );
    let (events, names) = events_of(&out);
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
    let metrics = format!("http://127.0.0.1:{}/metrics", m.port);
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
    let run = m.job_run(
        &key_of(&creator),
        "never",
        &["--max-price", "1", "--match-within", "10m"],
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
    assert!(m.agent.terminate().success());
}

/// A creator with no gas at all: `pond job run --relay` signs the job
/// (funded from its wallet by a permit) and sends nothing; a relayer posts
/// the file; the provider agent runs the job; the command follows it,
/// downloads and checks the outputs and ends; the provider finalizes after
/// the judge window and is paid from the permit's funds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_without_gas_runs_a_job_through_a_relayer() {
    use alloy::providers::Provider as _;
    let m = Market::start("pond-creator-run-relayed").await;
    let relayer = m.s.node.accounts()[6].clone();
    let creator = alloy::signers::local::PrivateKeySigner::random();
    let key = format!("0x{}", alloy::hex::encode(creator.to_bytes()));
    pond_deploy::testkit::ok(
        m.s.token()
            .mint(creator.address(), tokens(30))
            .from(m.s.owner())
            .send()
            .await,
    )
    .await;

    let run = m.job_run(
        &key,
        "outputs",
        &[
            "--max-price",
            "20",
            "--relay",
            "signed.json",
            "--permit",
            "20",
            "--json",
        ],
    );
    signed_file(&m.cli.dir.join("signed.json")).await;
    let relayed = m.cli.ok_json(&relayer, &["job", "relay", "signed.json"]);
    let out = m.finished(run).await;
    let text = printed_text(&out);
    assert!(
        out.status.success(),
        "{text}\nlogs:\n{}",
        agent_logs(&m.cli.dir)
    );
    let (events, names) = events_of(&out);
    assert_eq!(
        names,
        [
            "published",
            "signed",
            "posted",
            "matched",
            "committed",
            "revealed",
            "downloaded",
            "finalizing"
        ],
        "{text}"
    );
    assert_eq!(events[2]["job"], relayed["jobId"], "{relayed}");
    assert_eq!(
        events[2]["transaction"], relayed["transaction"],
        "{relayed}"
    );
    assert_eq!(
        events[2]["relayer"].as_str().map(str::to_lowercase),
        Some(relayer.address.to_string().to_lowercase())
    );
    assert_eq!(events[5]["result"], ALIGN_RESULT);
    let written = pond_store::walk::manifest_of_dir(
        &m.cli.dir.join("outputs"),
        &pond_store::Limits::default(),
    )
    .expect("outputs");
    assert_eq!(written.hash().to_string(), ALIGN_RESULT);

    // The creator sent nothing and holds no gas.
    let chain = &m.s.provider;
    assert_eq!(
        chain
            .get_transaction_count(creator.address())
            .await
            .expect("nonce"),
        0
    );
    assert_eq!(
        chain.get_balance(creator.address()).await.expect("balance"),
        U256::ZERO
    );

    // After the judge window the provider agent finalizes: paid 10, the
    // rest of the permit's 20 is the creator's in the vault.
    let deal: U256 = events[3]["deal"]
        .as_str()
        .expect("deal")
        .parse()
        .expect("id");
    let client = common::client_of(&m.s, &relayer).await;
    let judge = client
        .deal(deal)
        .await
        .expect("deal")
        .expect("exists")
        .judge_deadline;
    m.s.advance(judge.saturating_sub(m.s.now().await) + 1).await;
    m.s.mine().await;
    let started = std::time::Instant::now();
    while client
        .deal(deal)
        .await
        .expect("deal")
        .expect("exists")
        .state
        != "completed"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never finalized; logs:\n{}",
            agent_logs(&m.cli.dir)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        m.s.balances(creator.address()).await,
        (tokens(10), U256::ZERO),
        "vault: the permit's 20 less the price"
    );
    let wallet =
        m.s.token()
            .balanceOf(creator.address())
            .call()
            .await
            .expect("wallet");
    assert_eq!(wallet, tokens(10));
    m.s.assert_vault_invariant().await;

    // Two jobs signed with the same relay nonce (both unposted when
    // signed): once one is posted, the other command ends, saying so, and
    // removes its file; it never follows the job that was posted.
    let first = m.job_run(
        &key,
        "first",
        &["--max-price", "10", "--relay", "a.json", "--json"],
    );
    signed_file(&m.cli.dir.join("a.json")).await;
    // (Another job: the same one signed twice would be the job posted.)
    let second = m.job_run(&key, "second", &["--max-price", "11", "--relay", "b.json"]);
    signed_file(&m.cli.dir.join("b.json")).await;
    m.cli.ok_json(&relayer, &["job", "relay", "a.json"]);
    let out = m.finished(first).await;
    let (_, names) = events_of(&out);
    assert_eq!(
        names.last().map(String::as_str),
        Some("finalizing"),
        "{}",
        printed_text(&out)
    );
    let out = m.finished(second).await;
    let text = printed_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("was posted instead"), "{text}");
    assert!(!m.cli.dir.join("b.json").exists());
    assert!(!m.cli.dir.join("second").exists());

    // A signed job nobody posts: the command gives up when its signature
    // expires, says so, and removes the file.
    let run = m.job_run(
        &key,
        "unposted",
        &[
            "--max-price",
            "10",
            "--relay",
            "unposted.json",
            "--valid-for",
            "2m",
        ],
    );
    signed_file(&m.cli.dir.join("unposted.json")).await;
    m.s.advance(3 * 60).await;
    m.s.mine().await;
    let out = m.finished(run).await;
    let text = printed_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("before its signature or match deadline passed"),
        "{text}"
    );
    assert!(!m.cli.dir.join("unposted.json").exists());
    assert_eq!(
        chain
            .get_transaction_count(creator.address())
            .await
            .expect("nonce"),
        0
    );
    assert!(m.agent.terminate().success());
}
