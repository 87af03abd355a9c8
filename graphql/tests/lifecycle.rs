//! The whole job lifecycle, as GraphQL shows it: every matching mode,
//! accept, finalize, both timeouts and both mediation outcomes run on
//! devnode with the real contracts, and the API's states, histories,
//! balances and reputation counters must equal what the contracts say.

mod common;

use alloy::primitives::{Address, B256, U256};
use common::{api, Api};
use pond_bindings::{deals::IDeals, market::IMarket, mediation::IMediation};
use pond_deploy::testkit::{commitment, event, ok, tokens, Stack};
use serde_json::Value;

const RESULT: B256 = B256::repeat_byte(0xee);
const OTHER: B256 = B256::repeat_byte(0xdd);

// The contracts' state numbers, as the API names them.
use pond_bindings::states::{DEAL_STATES, JOB_STATES};

fn hex(a: Address) -> String {
    format!("{a:#x}")
}

/// The answer's `data`, which must come without errors.
async fn data(api: &Api, query: &str) -> Value {
    let answer = api.query(query).await;
    assert!(answer.get("errors").is_none(), "{query}\n{answer}");
    answer["data"].clone()
}

/// A deal's states in order, as the API's history lists them.
fn history(deal: &Value) -> Vec<String> {
    deal["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["state"].as_str().expect("state").to_owned())
        .collect()
}

/// Everything the API says about `accounts`, `jobs` and `deals` equals the
/// contracts' own views: vault balances, provider and validator records,
/// validator stakes, job and deal states.
async fn assert_api_equals_chain(api: &Api, accounts: &[Address], jobs: &[U256], deals: &[U256]) {
    let s = &api.stack;
    let mut query = String::from("{");
    for (i, a) in accounts.iter().enumerate() {
        let a = hex(*a);
        query += &format!(
            r#" b{i}: balance(account: "{a}") {{ available locked }}
                p{i}: provider(address: "{a}") {{ completed failed disputesWon disputesLost earnings slashed }}
                v{i}: validator(address: "{a}") {{ stake unbonding activeCases withMajority againstMajority noShows earned slashed }}"#
        );
    }
    for (i, j) in jobs.iter().enumerate() {
        query += &format!(r#" j{i}: job(id: "{j}") {{ state price deal {{ id }} }}"#);
    }
    for (i, d) in deals.iter().enumerate() {
        query += &format!(r#" d{i}: deal(id: "{d}") {{ state price provider creator }}"#);
    }
    query += " }";
    let data = data(api, &query).await;
    for (i, a) in accounts.iter().enumerate() {
        let (available, locked) = s.balances(*a).await;
        let balance = &data[format!("b{i}")];
        if balance.is_null() {
            assert_eq!(
                (available, locked),
                (U256::ZERO, U256::ZERO),
                "{a}: no vault row"
            );
        } else {
            assert_eq!(balance["available"], available.to_string(), "{a} available");
            assert_eq!(balance["locked"], locked.to_string(), "{a} locked");
        }
        let record = s
            .registry()
            .providerRecord(*a)
            .call()
            .await
            .expect("providerRecord");
        let provider = &data[format!("p{i}")];
        if provider.is_null() {
            assert_eq!((record._0, record._1, record._4), (0, 0, U256::ZERO), "{a}");
        } else {
            assert_eq!(
                (
                    provider["completed"].as_u64(),
                    provider["failed"].as_u64(),
                    provider["disputesWon"].as_u64(),
                    provider["disputesLost"].as_u64(),
                ),
                (
                    Some(record._0),
                    Some(record._1),
                    Some(record._2),
                    Some(record._3)
                ),
                "{a} provider counters"
            );
            assert_eq!(provider["earnings"], record._4.to_string(), "{a} earnings");
            assert_eq!(provider["slashed"], record._5.to_string(), "{a} slashed");
        }
        let state = s
            .registry()
            .validatorState(*a)
            .call()
            .await
            .expect("validatorState");
        let record = s
            .registry()
            .validatorRecord(*a)
            .call()
            .await
            .expect("validatorRecord");
        let validator = &data[format!("v{i}")];
        if validator.is_null() {
            assert_eq!(state._2, U256::ZERO, "{a} has no stake");
        } else {
            assert_eq!(validator["stake"], state._2.to_string(), "{a} stake");
            assert_eq!(
                validator["unbonding"],
                state._3.to_string(),
                "{a} unbonding"
            );
            assert_eq!(validator["activeCases"].as_u64(), Some(u64::from(state._1)));
            assert_eq!(
                (
                    validator["withMajority"].as_u64(),
                    validator["againstMajority"].as_u64(),
                    validator["noShows"].as_u64(),
                ),
                (Some(record._0), Some(record._1), Some(record._2)),
                "{a} validator counters"
            );
            assert_eq!(validator["earned"], record._3.to_string(), "{a} earned");
            assert_eq!(validator["slashed"], record._4.to_string(), "{a} slashed");
        }
    }
    for (i, j) in jobs.iter().enumerate() {
        let (state, deal) = s.job_state(*j).await;
        let job = &data[format!("j{i}")];
        assert_eq!(job["state"], JOB_STATES[usize::from(state)], "job {j}");
        if deal != U256::ZERO {
            assert_eq!(job["deal"]["id"], deal.to_string(), "job {j}'s deal");
        }
    }
    for (i, d) in deals.iter().enumerate() {
        let parties = s.deals().dealParties(*d).call().await.expect("dealParties");
        let deal = &data[format!("d{i}")];
        assert_eq!(
            deal["state"],
            DEAL_STATES[usize::from(parties._4)],
            "deal {d}"
        );
        assert_eq!(deal["creator"], hex(parties._2), "deal {d} creator");
        assert_eq!(deal["provider"], hex(parties._3), "deal {d} provider");
    }
    s.assert_vault_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_matching_mode_finalize_and_both_timeouts_are_reflected() {
    let api = api().await;
    let s = &api.stack;
    let (c, p, b, anyone) = (s.accounts[1], s.accounts[2], s.accounts[3], s.accounts[9]);
    s.fund(c, tokens(1_000)).await;
    s.fund(p, tokens(500)).await;
    s.fund(b, tokens(500)).await;
    s.register_provider(p, 2).await;
    s.register_provider(b, 1).await;

    // Direct, delivered, nobody judges: finalized after the judge window.
    let offer = s.post_offer(p, tokens(80)).await;
    let direct: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(100), offer, 0).await).await);
    s.deliver(p, direct.dealId, RESULT).await;
    s.advance(24 * 3600 + 1).await;
    ok(s.deals()
        .finalizeDeal(direct.dealId)
        .from(anyone)
        .send()
        .await)
    .await;

    // Take: an open job, then an offer taken; accepted.
    let offer = s.post_offer(p, tokens(70)).await;
    let open: IMarket::JobPosted = event(
        &s.post_job(c, s.job_spec(tokens(100), U256::ZERO, 0).await)
            .await,
    );
    let take: IMarket::JobMatched =
        event(&ok(s.market().takeOffer(open.jobId, offer).from(c).send().await).await);
    s.deliver(p, take.dealId, RESULT).await;
    ok(s.deals().acceptResult(take.dealId).from(c).send().await).await;

    // Auction: two bids, the lower wins when the window closes; accepted.
    let auction: IMarket::JobPosted = event(
        &s.post_job(c, s.job_spec(tokens(100), U256::ZERO, 600).await)
            .await,
    );
    ok(s.market()
        .bid(auction.jobId, tokens(90))
        .from(p)
        .send()
        .await)
    .await;
    ok(s.market()
        .bid(auction.jobId, tokens(60))
        .from(b)
        .send()
        .await)
    .await;
    s.advance(601).await;
    let won: IMarket::JobMatched =
        event(&ok(s.market().closeAuction(auction.jobId).from(c).send().await).await);
    s.deliver(b, won.dealId, RESULT).await;
    ok(s.deals().acceptResult(won.dealId).from(c).send().await).await;

    // Timeout before the commitment, then after it.
    let silent: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(70), offer, 0).await).await);
    s.advance(3600 + 1).await;
    let silent_out: IDeals::DealTimedOut = event(
        &ok(s
            .deals()
            .claimTimeout(silent.dealId)
            .from(anyone)
            .send()
            .await)
        .await,
    );
    let hidden: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(70), offer, 0).await).await);
    let salt = B256::repeat_byte(9);
    let hash = commitment(hidden.dealId, p, RESULT, salt);
    ok(s.deals()
        .commitResult(hidden.dealId, hash)
        .from(p)
        .send()
        .await)
    .await;
    s.advance(3600 + 1).await;
    let hidden_out: IDeals::DealTimedOut = event(
        &ok(s
            .deals()
            .claimTimeout(hidden.dealId)
            .from(anyone)
            .send()
            .await)
        .await,
    );

    api.caught_up().await;
    let matched = [&direct, &take, &won, &silent, &hidden];
    let jobs: Vec<U256> = matched.iter().map(|m| m.jobId).collect();
    let deals: Vec<U256> = matched.iter().map(|m| m.dealId).collect();
    assert_api_equals_chain(&api, &[s.owner(), c, p, b, anyone], &jobs, &deals).await;

    let mut query = String::from("{");
    for (i, m) in matched.iter().enumerate() {
        query += &format!(
            r#" j{i}: job(id: "{}") {{ matchMode price bids {{ provider price outbid }}
                 deal {{ provider completion paid fee compensation history {{ state }} }} }}"#,
            m.jobId
        );
    }
    query += " marketStats { jobsByState { state count } dealsByState { state count } volumeByDay { deals volume } } }";
    let data = data(&api, &query).await;
    let modes: Vec<&str> = (0..5)
        .map(|i| data[format!("j{i}")]["matchMode"].as_str().expect("mode"))
        .collect();
    assert_eq!(modes, ["direct", "take", "auction", "direct", "direct"]);
    for (i, m) in matched.iter().enumerate() {
        let job = &data[format!("j{i}")];
        assert_eq!(job["price"], m.price.to_string(), "job {}", m.jobId);
        assert_eq!(job["deal"]["provider"], hex(m.provider));
    }
    let (finalized, accepted, auctioned) = (
        &data["j0"]["deal"],
        &data["j1"]["deal"],
        &data["j2"]["deal"],
    );
    assert_eq!(finalized["completion"], "finalized");
    assert_eq!(accepted["completion"], "accepted");
    assert_eq!(auctioned["completion"], "accepted");
    for deal in [finalized, accepted, auctioned] {
        assert_eq!(
            history(deal),
            ["active", "committed", "revealed", "completed"]
        );
    }
    // Paid plus fee is the price.
    assert_eq!(finalized["paid"], tokens(78).to_string());
    assert_eq!(finalized["fee"], tokens(2).to_string());
    let bids = data["j2"]["bids"].as_array().expect("bids");
    let bids: Vec<(String, String, bool)> = bids
        .iter()
        .map(|b| {
            (
                b["provider"].as_str().expect("provider").to_owned(),
                b["price"].as_str().expect("price").to_owned(),
                b["outbid"].as_bool().expect("outbid"),
            )
        })
        .collect();
    assert_eq!(
        bids,
        [
            (hex(b), tokens(60).to_string(), false),
            (hex(p), tokens(90).to_string(), true)
        ]
    );
    let (silent_deal, hidden_deal) = (&data["j3"]["deal"], &data["j4"]["deal"]);
    assert_eq!(history(silent_deal), ["active", "timed_out"]);
    assert_eq!(history(hidden_deal), ["active", "committed", "timed_out"]);
    assert_eq!(
        silent_deal["compensation"],
        silent_out.compensation.to_string()
    );
    assert_eq!(
        hidden_deal["compensation"],
        hidden_out.compensation.to_string()
    );

    let stats = &data["marketStats"];
    let count = |list: &str, state: &str| {
        stats[list]
            .as_array()
            .expect("counts")
            .iter()
            .find(|c| c["state"] == state)
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(count("jobsByState", "matched"), 5);
    assert_eq!(count("dealsByState", "completed"), 3);
    assert_eq!(count("dealsByState", "timed_out"), 2);
    let days = stats["volumeByDay"].as_array().expect("days");
    let volume: U256 = days
        .iter()
        .map(|d| {
            d["volume"]
                .as_str()
                .expect("volume")
                .parse::<U256>()
                .expect("number")
        })
        .sum();
    let deals_counted: u64 = days.iter().filter_map(|d| d["deals"].as_u64()).sum();
    let expected: U256 = matched.iter().map(|m| m.price).sum();
    assert_eq!((volume, deals_counted), (expected, 5));
    let _ = api.stop.send(true);
}

