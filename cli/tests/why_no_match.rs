//! `pond why-no-match` against devnode: a posted job no offer fits gets
//! each failing rule per offer, closest first; a job described by flags
//! finds the offer that fits; an unknown job is a one-line error.

mod common;

use common::{job_post_args, printed_text, ChainCli};
use pond_deploy::testkit::{tokens, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failing_rule_is_named_and_the_closest_offers_come_first() {
    let s = Stack::start().await;
    let accounts = s.node.accounts();
    let (creator, provider) = (accounts[7].clone(), accounts[2].clone());
    s.fund(creator.address, tokens(1_000)).await;
    s.fund(provider.address, tokens(1_000)).await;
    let cli = ChainCli::for_stack(&s, "pond-why");
    let pond = |who: &pond_devnode::node::DevAccount, args: &[&str]| cli.ok_json(who, args);
    pond(&provider, &common::REGISTER_ONE_GPU);
    let offer = |price: &str, duration: &str| {
        pond(
            &provider,
            &[
                "offer",
                "post",
                "--price",
                price,
                "--max-duration",
                duration,
            ],
        )["offerId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (roomy, short) = (offer("80", "2h"), offer("40", "30m"));

    // Two GPUs for at most 60 over an hour: neither offer fits.
    let mut args = job_post_args(&[]);
    for (flag, value) in [("--max-price", "60"), ("--gpus", "2")] {
        let at = args.iter().position(|a| a == flag).unwrap_or(0);
        args[at + 1] = value.into();
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let job = pond(&creator, &args)["jobId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let why = pond(&creator, &["why-no-match", &job]);
    assert_eq!(why["fitting"], serde_json::json!([]), "{why}");
    let closest = why["closest"].as_array().cloned().unwrap_or_default();
    assert_eq!(closest.len(), 2, "{why}");
    assert_eq!(
        closest[0]["offerId"],
        short.as_str(),
        "two reasons each; cheaper first: {why}"
    );
    let reasons = |k: usize| closest[k]["reasons"].to_string();
    assert!(reasons(0).contains("gpus: has 1, needs 2"), "{why}");
    assert!(
        reasons(0).contains("duration: runs jobs up to 30m"),
        "{why}"
    );
    assert_eq!(closest[1]["offerId"], roomy.as_str());
    assert!(
        reasons(1).contains("price: asks 80, the job pays at most 60"),
        "{why}"
    );
    assert!(why["notes"].to_string().contains("open"), "{why}");

    // A job not yet posted: one GPU, 100, an hour. The roomy offer fits.
    let spec = pond(
        &creator,
        &[
            "why-no-match",
            "--max-price",
            "100",
            "--max-duration",
            "1h",
            "--gpus",
            "1",
        ],
    );
    assert_eq!(spec["fitting"], serde_json::json!([roomy]), "{spec}");

    let unknown = cli.run_with(None, &[], None, &["why-no-match", "999"]);
    assert!(!unknown.status.success());
    assert!(
        printed_text(&unknown).contains("there is no job 999"),
        "{}",
        printed_text(&unknown)
    );
}
