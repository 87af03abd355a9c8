//! `pond provider run` against devnode with the real contracts, the real
//! WASM executor and HTTP stores on loopback: the agent registers, posts
//! its offer, takes the creator's open jobs, fetches and runs them, serves
//! the outputs, commits, reveals and finalizes — while it is killed with
//! SIGKILL at random moments, twenty times. Every deal must still be
//! delivered once, with the right result, and paid to the token unit.

mod common;

use std::time::Duration;

use alloy::{primitives::U256, providers::Provider as _, sol_types::SolEvent};
use common::{agent_logs, key_of, ChainCli, ExampleJob};
use pond_bindings::deals::IDeals;
use pond_client::Client;
use pond_deploy::testkit::{tokens, Stack};
use pond_jobs::testkit::ALIGN_RESULT;
use pond_store::LocalStore;

/// Kills with SIGKILL, then runs to the end.
const KILLS: usize = 20;

/// A tiny deterministic generator (the seed is printed, so a failing
/// schedule can be replayed with `POND_KILL_SEED`).
struct Schedule(u64);

impl Schedule {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// Waits (bounded) until every job has a deal in `state`; the deals.
async fn wait_for(
    client: &Client,
    jobs: &[U256],
    state: &str,
    logs: &std::path::Path,
) -> Vec<U256> {
    let started = std::time::Instant::now();
    loop {
        let mut deals = Vec::new();
        let mut all = true;
        for job in jobs {
            let deal = client
                .job(*job)
                .await
                .expect("job")
                .expect("exists")
                .deal_id;
            all &= !deal.is_zero()
                && client
                    .deal(deal)
                    .await
                    .expect("deal")
                    .expect("exists")
                    .state
                    == state;
            deals.push(deal);
        }
        if all {
            return deals;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "not every deal is {state}: {deals:?}; the agents' logs:\n{}",
            agent_logs(logs)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_killed_twenty_times_delivers_every_deal_once() {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, provider) = (accounts[7].clone(), accounts[2].clone());
    s.fund(creator.address, tokens(10_000)).await;
    s.fund(provider.address, tokens(10_000)).await;
    let (funded, _) = s.balances(provider.address).await;
    let cli = ChainCli::for_stack(&s, "pond-provider-agent");

    // The creator's module and inputs, on a store server of its own.
    let data = ExampleJob::serve("align", &cli.dir.join("creator-store")).await;
    let creator_client = common::client_of(&s, &creator).await;
    let post = || async {
        let now = creator_client.now().await.expect("now");
        creator_client
            .post_job(data.request(now, U256::ZERO))
            .await
            .expect("job posted")
            .job_id
    };

    let outputs_port = common::free_port();
    std::fs::write(
        cli.dir.join("provider.toml"),
        common::provider_toml(outputs_port, 32),
    )
    .expect("config");
    let key = key_of(&provider);
    let seed = std::env::var("POND_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("kill schedule seed {seed} (replay with POND_KILL_SEED={seed})");
    let mut schedule = Schedule(seed);
    let run_args = ["provider", "run", "--config", "provider.toml"];

    let mut jobs = Vec::new();
    for round in 0..KILLS {
        jobs.push(post().await);
        let agent = cli.spawn(&key, &format!("agent-{round}.log"), &run_args);
        tokio::time::sleep(Duration::from_millis(schedule.next_ms(200, 2_500))).await;
        agent.kill();
    }

    // Then left alone: every job taken, run, committed and revealed.
    let mut agent = cli.spawn(&key, "agent-final.log", &run_args);
    let deals = wait_for(&creator_client, &jobs, "revealed", &cli.dir).await;
    agent.assert_running();

    // The outputs are served where the reveal says, and are the pinned
    // result of the example job.
    for deal in &deals {
        let info = creator_client
            .deal(*deal)
            .await
            .expect("deal")
            .expect("exists");
        assert_eq!(info.result_hash.to_string(), ALIGN_RESULT, "deal {deal}");
    }
    let fetched = pond_store::RemoteStore::new(&format!("http://127.0.0.1:{outputs_port}"), None)
        .expect("remote")
        .fetch_tree(
            &LocalStore::open(cli.dir.join("fetched")).expect("store"),
            &ALIGN_RESULT.parse().expect("hash"),
            &pond_store::Limits::default(),
        )
        .await
        .expect("the outputs are served");
    assert_eq!(fetched.hash().to_string(), ALIGN_RESULT);

    // The judge window passes: the agent finalizes and is paid.
    s.advance(24 * 3600 + 60).await;
    s.mine().await;
    let deals = wait_for(&creator_client, &jobs, "completed", &cli.dir).await;

    // The journal follows: every deal finished (the agent notices on its
    // next pass), then SIGTERM stops the agent cleanly.
    let started = std::time::Instant::now();
    loop {
        let status = cli.ok_json(
            &provider,
            &["provider", "status", "--config", "provider.toml"],
        );
        let stages: Vec<&str> = status["deals"]
            .as_array()
            .expect("deals")
            .iter()
            .map(|d| d["stage"].as_str().unwrap_or_default())
            .collect();
        if stages == vec!["finished"; KILLS] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{status}; logs:\n{}",
            agent_logs(&cli.dir)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let stopped = agent.terminate();
    assert!(stopped.success(), "SIGTERM: {stopped}");

    // One commitment per deal, whatever the kills interrupted.
    let logs = s
        .provider
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(s.deployment.contracts.deals)
                .event_signature(IDeals::ResultCommitted::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("logs");
    let mut committed: Vec<U256> = logs
        .iter()
        .filter_map(|l| l.log_decode::<IDeals::ResultCommitted>().ok())
        .map(|l| l.inner.data.dealId)
        .collect();
    committed.sort();
    let mut expected = deals.clone();
    expected.sort();
    assert_eq!(committed, expected, "exactly one commitment per deal");

    // Paid to the unit: the price less the 2.5 % protocol fee, per deal,
    // with every collateral released.
    let (after, locked) = s.balances(provider.address).await;
    let per_deal = tokens(10) - tokens(10) * U256::from(250) / U256::from(10_000);
    assert_eq!(after, funded + per_deal * U256::from(KILLS));
    assert_eq!(locked, U256::ZERO, "collateral left locked");
    s.assert_vault_invariant().await;
}

/// One provider and one creator (1 000 tokens each) on a new stack, the
/// `align` example served from the creator's store, and a directory for
/// the agent; the agent is started by each test.
struct Market {
    s: Stack,
    cli: ChainCli,
    data: ExampleJob,
    creator: Client,
    provider: pond_devnode::node::DevAccount,
}

impl Market {
    async fn start(tag: &str) -> Self {
        let s = Stack::start().await;
        let accounts = s.node.accounts();
        let (creator, provider) = (accounts[7].clone(), accounts[2].clone());
        s.fund(creator.address, tokens(1_000)).await;
        s.fund(provider.address, tokens(1_000)).await;
        let cli = ChainCli::for_stack(&s, tag);
        let data = ExampleJob::serve("align", &cli.dir.join("creator-store")).await;
        let creator = common::client_of(&s, &creator).await;
        Self {
            s,
            cli,
            data,
            creator,
            provider,
        }
    }

    /// Puts a proxy between the agents started from now on and the node.
    async fn behind_proxy(&mut self) -> common::CuttableProxy {
        let node = self.s.node.http_url();
        let proxy =
            common::CuttableProxy::start(node.trim_start_matches("http://").trim_end_matches('/'))
                .await;
        self.cli.use_rpc(&proxy.url);
        proxy
    }

    /// Writes `provider.toml` and starts `pond provider run` on it.
    fn agent(&self, config: &str) -> common::Pond {
        std::fs::write(self.cli.dir.join("provider.toml"), config).expect("config");
        self.cli.spawn(
            &key_of(&self.provider),
            "agent.log",
            &["provider", "run", "--config", "provider.toml"],
        )
    }

    /// Waits (bounded) for the agent's first pass to register it.
    async fn registered(&self) {
        let started = std::time::Instant::now();
        while self
            .creator
            .provider(self.provider.address)
            .await
            .expect("provider")
            .is_none()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never registered; logs:\n{}",
                agent_logs(&self.cli.dir)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Posts the example job (with `input` instead of its own when given).
    async fn post(&self, input: Option<&pond_store::Manifest>) -> U256 {
        let now = self.creator.now().await.expect("now");
        let mut request = self.data.request(now, U256::ZERO);
        if let Some(input) = input {
            request.input_hash = alloy::primitives::B256::from(input.hash().0);
            request.input_uri = self.data.uri(&input.hash());
        }
        self.creator
            .post_job(request)
            .await
            .expect("job posted")
            .job_id
    }

    /// Waits (bounded) until the agent's log shows `text`.
    async fn logged(&self, text: &str) {
        let log = self.cli.dir.join("agent.log");
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(text)
        {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the agent never logged {text:?}; logs:\n{}",
                agent_logs(&self.cli.dir)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// With `graphql` configured, the agent acts on a new job when the API
/// announces it: its poll interval is an hour, so only the subscription
/// can make it take, run and reveal the job within the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_woken_by_graphql_takes_a_job_long_before_its_next_poll() {
    let m = Market::start("pond-provider-agent-graphql").await;
    let api = common::Api::start(&m.s).await;
    let config = common::provider_toml(common::free_port(), 1)
        .replace("poll-interval = \"1s\"", "poll-interval = \"1h\"");
    let mut agent = m.agent(&format!("graphql = \"{}\"\n{config}", api.ws_url));
    // The first pass (at start) registers and posts the offer.
    m.registered().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = m.post(None).await;
    let deals = wait_for(&m.creator, &[job], "revealed", &m.cli.dir).await;
    assert_eq!(deals.len(), 1);
    agent.assert_running();
    assert!(agent.terminate().success());
}

/// SIGTERM while a job runs: the agent takes no new work, finishes the
/// run, commits and reveals, and only then exits (within its grace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_provider_agent_finishes_the_run_in_flight_before_it_exits() {
    let m = Market::start("pond-provider-agent-drain").await;
    let mut agent = m.agent(&common::provider_toml(common::free_port(), 2));
    let slow = m
        .data
        .store
        .put_dir(
            &common::slow_align_input(&m.cli.dir, 20),
            &pond_store::Limits::default(),
        )
        .expect("slow input");
    let job = m.post(Some(&slow)).await;
    m.logged(&format!("running job {job}")).await;
    agent.request_stop();
    m.logged("finishing work in flight").await;
    // A job posted while it stops is not taken.
    let later = m.post(None).await;
    let status = agent.wait_exit(Duration::from_secs(90));
    let text = std::fs::read_to_string(m.cli.dir.join("agent.log")).unwrap_or_default();
    assert!(status.success(), "{status}; log:\n{text}");
    assert!(text.contains("work in flight finished; stopped"), "{text}");
    let deals = wait_for(&m.creator, &[job], "revealed", &m.cli.dir).await;
    assert_eq!(deals.len(), 1);
    let untaken = m.creator.job(later).await.expect("job").expect("exists");
    assert!(untaken.deal_id.is_zero(), "a job was taken while stopping");
}

/// An RPC outage while a job waits: the agent's passes fail, it backs off
/// and keeps running, and once the node answers again it takes, runs and
/// reveals the job posted meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_rides_out_an_rpc_outage() {
    let mut m = Market::start("pond-provider-agent-outage").await;
    let proxy = m.behind_proxy().await;
    let mut agent = m.agent(&common::provider_toml(common::free_port(), 1));
    m.registered().await;

    proxy.set_cut(true);
    let job = m.post(None).await;
    m.logged("pass failed, next in").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    agent.assert_running();
    let untaken = m.creator.job(job).await.expect("job").expect("exists");
    assert!(untaken.deal_id.is_zero(), "taken through a cut connection?");

    proxy.set_cut(false);
    let deals = wait_for(&m.creator, &[job], "revealed", &m.cli.dir).await;
    assert_eq!(deals.len(), 1);
    agent.assert_running();
    assert!(agent.terminate().success());
}

/// A node that stops answering while the agent is asked to stop: the
/// pass in progress hangs, yet the agent exits once its shutdown grace is
/// over (the journal resumes the rest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_stops_within_its_grace_when_the_node_hangs() {
    let mut m = Market::start("pond-provider-agent-hang").await;
    let proxy = m.behind_proxy().await;
    let config = format!(
        "shutdown-grace = \"3s\"\n{}",
        common::provider_toml(common::free_port(), 1)
    );
    let mut agent = m.agent(&config);
    m.registered().await;
    // A job taken and running, so a stop has work in flight to wait for.
    let slow = m
        .data
        .store
        .put_dir(
            &common::slow_align_input(&m.cli.dir, 20),
            &pond_store::Limits::default(),
        )
        .expect("slow input");
    let job = m.post(Some(&slow)).await;
    m.logged(&format!("running job {job}")).await;
    proxy.go_silent();
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.request_stop();
    let asked = std::time::Instant::now();
    let status = agent.wait_exit(Duration::from_secs(30));
    let text = std::fs::read_to_string(m.cli.dir.join("agent.log")).unwrap_or_default();
    assert!(status.success(), "{status}; log:\n{text}");
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "took {:?} to stop; log:\n{text}",
        asked.elapsed()
    );
    assert!(text.contains("after the shutdown grace"), "{text}");
}

/// A price policy per hardware class and duration: a GPU machine offers a
/// cheap CPU-only class for short jobs and its whole machine for the rest.
/// Each job is taken with the first offer in the file that serves it, at
/// that offer's price; a configuration without the CPU class cancels its
/// offer on the next start and keeps the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_prices_each_hardware_class_and_duration_with_its_own_offer() {
    let m = Market::start("pond-provider-agent-offers").await;
    let base = common::provider_toml(common::free_port(), 2);
    let (head, whole_machine) = base.split_once("[offer]\n").expect("one offer");
    let cpu_class =
        "[[offer]]\nprice = \"3\"\nmax-duration = \"15m\"\nhardware = { gpus = 0, gpu-memory-gb = 0 }\n";
    let both = format!("{head}{cpu_class}[[offer]]\n{whole_machine}");
    let agent = m.agent(&both);
    let status = || {
        m.cli.ok_json(
            &m.provider,
            &["provider", "status", "--config", "provider.toml"],
        )["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .map(|id| id.as_str().expect("id").parse::<U256>().expect("number"))
            .collect::<Vec<_>>()
    };
    m.registered().await;
    let started = std::time::Instant::now();
    while status().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "two offers never posted; logs:\n{}",
            agent_logs(&m.cli.dir)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let offers = status();
    for (offer, price) in offers.iter().zip([tokens(3), tokens(10)]) {
        let terms = m
            .creator
            .offer(*offer)
            .await
            .expect("offer")
            .expect("exists")
            .terms;
        assert_eq!(terms.price, price);
    }

    // A short CPU job, a long CPU job, a GPU job.
    let now = m.creator.now().await.expect("now");
    let mut jobs = Vec::new();
    for (gpus, minutes) in [(0, 10), (0, 60), (1, 10)] {
        let mut request = m.data.request(now, U256::ZERO);
        request.min_hardware.gpu_count = gpus;
        request.max_duration = minutes * 60;
        jobs.push(
            m.creator
                .post_job(request)
                .await
                .expect("job posted")
                .job_id,
        );
    }
    let deals = wait_for(&m.creator, &jobs, "revealed", &m.cli.dir).await;
    let mut paid = Vec::new();
    for deal in &deals {
        paid.push(
            m.creator
                .deal(*deal)
                .await
                .expect("deal")
                .expect("exists")
                .price,
        );
    }
    assert_eq!(
        paid,
        [tokens(3), tokens(10), tokens(10)],
        "the short CPU job at the CPU class's price, the rest at the machine's"
    );
    assert!(agent.terminate().success());

    // Without the CPU class: its offer is cancelled, the other kept.
    let agent = m.agent(&base);
    let started = std::time::Instant::now();
    while status() != [offers[1]] {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "offers {:?}; logs:\n{}",
            status(),
            agent_logs(&m.cli.dir)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let cpu = m
        .creator
        .offer(offers[0])
        .await
        .expect("offer")
        .expect("exists");
    assert!(!cpu.open, "the CPU class's offer is cancelled");
    assert!(
        m.creator
            .offer(offers[1])
            .await
            .expect("offer")
            .expect("exists")
            .open
    );
    assert!(agent.terminate().success());
}

/// A reorg drops the agent's commitment and reveal after both were mined,
/// and the base fee rises tenfold: the chain shows the deal active again,
/// and the agent sends both once more, paying the new base fee, with the
/// salt it journaled (the same commitment, never a second result); the
/// deal then completes and pays, and its outputs become garbage the
/// store collects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_agent_sends_again_what_a_reorg_dropped_at_a_higher_gas_price() {
    let m = Market::start("pond-provider-agent-reorg").await;
    let mut agent = m.agent(&common::provider_toml(common::free_port(), 1));
    m.registered().await;
    let slow = m
        .data
        .store
        .put_dir(
            &common::slow_align_input(&m.cli.dir, 10),
            &pond_store::Limits::default(),
        )
        .expect("slow input");
    let job = m.post(Some(&slow)).await;
    // Taken (its transaction mined) and running: the fork point.
    m.logged(&format!("running job {job}")).await;
    let fork = m.s.provider.get_block_number().await.expect("head");
    let deal = wait_for(&m.creator, &[job], "revealed", &m.cli.dir).await[0];
    let first = m.creator.deal(deal).await.expect("deal").expect("exists");
    let head = m.s.provider.get_block_number().await.expect("head");
    assert!(
        head > fork,
        "the commitment and reveal are mined after the fork"
    );
    let _: serde_json::Value =
        m.s.provider
            .raw_request(
                "anvil_reorg".into(),
                (head - fork, Vec::<serde_json::Value>::new()),
            )
            .await
            .expect("reorg");
    let dropped = m.creator.deal(deal).await.expect("deal").expect("exists");
    assert_eq!(
        dropped.state, "active",
        "the reorg dropped commit and reveal"
    );
    // And gas got dearer meanwhile: ten times the base fee from the next
    // block on; what the agent sends now must pay it.
    let base = u128::from(pond_devnode::chain::BASE_FEE) * 10;
    let _: serde_json::Value =
        m.s.provider
            .raw_request(
                "anvil_setNextBlockBaseFeePerGas".into(),
                (format!("{base:#x}"),),
            )
            .await
            .expect("base fee");
    m.s.mine().await;

    wait_for(&m.creator, &[job], "revealed", &m.cli.dir).await;
    let again = m.creator.deal(deal).await.expect("deal").expect("exists");
    assert_eq!(again.commitment, first.commitment, "the journaled salt");
    assert_eq!(again.result_hash, first.result_hash);
    let block =
        m.s.provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("block")
            .expect("exists");
    assert_eq!(
        block.header.base_fee_per_gas,
        Some(base as u64),
        "mined at the new base fee"
    );
    agent.assert_running();

    // Past the judge window the agent finalizes: paid once.
    let (before, _) = m.s.balances(m.provider.address).await;
    m.s.advance(again.judge_deadline.saturating_sub(m.s.now().await) + 1)
        .await;
    m.s.mine().await;
    wait_for(&m.creator, &[job], "completed", &m.cli.dir).await;
    let (after, _) = m.s.balances(m.provider.address).await;
    let fee = tokens(10) * U256::from(250) / U256::from(10_000);
    // The price less the protocol fee, and both collaterals back.
    assert_eq!(
        after - before,
        tokens(10) - fee + first.results_collateral + first.timeout_collateral
    );
    m.s.assert_vault_invariant().await;
    // The deal is over: once the agent has seen it end, its outputs are
    // garbage, and an agent keeping data for no time removes them.
    m.logged(&format!("deal {deal}: completed")).await;
    assert!(agent.terminate().success());
    let outputs = pond_store::ContentHash(first.result_hash.0);
    let store = LocalStore::open(m.cli.dir.join("agent").join("store")).expect("store");
    assert!(store.contains(&outputs));
    let config = common::provider_toml(common::free_port(), 1);
    let agent = m.agent(&format!("store-grace = \"0s\"\n{config}"));
    m.logged("no deal needs any more").await;
    assert!(
        !store.contains(&outputs),
        "the finished deal's outputs are collected"
    );
    assert!(agent.terminate().success());
}