/// A direct deal of `p` for `c` at 80, delivered with [`RESULT`].
async fn delivered_deal(s: &Stack, c: Address, p: Address) -> U256 {
    let offer = s.post_offer(p, tokens(80)).await;
    let matched: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(100), offer, 0).await).await);
    s.deliver(p, matched.dealId, RESULT).await;
    matched.dealId
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_mediation_outcomes_are_reflected() {
    let api = api().await;
    let s = &api.stack;
    let (c, p, anyone) = (s.accounts[1], s.accounts[2], s.accounts[9]);
    let validators = s.accounts[4..9].to_vec();
    s.fund(c, tokens(1_000)).await;
    s.fund(p, tokens(500)).await;
    s.register_provider(p, 2).await;
    s.stake_validators(&validators, tokens(200)).await;

    let mut outcomes = Vec::new();
    for votes in [[RESULT, RESULT, OTHER], [OTHER, OTHER, RESULT]] {
        let deal = delivered_deal(s, c, p).await;
        let (case, drawn) = s.mediate(c, deal, &votes).await;
        let resolved: IMediation::CaseResolved =
            event(&ok(s.mediation().resolveCase(case).from(anyone).send().await).await);
        outcomes.push((deal, case, drawn, resolved));
    }

    api.caught_up().await;
    let deals: Vec<U256> = outcomes.iter().map(|o| o.0).collect();
    let mut accounts = vec![s.owner(), c, p, anyone];
    accounts.extend(&validators);
    assert_api_equals_chain(&api, &accounts, &[], &deals).await;

    for ((deal, case, drawn, resolved), (outcome, last_state, completion)) in outcomes.iter().zip([
        ("provider_right", "completed", Value::from("mediation")),
        ("provider_wrong", "rejected", Value::Null),
    ]) {
        let data = data(
            &api,
            &format!(
                r#"{{ deal(id: "{deal}") {{ completion history {{ state }}
                     case {{ id state outcome agree disagree validators
                       votes {{ validator agreesWithProvider outcome earned slashed }} }} }} }}"#
            ),
        )
        .await;
        let deal_view = &data["deal"];
        assert_eq!(
            history(deal_view),
            ["active", "committed", "revealed", "challenged", last_state]
        );
        assert_eq!(deal_view["completion"], completion);
        let case_view = &deal_view["case"];
        assert_eq!(case_view["id"], case.to_string());
        assert_eq!(case_view["state"], "resolved");
        assert_eq!(case_view["outcome"], outcome);
        assert_eq!(case_view["agree"].as_u64(), Some(u64::from(resolved.agree)));
        assert_eq!(
            case_view["disagree"].as_u64(),
            Some(u64::from(resolved.disagree))
        );
        let listed: Vec<String> = case_view["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .map(|v| v.as_str().expect("address").to_owned())
            .collect();
        assert_eq!(listed, drawn.iter().map(|v| hex(*v)).collect::<Vec<_>>());
        // The two who agreed with each other are the majority; the third is
        // against it and slashed.
        let votes = case_view["votes"].as_array().expect("votes");
        assert_eq!(votes.len(), 3);
        for (i, v) in drawn.iter().enumerate() {
            let vote = votes
                .iter()
                .find(|vote| vote["validator"] == hex(*v))
                .unwrap_or_else(|| panic!("{v} voted"));
            let majority = i < 2;
            let outcome = if majority {
                "with_majority"
            } else {
                "against_majority"
            };
            assert_eq!(vote["outcome"], outcome, "{v}");
            let slashed = vote["slashed"].as_str().expect("slashed") != "0";
            assert_eq!(slashed, !majority, "{v}: only the minority is slashed");
        }
    }
    let data = data(
        &api,
        &format!(
            r#"{{ provider(address: "{}") {{ disputesWon disputesLost }} }}"#,
            hex(p)
        ),
    )
    .await;
    assert_eq!(data["provider"]["disputesWon"], 1);
    assert_eq!(data["provider"]["disputesLost"], 1);
    let _ = api.stop.send(true);
}
