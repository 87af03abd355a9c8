//! Every role through the binary on one chain: validators deposit and
//! stake; a provider posts an offer and takes a creator's open job, wins
//! another in an auction (closed by anyone), and delivers; the creator
//! challenges; anyone draws the committee; the drawn validators commit and
//! reveal their votes (salts kept on disk per round); anyone resolves; the
//! provider is paid and the majority credited. The other outcome too: a
//! wrong result challenged by job id is rejected by the committee and the
//! creator gets the price back. A job nobody takes is expired by anyone.

mod common;

use alloy::primitives::B256;
use common::{job_post_args, ChainCli};
use pond_deploy::testkit::{ok, tokens, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_is_mediated_by_validators_using_only_the_binary() {
    let s = Stack::start().await;
    let node_accounts = s.node.accounts();
    let creator = node_accounts[7].clone();
    let provider = node_accounts[2].clone();
    let validators: Vec<_> = node_accounts[3..6].to_vec();
    for account in [&creator, &provider].into_iter().chain(validators.iter()) {
        ok(s.token()
            .mint(account.address, tokens(1_000))
            .from(s.owner())
            .send()
            .await)
        .await;
    }
    let cli = ChainCli::for_stack(&s, "pond-mediation");
    let pond = |who: &pond_devnode::node::DevAccount, args: &[&str]| cli.ok_json(who, args);
    let field = |value: &serde_json::Value, name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {value}"))
            .to_owned()
    };

    for v in &validators {
        pond(v, &["vault", "deposit", "300"]);
        pond(v, &["validator", "stake", "200"]);
        assert_eq!(pond(v, &["validator", "show"])["stake"], "200");
    }
    pond(&creator, &["vault", "deposit", "500"]);
    pond(&provider, &["vault", "deposit", "500"]);
    pond(&provider, &common::REGISTER_ONE_GPU);
    let offer = field(
        &pond(
            &provider,
            &["offer", "post", "--price", "80", "--max-duration", "2h"],
        ),
        "offerId",
    );
    let post = |extra: &[&str]| {
        let args = job_post_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        field(&pond(&creator, &args), "jobId")
    };

    // Take mode: the provider takes the open job with its offer.
    let job = post(&[]);
    let deal = field(
        &pond(&provider, &["market", "take", &job, "--offer", &offer]),
        "dealId",
    );
    // Auction mode: a bid, closed by anyone after the window.
    let auctioned = post(&["--auction", "10m"]);
    pond(&provider, &["market", "bid", &auctioned, "--price", "70"]);
    s.advance(11 * 60).await;
    let won = pond(&validators[0], &["market", "close-auction", &auctioned]);
    assert!(won["dealId"].is_string(), "{won}");
    // The auction's deal delivers a wrong result at once and is challenged
    // by job id; the committee, having the outputs, will vote the right one.
    let won_deal = field(&won, "dealId");
    let wrong = B256::repeat_byte(0xbb).to_string();
    pond(
        &provider,
        &["deal", "commit", &won_deal, "--result-hash", &wrong],
    );
    pond(
        &provider,
        &[
            "deal",
            "reveal",
            &won_deal,
            "--result-hash",
            &wrong,
            "--result-uri",
            "ipfs://w",
        ],
    );
    let available = |who: &pond_devnode::node::DevAccount| -> f64 {
        let shown = pond(who, &["vault", "balance"]);
        shown["available"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0.0)
    };
    let before = available(&creator);
    let wrong_case = field(&pond(&creator, &["job", "challenge", &auctioned]), "caseId");
    // A job nobody takes expires, by anyone, after its match deadline.
    let unwanted = post(&["--match-within", "10m"]);
    s.advance(11 * 60).await;
    pond(&validators[1], &["market", "expire", &unwanted]);
    assert_eq!(
        pond(&creator, &["job", "status", &unwanted])["state"],
        "expired"
    );

    // Delivered, challenged, mediated.
    let result = B256::repeat_byte(0xee).to_string();
    pond(
        &provider,
        &["deal", "commit", &deal, "--result-hash", &result],
    );
    pond(
        &provider,
        &[
            "deal",
            "reveal",
            &deal,
            "--result-hash",
            &result,
            "--result-uri",
            "ipfs://o",
        ],
    );
    let case = field(&pond(&creator, &["deal", "challenge", &deal]), "caseId");
    s.mine().await;
    pond(&creator, &["case", "draw", &case]);
    let shown = pond(&creator, &["case", "show", &case]);
    assert_eq!(shown["state"], "voting", "{shown}");
    let drawn: Vec<String> = shown["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| v.as_str().expect("address").to_lowercase())
        .collect();
    assert_eq!(drawn.len(), 3, "{shown}");
    let digest = B256::repeat_byte(0xd1).to_string();
    let by_address = |address: &str| {
        validators
            .iter()
            .find(|v| v.address.to_string().to_lowercase() == address)
            .expect("a drawn validator is one of ours")
    };
    for v in &drawn {
        pond(
            by_address(v),
            &[
                "case",
                "commit",
                &case,
                "--result-hash",
                &result,
                "--output-digest",
                &digest,
            ],
        );
    }
    for v in &drawn {
        pond(
            by_address(v),
            &[
                "case",
                "reveal",
                &case,
                "--result-hash",
                &result,
                "--output-digest",
                &digest,
            ],
        );
    }
    pond(&validators[2], &["case", "draw", &wrong_case]);
    let shown = pond(&creator, &["case", "show", &wrong_case]);
    let drawn_again: Vec<String> = shown["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .map(|v| v.as_str().expect("address").to_lowercase())
        .collect();
    for step in ["commit", "reveal"] {
        for v in &drawn_again {
            pond(
                by_address(v),
                &[
                    "case",
                    step,
                    &wrong_case,
                    "--result-hash",
                    &result,
                    "--output-digest",
                    &digest,
                ],
            );
        }
    }
    s.advance(3 * 24 * 3600).await;
    pond(&creator, &["case", "resolve", &case]);
    assert_eq!(
        pond(&creator, &["case", "show", &case])["state"],
        "resolved"
    );
    assert_eq!(
        pond(&creator, &["deal", "status", &deal])["state"],
        "completed"
    );
    let credited = pond(by_address(&drawn[0]), &["validator", "show"]);
    assert_eq!(credited["withMajority"], 1, "{credited}");

    // The other outcome (the auction's deal): rejected, the price back.
    pond(&creator, &["case", "resolve", &wrong_case]);
    assert_eq!(
        pond(&creator, &["deal", "status", &won_deal])["state"],
        "rejected"
    );
    let after = available(&creator);
    assert!(
        after - before >= 70.0,
        "the price (70) and more came back: {before} -> {after}"
    );
}
