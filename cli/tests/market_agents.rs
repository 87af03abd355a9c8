//! The market under its own power, on devnode with the real contracts,
//! the real WASM executor, HTTP stores on loopback and the indexer's
//! GraphQL API: one creator; three providers — an honest agent, a cheat
//! that reveals outputs it never computed, and an agent killed (SIGKILL)
//! in the middle of a job; five validators — three `pond validator run`
//! agents, a lazy one that commits and never reveals, and a contrarian
//! that always votes against. Committees are five, so every validator
//! sits on every case. Time moves only by devnode's controls. Every
//! outcome is checked to the token unit against the contracts' views and
//! against GraphQL.

mod common;

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
};
use common::{agent_logs, client_of, key_of, Api, ChainCli, ExampleJob, Pond};
use pond_bindings::commitment::{result_commitment, vote_commitment};
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

/// Waits (bounded) until `job` is matched; its deal.
async fn deal_of(client: &Client, job: U256) -> U256 {
    let started = std::time::Instant::now();
    loop {
        let deal = client.job(job).await.expect("job").expect("exists").deal_id;
        if !deal.is_zero() {
            return deal;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job {job} never matched"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A validator the test drives by hand: it commits `vote` (a result hash
/// and output digest) in case `case` once drawn, and reveals it when
/// `reveal` is set and the reveal phase has begun.
async fn vote_by_hand(
    s: &Stack,
    client: &Client,
    case: U256,
    vote: (B256, B256),
    reveal: bool,
    dir: &std::path::Path,
) {
    let me = client.account().expect("account");
    let salt = B256::repeat_byte(0x33);
    let started = std::time::Instant::now();
    loop {
        let info = client.case(case).await.expect("case").expect("exists");
        if info.state == "voting" && info.validators.contains(&me) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{me} never drawn in case {case} ({}); logs:\n{}",
            info.state,
            agent_logs(dir)
        );
        s.mine().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    client
        .commit_vote(case, vote_commitment(case, me, vote.0, vote.1, salt))
        .await
        .expect("committed");
    if !reveal {
        return;
    }
    // Reveals open once all five committed (the agents commit on their own).
    let started = std::time::Instant::now();
    while client
        .reveal_vote(case, vote.0, vote.1, salt)
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{me} could not reveal in case {case}; logs:\n{}",
            agent_logs(dir)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_market_settles_honest_cheating_and_vanished_providers_and_slashes_lazy_and_contrarian_validators(
) {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let owner = accounts[0].address;
    let creator = accounts[9].clone();
    let (honest, cheat, vanished) = (
        accounts[2].clone(),
        accounts[6].clone(),
        accounts[8].clone(),
    );
    let agents_staking = [
        accounts[3].clone(),
        accounts[4].clone(),
        accounts[5].clone(),
    ];
    let (lazy, contrarian) = (accounts[1].clone(), accounts[7].clone());
    for who in [&creator, &honest, &cheat, &vanished, &lazy, &contrarian]
        .into_iter()
        .chain(agents_staking.iter())
    {
        s.fund(who.address, tokens(1_000)).await;
    }
    // Committees of five: every validator sits on every case.
    let (fee, _, commit_window, reveal_window, reward_bps, slash_bps) = {
        let p = s.mediation().parameters().call().await.expect("parameters");
        (p._0, p._1, p._2, p._3, p._4, p._5)
    };
    let five = s
        .mediation()
        .setParameters(fee, 5, commit_window, reveal_window, reward_bps, slash_bps)
        .calldata()
        .clone();
    s.govern(s.deployment.contracts.mediation, five).await;
    assert_eq!(s.mediation().parameters().call().await.expect("p")._1, 5);

    let cli = ChainCli::for_stack(&s, "pond-market-agents");
    let api = Api::start(&s).await;
    let data = ExampleJob::serve("align", &cli.dir.join("creator-store")).await;
    let creator_client = client_of(&s, &creator).await;
    let cheat_client = client_of(&s, &cheat).await;
    let lazy_client = client_of(&s, &lazy).await;
    let contrarian_client = client_of(&s, &contrarian).await;
    let stake = tokens(200);
    lazy_client.stake(stake).await.expect("staked");
    contrarian_client.stake(stake).await.expect("staked");

    // Three validator agents, each with a directory of its own.
    let mut agents: Vec<Pond> = Vec::new();
    let metrics_port = common::free_port();
    for (i, v) in agents_staking.iter().enumerate() {
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
    std::fs::write(
        cli.dir.join("provider.toml"),
        common::provider_toml(common::free_port(), 4),
    )
    .expect("config");
    agents.push(cli.spawn(
        &key_of(&honest),
        "provider.log",
        &["provider", "run", "--config", "provider.toml"],
    ));
    for v in &agents_staking {
        let started = std::time::Instant::now();
        while creator_client
            .validator(v.address)
            .await
            .expect("validator")
            .stake
            != stake
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
    let honest_deal = deal_of(&creator_client, honest_job).await;
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

    // The vanishing provider: its agent takes a job only it can serve (48
    // GB of GPU memory), starts running it, and is killed mid-run.
    let vanished_port = common::free_port();
    std::fs::write(
        cli.dir.join("vanished.toml"),
        common::provider_toml_with("vanished", vanished_port, 48, 1),
    )
    .expect("config");
    let vanished_agent = cli.spawn(
        &key_of(&vanished),
        "vanished.log",
        &["provider", "run", "--config", "vanished.toml"],
    );
    let slow = data
        .store
        .put_dir(
            &common::slow_align_input(&cli.dir, 200),
            &pond_store::Limits::default(),
        )
        .expect("slow input");
    let mut request = data.request(now, U256::ZERO);
    request.input_hash = B256::from(slow.hash().0);
    request.input_uri = data.uri(&slow.hash());
    request.min_hardware.gpu_memory_gb = 48;
    let vanished_job = creator_client
        .post_job(request)
        .await
        .expect("posted")
        .job_id;
    let vanished_deal = deal_of(&creator_client, vanished_job).await;
    let running = creator_client
        .deal(vanished_deal)
        .await
        .expect("deal")
        .expect("exists");
    assert_eq!(
        (running.state, running.provider),
        ("active", vanished.address),
        "the slow job finished before its provider could be killed; logs:\n{}",
        agent_logs(&cli.dir)
    );
    vanished_agent.kill();
    let (vanished_before, _) = s.balances(vanished.address).await;

    // The creator challenges the honest and the cheat's result; the agents,
    // the lazy and the contrarian validator vote.
    let honest_info = creator_client
        .deal(honest_deal)
        .await
        .expect("deal")
        .expect("exists");
    let cheat_info = creator_client
        .deal(cheat_deal)
        .await
        .expect("deal")
        .expect("exists");
    let (creator_before, _) = s.balances(creator.address).await;
    let (owner_before, _) = s.balances(owner).await;
    let (honest_before, _) = s.balances(honest.address).await;
    let (cheat_before, _) = s.balances(cheat.address).await;
    let (honest_case, _) = creator_client
        .challenge_result(honest_deal)
        .await
        .expect("challenged");
    let (cheat_case, _) = creator_client
        .challenge_result(cheat_deal)
        .await
        .expect("challenged");
    let garbage = (B256::repeat_byte(0xc0), B256::ZERO);
    for case in [honest_case, cheat_case] {
        vote_by_hand(&s, &lazy_client, case, garbage, false, &cli.dir).await;
        vote_by_hand(&s, &contrarian_client, case, garbage, true, &cli.dir).await;
    }
    // The three agents reveal too (four of five votes revealed, as the
    // API shows them).
    for case in [honest_case, cheat_case] {
        let started = std::time::Instant::now();
        loop {
            let head = s.provider.get_block_number().await.expect("head");
            let answer = api
                .query_at(
                    head,
                    &format!("{{ case(id: \"{case}\") {{ votes {{ resultHash }} }} }}"),
                )
                .await;
            let revealed = answer["data"]["case"]["votes"]
                .as_array()
                .map_or(0, |votes| {
                    votes.iter().filter(|v| !v["resultHash"].is_null()).count()
                });
            if revealed == 4 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "case {case}: {answer}; logs:\n{}",
                agent_logs(&cli.dir)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    // The lazy validator never reveals: each case waits for its reveal
    // deadline (the commit window, then the reveal window, after the
    // draw), which devnode's clock passes. The vanished provider's
    // execution deadline passes with it.
    s.advance(commit_window + reveal_window + 1).await;
    s.mine().await;
    wait_for_deal(&s, &creator_client, honest_deal, "completed", &cli.dir).await;
    wait_for_deal(&s, &creator_client, cheat_deal, "rejected", &cli.dir).await;
    creator_client
        .claim_timeout(vanished_deal)
        .await
        .expect("timed out");
    let vanished_info = creator_client
        .deal(vanished_deal)
        .await
        .expect("deal")
        .expect("exists");
    assert_eq!(vanished_info.state, "timed_out");

    // Validators: the three agents split the honest case's fee and the
    // reward out of the cheat's results collateral; the lazy and the
    // contrarian lose the slash rate of their stake in each case.
    let three = U256::from(3);
    let bps = |amount: U256, bps: u64| amount * U256::from(bps) / U256::from(10_000);
    let reward = bps(cheat_info.results_collateral, reward_bps);
    let earned = fee / three + reward / three;
    let first_slash = bps(stake, slash_bps);
    let slashed = first_slash + bps(stake - first_slash, slash_bps);
    let mut expected: Vec<(Address, U256, U256)> = agents_staking
        .iter()
        .map(|v| (v.address, earned, U256::ZERO))
        .collect();
    expected.push((lazy.address, U256::ZERO, slashed));
    expected.push((contrarian.address, U256::ZERO, slashed));
    for &(validator, earned, slashed) in &expected {
        let info = creator_client
            .validator(validator)
            .await
            .expect("validator");
        assert_eq!(
            (info.earned, info.slashed),
            (earned, slashed),
            "{validator}"
        );
        assert_eq!(info.stake, stake - slashed, "{validator}");
    }
    for v in &agents_staking {
        let info = creator_client
            .validator(v.address)
            .await
            .expect("validator");
        assert_eq!(info.with_majority, 2, "{}", v.address);
    }
    assert_eq!(
        creator_client
            .validator(lazy.address)
            .await
            .expect("v")
            .no_shows,
        2
    );
    assert_eq!(
        creator_client
            .validator(contrarian.address)
            .await
            .expect("v")
            .against_majority,
        2
    );

    // The creator: lost the honest case's fee; got the cheat's price and
    // fee back with its results collateral less the validators' reward;
    // got the vanished deal's price back with its timeout collateral.
    let (creator_after, creator_locked) = s.balances(creator.address).await;
    assert_eq!(
        creator_after,
        creator_before - fee + cheat_info.price + cheat_info.results_collateral
            - reward / three * three
            + vanished_info.price
            + vanished_info.timeout_collateral,
        "creator: before {creator_before}"
    );
    assert_eq!(creator_locked, U256::ZERO);
    // Providers: the honest one paid its price less the protocol fee; the
    // cheat lost its results collateral; the vanished one its timeout
    // collateral.
    let protocol_fee_bps = s.deals().parameters().call().await.expect("parameters")._0;
    let protocol_fee = bps(honest_info.price, protocol_fee_bps);
    assert_eq!(
        s.balances(honest.address).await,
        (
            honest_before + honest_info.price - protocol_fee
                + honest_info.results_collateral
                + honest_info.timeout_collateral,
            U256::ZERO
        )
    );
    assert_eq!(
        s.balances(cheat.address).await,
        (cheat_before + cheat_info.timeout_collateral, U256::ZERO)
    );
    assert_eq!(
        s.balances(vanished.address).await,
        (
            vanished_before + vanished_info.results_collateral,
            U256::ZERO
        )
    );
    // The treasury: the protocol fee, both slashes of both validators, and
    // what the fee's three-way split left over.
    let (owner_after, _) = s.balances(owner).await;
    assert_eq!(
        owner_after,
        owner_before + protocol_fee + slashed + slashed + (fee - fee / three * three)
    );
    s.assert_vault_invariant().await;

    // GraphQL says the same.
    let head = s.provider.get_block_number().await.expect("head");
    let answer = api
        .query_at(
            head,
            "{ deals(first: 10) { edges { node { id state } } } \
               validators(first: 10) { edges { node { address earned slashed noShows againstMajority withMajority } } } }",
        )
        .await;
    let deal_states: std::collections::BTreeMap<String, String> = answer["data"]["deals"]["edges"]
        .as_array()
        .expect("deals")
        .iter()
        .map(|e| {
            (
                e["node"]["id"].as_str().unwrap_or_default().to_owned(),
                e["node"]["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (deal, state) in [
        (honest_deal, "completed"),
        (cheat_deal, "rejected"),
        (vanished_deal, "timed_out"),
    ] {
        assert_eq!(
            deal_states.get(&deal.to_string()).map(String::as_str),
            Some(state),
            "deal {deal}: {answer}"
        );
    }
    let validators = answer["data"]["validators"]["edges"]
        .as_array()
        .expect("validators");
    for &(validator, earned, slashed) in &expected {
        let node = validators
            .iter()
            .map(|e| &e["node"])
            .find(|n| {
                n["address"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&validator.to_string()))
            })
            .unwrap_or_else(|| panic!("{validator} not in {answer}"));
        assert_eq!(node["earned"], earned.to_string(), "{validator}");
        assert_eq!(node["slashed"], slashed.to_string(), "{validator}");
    }

    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let text = common::wait_for_metric(&metrics, "pond_validator_earned", earned.to::<u64>()).await;
    for line in [
        "pond_validator_votes_worked_out_total 2",
        "pond_validator_votes_committed_total 2",
        "pond_validator_votes_revealed_total 2",
        "pond_validator_slashed 0",
    ] {
        assert!(text.contains(&format!("\n{line}\n")), "{line}:\n{text}");
    }

    // The seed outlives ArbSys's 256 blocks: the beacon reads the round's
    // hash from the EIP-2935 history (past that, about a day on Arbitrum,
    // the client computes it from the block's header), to the same value.
    let round = creator_client
        .case(honest_case)
        .await
        .expect("case")
        .expect("exists")
        .round;
    let fresh = creator_client
        .case_seed(honest_case, round)
        .await
        .expect("seed");
    for _ in 0..260 {
        s.mine().await;
    }
    let late = creator_client
        .case_seed(honest_case, round)
        .await
        .expect("seed");
    assert!(fresh.is_some());
    assert_eq!(late, fresh);
    for agent in agents {
        assert!(agent.terminate().success());
    }
}

/// A validator agent that was down through its reveal window journals the
/// vote as missed when it comes back, and still resolves the case: a vote
/// the contracts no longer take must not block the step that moves the
/// case on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_agent_back_after_its_reveal_window_records_the_miss_and_resolves_the_case() {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, provider, agent_key) = (
        accounts[9].clone(),
        accounts[2].clone(),
        accounts[3].clone(),
    );
    let (first, second) = (accounts[4].clone(), accounts[5].clone());
    for who in [&creator, &provider, &agent_key, &first, &second] {
        s.fund(who.address, tokens(1_000)).await;
    }
    let cli = ChainCli::for_stack(&s, "pond-missed-reveal");
    let data = ExampleJob::serve("align", &cli.dir.join("creator-store")).await;
    let creator_client = client_of(&s, &creator).await;
    let (first_client, second_client) = (client_of(&s, &first).await, client_of(&s, &second).await);
    first_client.stake(tokens(200)).await.expect("staked");
    second_client.stake(tokens(200)).await.expect("staked");
    std::fs::write(
        cli.dir.join("provider.toml"),
        common::provider_toml(common::free_port(), 1),
    )
    .expect("config");
    let provider_agent = cli.spawn(
        &key_of(&provider),
        "provider.log",
        &["provider", "run", "--config", "provider.toml"],
    );
    let metrics_port = common::free_port();
    std::fs::write(
        cli.dir.join("validator.toml"),
        format!(
            "data-dir = \"validator\"\nstake = \"200\"\npoll-interval = \"1s\"\n\
             metrics = \"127.0.0.1:{metrics_port}\"\n"
        ),
    )
    .expect("config");
    let run = ["validator", "run", "--config", "validator.toml"];
    let validator = cli.spawn(&key_of(&agent_key), "validator-1.log", &run);
    let now = creator_client.now().await.expect("now");
    let job = creator_client
        .post_job(data.request(now, U256::ZERO))
        .await
        .expect("posted")
        .job_id;
    let deal = deal_of(&creator_client, job).await;
    wait_for_deal(&s, &creator_client, deal, "revealed", &cli.dir).await;
    let (case, _) = creator_client
        .challenge_result(deal)
        .await
        .expect("challenged");

    // The agent draws the committee (all three), works out its vote and
    // commits it; one hand-driven validator commits too, the other not yet,
    // so reveals are not open. Then the agent goes down.
    let garbage = (B256::repeat_byte(0xc0), B256::ZERO);
    vote_by_hand(&s, &first_client, case, garbage, false, &cli.dir).await;
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    common::wait_for_metric(&metrics, "pond_validator_votes_committed_total", 1).await;
    validator.kill();
    vote_by_hand(&s, &second_client, case, garbage, false, &cli.dir).await;
    // The whole reveal window passes while it is down.
    let info = creator_client
        .case(case)
        .await
        .expect("case")
        .expect("exists");
    let now = creator_client.now().await.expect("now");
    s.advance(info.reveal_deadline - now + 1).await;
    s.mine().await;

    // Back: the vote is journalled as missed, and the case moves on (no
    // majority in round 0 — nobody revealed — so a second round is drawn).
    let back = cli.spawn(&key_of(&agent_key), "validator-2.log", &run);
    let started = std::time::Instant::now();
    loop {
        let now = creator_client
            .case(case)
            .await
            .expect("case")
            .expect("exists");
        if now.round > info.round || now.state == "resolved" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "case {case} stayed in round {} ({}); logs:\n{}",
            now.round,
            now.state,
            agent_logs(&cli.dir)
        );
        s.mine().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let status = cli.ok_json(
        &agent_key,
        &["validator", "status", "--config", "validator.toml"],
    );
    let round_zero = status["votes"]
        .as_array()
        .and_then(|votes| votes.iter().find(|v| v["round"] == info.round))
        .unwrap_or_else(|| panic!("no round-{} vote: {status}", info.round));
    assert_eq!(round_zero["stage"], "missed", "{status}");
    let log = std::fs::read_to_string(cli.dir.join("validator-2.log")).expect("log");
    assert!(
        log.matches("RevealWindowClosed").count() <= 1,
        "the agent kept retrying a closed reveal:\n{log}"
    );
    assert!(back.terminate().success());
    assert!(provider_agent.terminate().success());
}
