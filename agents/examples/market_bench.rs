//! The market end to end, measured (`docs/benchmarks.md`): devnode with
//! Pond deployed, four provider agents in this process, and a creator that
//! posts the example `align` job `JOBS` times at a steady rate, downloads
//! each revealed result, checks its hash and accepts it.
//!
//! Reports jobs completed per minute, post → verified-and-accepted latency
//! (p50, p99), and the agents' own overhead per job: post → revealed less
//! the job's run time (measured here, in this process, with the same
//! executor).
//!
//! ```sh
//! cargo run --release -p pond-agents --example market_bench [-- JOBS [PER_MINUTE]]
//! ```

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::{B256, U256};
use pond_agents::provider::{ProviderAgent, ProviderConfig};
use pond_client::{hardware::Hardware, Client, JobRequest};
use pond_deploy::testkit::{tokens, Stack};
use pond_jobs::{module::JobModule, run::run_job};
use pond_store::{ContentHash, Limits, LocalStore, Resolver};

const PROVIDERS: usize = 4;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jobs: usize = args.next().map_or(Ok(40), |a| a.parse())?;
    let per_minute: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    let scratch = tempfile::tempdir()?;

    // The job, and its run time here with the same executor.
    let wasm = std::fs::read(pond_jobs::testkit::example_wasm("align"))?;
    let input_dir = pond_jobs::testkit::example_dir("align").join("input");
    let module = JobModule::Wasm(wasm.clone());
    let mut native = Vec::new();
    for i in 0..5 {
        let started = Instant::now();
        run_job(
            &module,
            &input_dir,
            &scratch.path().join(format!("run-{i}")),
            None,
        )?;
        native.push(started.elapsed());
    }
    native.sort();
    let run_time = percentile(&native, 0.5);

    eprintln!("starting devnode and deploying Pond …");
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let creator = accounts[7].clone();
    s.fund(creator.address, tokens(1_000_000)).await;
    let rpc = s.node.http_url();
    let connect = |signer| Client::connect(&rpc, s.deployment.clone(), Some(signer));

    // The creator's data on a store server of its own.
    let store = Arc::new(LocalStore::open(scratch.path().join("creator-store"))?);
    let module_hash = pond_jobs::module::put_wasm_module(&store, &wasm)?;
    let input_hash = store.put_dir(&input_dir, &Limits::default())?.hash();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router =
        pond_store::http::router(Arc::clone(&store), pond_store::http::ServeConfig::default());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let uri = |hash: &ContentHash| format!("{base}/blobs/{hash}");

    // Four provider agents.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut agents = Vec::new();
    for (k, account) in accounts[2..2 + PROVIDERS].iter().enumerate() {
        s.fund(account.address, tokens(100_000)).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = ProviderConfig::parse(
            &format!(
                "data-dir = \"provider-{k}\"\nserve = \"127.0.0.1:{port}\"\npoll-interval = \"1s\"\n\
                 [hardware]\ngpus = 1\ngpu-memory-gb = 24\n\
                 [offer]\nprice = \"10\"\nmax-duration = \"2h\"\nmax-concurrent = 4\n"
            ),
            scratch.path(),
        )?;
        let agent = ProviderAgent::start(connect(account.signer.clone()).await?, config).await?;
        agent.serve_outputs().await?;
        let mut stopping = stopping.clone();
        agents.push(tokio::spawn(agent.run(async move {
            let _ = stopping.wait_for(|s| *s).await;
        })));
    }
    let client = connect(creator.signer.clone()).await?;
    // Every offer posted before the first job.
    while client.offer_count().await? < U256::from(PROVIDERS) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    eprintln!("posting {jobs} jobs at {per_minute} per minute …");
    let resolver = Resolver {
        local: Arc::new(LocalStore::open(scratch.path().join("fetched"))?),
        servers: Vec::new(),
        limits: Limits::default(),
        allow_file_uris: false,
    };
    let every = Duration::from_secs_f64(60.0 / per_minute as f64);
    let started = Instant::now();
    // (job, posted at, deal, revealed at)
    let mut open: Vec<(U256, Instant, U256, Option<Instant>)> = Vec::new();
    let (mut to_reveal, mut to_accept) = (Vec::new(), Vec::new());
    let mut posted = 0;
    let mut next_post = Instant::now();
    while to_accept.len() < jobs {
        if posted < jobs && Instant::now() >= next_post {
            let now = client.now().await?;
            let job = client
                .post_job(JobRequest {
                    module_hash: B256::from(module_hash.0),
                    module_uri: uri(&module_hash),
                    input_hash: B256::from(input_hash.0),
                    input_uri: uri(&input_hash),
                    min_hardware: Hardware {
                        gpu_count: 1,
                        ..Hardware::default()
                    },
                    max_duration: 3600,
                    max_price: tokens(20),
                    match_deadline: now + 3 * 3600,
                    bidding_window: 0,
                    offer_id: U256::ZERO,
                })
                .await?
                .job_id;
            open.push((job, Instant::now(), U256::ZERO, None));
            posted += 1;
            next_post += every;
        }
        let mut still = Vec::new();
        for (job, at, mut deal, mut revealed) in open.drain(..) {
            if deal.is_zero() {
                deal = client.job(job).await?.map_or(U256::ZERO, |j| j.deal_id);
            }
            if !deal.is_zero() && revealed.is_none() {
                let info = client.deal(deal).await?;
                if info.is_some_and(|d| d.state == "revealed") {
                    revealed = Some(Instant::now());
                    to_reveal.push(at.elapsed());
                }
            }
            if revealed.is_some() {
                let Some((result, result_uri)) = client.revealed_result(deal).await? else {
                    still.push((job, at, deal, revealed));
                    continue;
                };
                let tree = resolver
                    .tree(&result_uri, &ContentHash(result.0), "outputs")
                    .await?;
                assert_eq!(tree.hash().to_string(), pond_jobs::testkit::ALIGN_RESULT);
                client.accept_result(deal).await?;
                to_accept.push(at.elapsed());
                continue;
            }
            still.push((job, at, deal, revealed));
        }
        open = still;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    for agent in agents {
        agent.await??;
    }

    to_reveal.sort();
    to_accept.sort();
    let per_minute_done = jobs as f64 / elapsed.as_secs_f64() * 60.0;
    let overhead = percentile(&to_reveal, 0.5).saturating_sub(run_time);
    println!("jobs                      {jobs} (posted at {per_minute}/min, {PROVIDERS} provider agents, poll 1 s)");
    println!("completed per minute      {per_minute_done:.1}");
    println!(
        "post → accepted           p50 {:.2} s, p99 {:.2} s",
        percentile(&to_accept, 0.5).as_secs_f64(),
        percentile(&to_accept, 0.99).as_secs_f64()
    );
    println!(
        "post → revealed           p50 {:.2} s, p99 {:.2} s",
        percentile(&to_reveal, 0.5).as_secs_f64(),
        percentile(&to_reveal, 0.99).as_secs_f64()
    );
    println!("job run time (executor)   {:.3} s", run_time.as_secs_f64());
    println!(
        "agent overhead per job    {:.2} s (post → revealed p50 − run time)",
        overhead.as_secs_f64()
    );
    Ok(())
}
