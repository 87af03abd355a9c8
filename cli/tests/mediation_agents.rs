//! Challenges decided by validator agents alone, on devnode with the real
//! contracts, the real WASM executor and HTTP stores on loopback: three
//! `pond validator run` processes stake by themselves, draw the
//! committees, re-run the challenged jobs, fetch and judge the providers'
//! outputs, commit and reveal their votes, and resolve the cases. An
//! honest provider agent's result is upheld and it is paid; a provider that
//! reveals wrong outputs is rejected and the creator compensated. Every
//! amount is checked to the token unit.

mod common;

use std::time::Duration;

use alloy::primitives::{B256, U256};
use common::{agent_logs, client_of, key_of, ChainCli, ExampleJob, Pond};
use pond_bindings::commitment::result_commitment;
use pond_client::{Client, OfferTerms};
use pond_deploy::testkit::{tokens, Stack};

/// Waits (bounded) until deal `deal` is in `state`, mining a block now
/// and then (the committee's randomness is a later block's hash).
async fn wait_for_deal(s: &Stack, client: &Client, deal: U256, state: &str, dir: &std::path::Path) {
    let started = std::time::Instant::now();
    loop {
        let now = client.deal(deal).await.expect("deal").expect("exists");
        if now.state == state {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "deal {deal} is {}, not {state}; logs:\n{}",
            now.state,
            agent_logs(dir)
        );
        s.mine().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_agents_uphold_an_honest_result_and_reject_a_wrong_one() {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, honest, cheat) = (
        accounts[7].clone(),
        accounts[2].clone(),
        accounts[6].clone(),
    );
    let validators = [
        accounts[3].clone(),
        accounts[4].clone(),
        accounts[5].clone(),
    ];
    for who in [&creator, &honest, &cheat]
        .into_iter()
        .chain(validators.iter())
    {
        s.fund(who.address, tokens(1_000)).await;
    }
    let cli = ChainCli::for_stack(&s, "pond-mediation-agents");
    let data = ExampleJob::serve("align", &cli.dir.join("creator-store")).await;
    let creator_client = client_of(&s, &creator).await;
    let cheat_client = client_of(&s, &cheat).await;

    // Three validator agents, each with a directory of its own.
    let mut agents: Vec<Pond> = Vec::new();
    let metrics_port = common::free_port();
    for (i, v) in validators.iter().enumerate() {
        let config = format!("validator-{i}.toml");
        // The first also serves its metrics.
        let metrics = if i == 0 {
            format!("metrics = \"127.0.0.1:{metrics_port}\"\n")
        } else {
            String::new()
        };
        std::fs::write(
            cli.dir.join(&config),
            format!(
                "data-dir = \"validator-{i}\"\nstake = \"200\"\npoll-interval = \"1s\"\n{metrics}"
            ),
        )
        .expect("config");
        agents.push(cli.spawn(
            &key_of(v),
            &format!("validator-{i}.log"),
            &["validator", "run", "--config", &config],
        ));
    }
    let port = common::free_port();
    std::fs::write(
        cli.dir.join("provider.toml"),
        common::provider_toml(port, 4),
    )
    .expect("config");
    agents.push(cli.spawn(
        &key_of(&honest),
        "provider.log",
        &["provider", "run", "--config", "provider.toml"],
    ));
    for v in &validators {
        let started = std::time::Instant::now();
        while creator_client
            .validator(v.address)
            .await
            .expect("validator")
            .stake
            != tokens(200)
        {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{} did not stake; logs:\n{}",
                v.address,
                agent_logs(&cli.dir)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    // The honest provider's deal: taken, run and revealed by its agent.
    let now = creator_client.now().await.expect("now");
    let honest_job = creator_client
        .post_job(data.request(now, U256::ZERO))
        .await
        .expect("posted")
        .job_id;
    let honest_deal = loop {
        let deal = creator_client
            .job(honest_job)
            .await
            .expect("job")
            .expect("exists")
            .deal_id;
        if !deal.is_zero() {
            break deal;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    wait_for_deal(&s, &creator_client, honest_deal, "revealed", &cli.dir).await;

    // The cheat: takes a job on its own offer and reveals outputs that are
    // not the job's (served, so validators can fetch and judge them).
    let hardware = pond_client::hardware::Hardware {
        gpu_count: 1,
        gpu_memory_gb: 24,
        ..Default::default()
    };
    cheat_client
        .register_provider(hardware, "")
        .await
        .expect("registered");
    let (offer, _) = cheat_client
        .post_offer(OfferTerms {
            hardware,
            price: tokens(10),
            min_duration: 300,
            max_duration: 7200,
            max_concurrent: 1,
            expiry: now + 86_400,
        })
        .await
        .expect("offer");
    let cheat_deal = creator_client
        .post_job(data.request(now, offer))
        .await
        .expect("posted")
        .deal_id
        .expect("matched at once");
    let wrong_dir = cli.dir.join("wrong-outputs");
    std::fs::create_dir_all(&wrong_dir).expect("dir");
    std::fs::write(wrong_dir.join("scores.tsv"), "made up\n").expect("written");
    let wrong = data
        .store
        .put_dir(&wrong_dir, &pond_store::Limits::default())
        .expect("stored");
    let wrong_hash = B256::from(wrong.hash().0);
    let salt = B256::repeat_byte(0x5a);
    cheat_client
        .commit_result(
            cheat_deal,
            result_commitment(cheat_deal, cheat.address, wrong_hash, salt),
        )
        .await
        .expect("committed");
    cheat_client
        .reveal_result(cheat_deal, wrong_hash, &data.uri(&wrong.hash()), salt)
        .await
        .expect("revealed");

    // The creator challenges both; the agents do the rest.
    let cheat_info = creator_client
        .deal(cheat_deal)
        .await
        .expect("deal")
        .expect("exists");
    let (fee, _, _, _, reward_bps, _) = {
        let p = s.mediation().parameters().call().await.expect("parameters");
        (p._0, p._1, p._2, p._3, p._4, p._5)
    };
    let (creator_before, _) = s.balances(creator.address).await;
    creator_client
        .challenge_result(honest_deal)
        .await
        .expect("challenged");
    creator_client
        .challenge_result(cheat_deal)
        .await
        .expect("challenged");
    wait_for_deal(&s, &creator_client, honest_deal, "completed", &cli.dir).await;
    wait_for_deal(&s, &creator_client, cheat_deal, "rejected", &cli.dir).await;

    // Each validator: a third of the honest case's fee, and a third of the
    // reward out of the cheat's results collateral; nobody slashed.
    let three = U256::from(3);
    let reward = cheat_info.results_collateral * U256::from(reward_bps) / U256::from(10_000);
    for v in &validators {
        let info = creator_client
            .validator(v.address)
            .await
            .expect("validator");
        assert_eq!(info.earned, fee / three + reward / three, "{}", v.address);
        assert_eq!(info.slashed, U256::ZERO, "{}", v.address);
        assert_eq!(info.with_majority, 2, "{}", v.address);
    }
    // The creator: paid the honest deal's price and lost its fee; got the
    // cheat's price and fee back, and the cheat's results collateral less
    // what the validators were paid (the remainder of the split stays with
    // the creator).
    let (creator_after, creator_locked) = s.balances(creator.address).await;
    assert_eq!(
        creator_after,
        creator_before - fee + cheat_info.price + cheat_info.results_collateral
            - reward / three * three,
        "creator: before {creator_before}"
    );
    assert_eq!(creator_locked, U256::ZERO);
    s.assert_vault_invariant().await;
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let earned = fee / three + reward / three;
    let text = common::wait_for_metric(&metrics, "pond_validator_earned", earned.to::<u64>()).await;
    for line in [
        "pond_validator_votes_worked_out_total 2",
        "pond_validator_votes_committed_total 2",
        "pond_validator_votes_revealed_total 2",
        "pond_validator_slashed 0",
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}:\n{text}");
    }

    // The seed outlives the beacon's window: once the round's block is
    // more than 256 blocks old, it is computed from the block's header,
    // to the same value.
    let case = U256::from(1);
    let round = creator_client
        .case(case)
        .await
        .expect("case")
        .expect("exists")
        .round;
    let fresh = creator_client.case_seed(case, round).await.expect("seed");
    for _ in 0..260 {
        s.mine().await;
    }
    let late = creator_client.case_seed(case, round).await.expect("seed");
    assert!(fresh.is_some());
    assert_eq!(late, fresh);
    for agent in agents {
        assert!(agent.terminate().success());
    }
}
