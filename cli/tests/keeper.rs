//! `pond keeper run --once` against devnode: a market whose participants
//! all walked away (a job nobody took, an auction nobody closed, a deal
//! whose provider vanished, a delivered deal nobody accepted, a challenge
//! whose validators never voted) is brought to rest by the keeper alone,
//! pass by pass as time moves on, with the vault invariant intact. Each
//! pass is a new process: the keeper keeps no state between passes.

mod common;

use common::{job_post_args, key_of, ChainCli};
use pond_deploy::testkit::{tokens, Stack};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_brings_an_abandoned_market_to_rest() {
    let mut s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, provider, keeper) = (
        accounts[7].clone(),
        accounts[2].clone(),
        accounts[9].clone(),
    );
    let validators: Vec<_> = accounts[3..9]
        .iter()
        .filter(|a| a.address != creator.address)
        .map(|a| a.address)
        .collect();
    s.stake_validators(&validators, tokens(200)).await;
    s.fund(creator.address, tokens(2_000)).await;
    s.fund(provider.address, tokens(2_000)).await;
    let cli = ChainCli::for_stack(&s, "pond-keeper");
    let pond = |who: &pond_devnode::node::DevAccount, args: &[&str]| cli.ok_json(who, args);
    let id =
        |value: serde_json::Value, name: &str| value[name].as_str().unwrap_or_default().to_owned();
    pond(&provider, &common::REGISTER_ONE_GPU);
    let offer = id(
        pond(
            &provider,
            &[
                "offer",
                "post",
                "--price",
                "80",
                "--max-duration",
                "2h",
                "--max-concurrent",
                "8",
            ],
        ),
        "offerId",
    );
    let post = |extra: &[&str]| {
        let args = job_post_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        pond(&creator, &args)
    };
    let nobody_takes = id(post(&["--match-within", "1m"]), "jobId");
    let auction = id(post(&["--auction", "10m", "--match-within", "1h"]), "jobId");
    pond(&provider, &["market", "bid", &auction, "--price", "70"]);
    let vanished = id(post(&["--offer", &offer]), "dealId");
    let unaccepted = id(post(&["--offer", &offer]), "dealId");
    let challenged_job = post(&["--offer", &offer]);
    let (challenged_job, challenged) = (
        id(challenged_job.clone(), "jobId"),
        id(challenged_job, "dealId"),
    );
    let accepted_job = post(&["--offer", &offer]);
    let (accepted_job, accepted) = (
        id(accepted_job.clone(), "jobId"),
        id(accepted_job, "dealId"),
    );
    let result = alloy::primitives::B256::repeat_byte(0x42);
    // The binary sent the provider's transactions: the testkit's cached
    // nonces are stale.
    s.refresh_provider();
    for deal in [&unaccepted, &challenged, &accepted] {
        s.deliver(provider.address, deal.parse().unwrap_or_default(), result)
            .await;
    }
    // The creator settles by job id: `job accept` and `job challenge`.
    pond(&creator, &["job", "accept", &accepted_job]);
    let case = id(
        pond(&creator, &["job", "challenge", &challenged_job]),
        "caseId",
    );
    s.mine().await;

    // The creator's jobs, newest first; everyone's; the open case.
    let listed = pond(&creator, &["job", "list"]);
    let ids: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(ids, ["6", "5", "4", "3", "2", "1"], "{listed}");
    assert_eq!(
        pond(&keeper, &["job", "list"]).as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        pond(&keeper, &["job", "list", "--all"])
            .as_array()
            .map(Vec::len),
        Some(6)
    );
    let cases = pond(&keeper, &["case", "list"]);
    assert_eq!(cases[0]["id"], case.as_str(), "{cases}");

    let keep = || -> BTreeSet<(String, String)> {
        let out = cli.run_with(
            Some(&key_of(&keeper)),
            &[],
            None,
            &["keeper", "run", "--once", "--json"],
        );
        assert!(out.status.success(), "{}", common::printed_text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| (id(v.clone(), "action"), id(v, "id")))
            .collect()
    };
    let steps = |list: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, i)| ((*a).to_owned(), (*i).to_owned()))
            .collect()
    };
    let week = 7 * 24 * 3600;

    // Nothing has a deadline behind it yet; the committee can be drawn.
    assert_eq!(keep(), steps(&[("draw-committee", &case)]));
    assert_eq!(
        keep(),
        steps(&[]),
        "a second keeper finds nothing left to do"
    );

    // A week later, every deadline has passed.
    s.advance(week).await;
    s.mine().await;
    let second = keep();
    assert_eq!(
        second,
        steps(&[
            ("expire-job", &nobody_takes),
            ("close-auction", &auction),
            ("timeout-deal", &vanished),
            ("finalize-deal", &unaccepted),
            ("resolve-case", &case),
        ]),
    );
    // No validator voted: round 2 is drawn once its randomness is known.
    s.mine().await;
    assert_eq!(keep(), steps(&[("draw-committee", &case)]));

    // Another week: the auction's winner never delivered either, and the
    // second round ends without a decision.
    s.advance(week).await;
    s.mine().await;
    let auction_deal = "5";
    assert_eq!(
        keep(),
        steps(&[("timeout-deal", auction_deal), ("resolve-case", &case)])
    );
    assert_eq!(keep(), steps(&[]));

    // `job watch` of a finished job prints its last state and returns.
    let watched = cli.run_with(None, &[], None, &["job", "watch", &nobody_takes]);
    assert!(
        watched.status.success(),
        "{}",
        common::printed_text(&watched)
    );
    assert_eq!(
        String::from_utf8_lossy(&watched.stdout).trim(),
        format!("job {nobody_takes} expired")
    );
    let watched = cli.run_with(None, &[], None, &["job", "watch", &challenged_job]);
    assert!(
        String::from_utf8_lossy(&watched.stdout).contains("case resolved"),
        "{}",
        common::printed_text(&watched)
    );

    let state = |args: &[&str], field: &str| pond(&keeper, args)[field].clone();
    assert_eq!(state(&["deal", "status", &accepted], "state"), "completed");
    assert_eq!(state(&["job", "status", &nobody_takes], "state"), "expired");
    assert_eq!(state(&["deal", "status", &vanished], "state"), "timed_out");
    assert_eq!(
        state(&["deal", "status", &unaccepted], "state"),
        "completed"
    );
    assert_eq!(
        state(&["deal", "status", auction_deal], "state"),
        "timed_out"
    );
    assert_eq!(state(&["case", "show", &case], "state"), "resolved");
    s.assert_vault_invariant().await;
}

/// POND_LOG_FORMAT=json: every log line on stderr is one JSON object
/// (level, target, fields), for a log shipper; none reaches stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_can_be_json_lines() {
    let s = Stack::start().await;
    let cli = ChainCli::for_stack(&s, "pond-keeper-json-logs");
    let keeper = key_of(&s.node.accounts()[3]);
    let out = cli.run_with(
        Some(&keeper),
        &[("POND_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
        None,
        &["keeper", "run", "--once", "--json"],
    );
    assert!(out.status.success(), "{}", common::printed_text(&out));
    let logs = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "debug logging printed nothing");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            value["level"].is_string() && value["fields"].is_object(),
            "{line}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("\"level\""),
        "a log line on stdout: {stdout}"
    );
}
