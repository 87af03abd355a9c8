//! `pond job` through the binary against devnode with the real contracts:
//! a job matched directly with an offer, one posted for any provider to
//! take and then cancelled, one auctioned; a job beyond the creator's
//! vault balance refused with the vault's named error; an unknown job.

mod common;

use alloy::primitives::B256;
use common::{job_post_args, key_of, printed_text as text, ChainCli};
use pond_deploy::testkit::{tokens, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_posted_in_every_mode_watched_and_cancelled() {
    let s = Stack::start().await;
    let creator = s.node.accounts()[7].clone();
    let provider = s.accounts[2];
    s.fund(creator.address, tokens(1_000)).await;
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let offer = s.post_offer(provider, tokens(80)).await.to_string();
    let cli = ChainCli::for_stack(&s, "pond-job");
    let key = key_of(&creator);
    let (module, input) = (
        B256::repeat_byte(0x11).to_string(),
        B256::repeat_byte(0x22).to_string(),
    );
    let job = |args: &[&str]| {
        let mut all = vec!["job"];
        all.extend_from_slice(args);
        all.push("--json");
        cli.run_with(Some(&key), &[], None, &all)
    };
    let post = |extra: &[&str]| {
        let mut args = vec![
            "post",
            "--module-hash",
            &module,
            "--module-uri",
            "oci://pond/echo@sha256:11",
            "--input-hash",
            &input,
            "--input-uri",
            "ipfs://inputs",
            "--max-duration",
            "1h",
            "--gpus",
            "1",
            "--gpu-memory-gb",
            "24",
        ];
        args.extend_from_slice(extra);
        let out = job(&args);
        (
            out.status.success(),
            text(&out),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).ok(),
        )
    };
    let status = |id: &str| {
        let out = job(&["status", id]);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };

    // Direct: matched with the offer at once.
    let (ok, all, direct) = post(&["--max-price", "100", "--offer", &offer]);
    assert!(ok, "{all}");
    let direct = direct.expect("JSON");
    assert!(direct["dealId"].is_string(), "{direct}");
    let id = direct["jobId"].as_str().expect("id").to_owned();
    assert_eq!(status(&id)["state"], "matched");

    // Take: open until a provider takes it; cancelled, its price returns.
    let (ok, all, open) = post(&["--max-price", "50.5"]);
    assert!(ok, "{all}");
    let open = open.expect("JSON");
    assert!(open["dealId"].is_null(), "{open}");
    let id = open["jobId"].as_str().expect("id").to_owned();
    let seen = status(&id);
    assert_eq!(
        (&seen["state"], &seen["maxPrice"]),
        (&"open".into(), &"50.5".into()),
        "{seen}"
    );
    let (available_before, _) = s.balances(creator.address).await;
    let cancelled = job(&["cancel", &id]);
    assert!(cancelled.status.success(), "{}", text(&cancelled));
    assert_eq!(status(&id)["state"], "cancelled");
    let (available_after, _) = s.balances(creator.address).await;
    assert_eq!(
        available_after - available_before,
        tokens(50) + tokens(1) / alloy::primitives::U256::from(2)
    );

    // Auction: bidding for ten minutes.
    let (ok, all, auction) = post(&["--max-price", "30", "--auction", "10m"]);
    assert!(ok, "{all}");
    let id = auction.expect("JSON")["jobId"]
        .as_str()
        .expect("id")
        .to_owned();
    let seen = status(&id);
    assert_eq!(seen["state"], "bidding", "{seen}");
    assert!(seen["biddingEnd"].as_u64().is_some_and(|end| end > 0));

    // Refusals and unknowns.
    let (ok, all, _) = post(&["--max-price", "100000"]);
    assert!(!ok);
    assert!(all.contains("Vault.InsufficientAvailable("), "{all}");
    let unknown = job(&["status", "999"]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("there is no job 999"),
        "{}",
        text(&unknown)
    );
    let short_hash = job(&[
        "post",
        "--module-hash",
        "0x12",
        "--module-uri",
        "m",
        "--input-hash",
        &input,
        "--input-uri",
        "i",
        "--max-duration",
        "1h",
        "--max-price",
        "1",
    ]);
    assert!(!short_hash.status.success());
    assert!(
        text(&short_hash).contains("invalid value '0x12' for '--module-hash"),
        "{}",
        text(&short_hash)
    );
}

/// A deal through the binary, from both sides: commit (the salt kept on
/// disk) and reveal by the provider, accept or challenge by the creator,
/// finalize after the judge window and a timeout after a missed commit
/// by anyone; each early step refused with the deal book's named error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_runs_from_commitment_to_payment_and_through_every_exit() {
    let s = Stack::start().await;
    let creator = s.node.accounts()[7].clone();
    let provider = s.node.accounts()[2].clone();
    s.fund(creator.address, tokens(1_000)).await;
    s.fund(provider.address, tokens(1_000)).await;
    s.register_provider(provider.address, 2).await;
    let cli = ChainCli::for_stack(&s, "pond-deal");
    let (creator_key, provider_key) = (key_of(&creator), key_of(&provider));
    let pond = |key: &str, args: &[&str]| cli.json(key, args);
    let result = B256::repeat_byte(0xee).to_string();
    // A direct deal on a fresh offer, posted through the binary too (the
    // stack's own provider would reuse nonces the binary has spent).
    let new_deal = || async {
        let (ok, all, offer) = pond(
            &provider_key,
            &[
                "offer",
                "post",
                "--price",
                "80",
                "--max-duration",
                "2h",
                "--gpus",
                "1",
            ],
        );
        assert!(ok, "{all}");
        let offer = offer.expect("JSON")["offerId"]
            .as_str()
            .expect("offer")
            .to_owned();
        let args = job_post_args(&["--offer", &offer]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, all, posted) = pond(&creator_key, &args);
        assert!(ok, "{all}");
        posted.expect("JSON")["dealId"]
            .as_str()
            .expect("deal")
            .to_owned()
    };
    let state = |deal: &str| {
        let (ok, all, value) = pond(&creator_key, &["deal", "status", deal]);
        assert!(ok, "{all}");
        value.expect("JSON")["state"]
            .as_str()
            .expect("state")
            .to_owned()
    };
    let deliver = |deal: String| {
        let (provider_key, result) = (provider_key.clone(), result.clone());
        let pond = &pond;
        async move {
            let (ok, all, _) = pond(
                &provider_key,
                &["deal", "commit", &deal, "--result-hash", &result],
            );
            assert!(ok, "{all}");
            let (ok, all, _) = pond(
                &provider_key,
                &[
                    "deal",
                    "reveal",
                    &deal,
                    "--result-hash",
                    &result,
                    "--result-uri",
                    "ipfs://outputs",
                ],
            );
            assert!(ok, "{all}");
        }
    };

    // Accepted: the provider is paid.
    let first = new_deal().await;
    let (ok, all, _) = pond(
        &provider_key,
        &["deal", "commit", &first, "--result-hash", &result],
    );
    assert!(ok, "{all}");
    assert_eq!(state(&first), "committed");
    let salts: Vec<_> = std::fs::read_dir(cli.dir.join(".pond/salts"))
        .expect("salt dir")
        .collect();
    assert_eq!(salts.len(), 1, "the salt is kept on disk");
    let (ok, all, _) = pond(
        &provider_key,
        &[
            "deal",
            "reveal",
            &first,
            "--result-hash",
            &result,
            "--result-uri",
            "ipfs://outputs",
        ],
    );
    assert!(ok, "{all}");
    assert_eq!(state(&first), "revealed");
    let (ok, all, _) = pond(&provider_key, &["deal", "accept", &first]);
    assert!(!ok && all.contains("Deals.NotDealCreator"), "{all}");
    let (ok, all, _) = pond(&creator_key, &["deal", "accept", &first]);
    assert!(ok, "{all}");
    assert_eq!(state(&first), "completed");

    // Challenged: a mediation case opens.
    let second = new_deal().await;
    deliver(second.clone()).await;
    let (ok, all, challenged) = pond(&creator_key, &["deal", "challenge", &second]);
    assert!(ok, "{all}");
    assert!(challenged.expect("JSON")["caseId"].is_string());
    assert_eq!(state(&second), "challenged");

    // Finalized by anyone after the judge window, not before.
    let third = new_deal().await;
    deliver(third.clone()).await;
    let (ok, all, _) = pond(&creator_key, &["deal", "finalize", &third]);
    assert!(!ok && all.contains("Deals.DeadlineNotPassed("), "{all}");
    // Timed out by anyone after a missed commitment, not before.
    let fourth = new_deal().await;
    let (ok, all, _) = pond(&creator_key, &["deal", "timeout", &fourth]);
    assert!(!ok && all.contains("Deals.DeadlineNotPassed("), "{all}");
    // A reveal without a stored salt says how to go on.
    let (ok, all, _) = pond(
        &provider_key,
        &[
            "deal",
            "reveal",
            &fourth,
            "--result-hash",
            &result,
            "--result-uri",
            "ipfs://o",
        ],
    );
    assert!(!ok && all.contains("no salt stored for deal"), "{all}");
    s.advance(2 * 24 * 3600).await;
    let (ok, all, _) = pond(&creator_key, &["deal", "finalize", &third]);
    assert!(ok, "{all}");
    assert_eq!(state(&third), "completed");
    let (ok, all, _) = pond(&creator_key, &["deal", "timeout", &fourth]);
    assert!(ok, "{all}");
    assert_eq!(state(&fourth), "timed_out");
}

/// `pond job post --module FILE --input DIR --publish URL`: the module and
/// inputs are hashed as `pond job run --local` hashes them, uploaded to a
/// store server, and posted with URIs naming it; a provider with an empty
/// store fetches both back, verified. A directory without pond-job.json
/// and an image without a URI are refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_posted_from_its_files_and_its_data_published() {
    let s = Stack::start().await;
    let creator = s.node.accounts()[7].clone();
    s.fund(creator.address, tokens(1_000)).await;
    let cli = ChainCli::for_stack(&s, "pond-job-files");
    let key = key_of(&creator);
    std::fs::write(cli.dir.join("token"), "t0ken\n").expect("token");
    let server_store = cli.dir.join("server-store").display().to_string();
    let server = common::Pond::start(
        &cli.dir,
        "store.log",
        &[
            "store",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            "token",
            "--store-dir",
            &server_store,
        ],
    );
    let url = server.printed("store", std::time::Duration::from_secs(30));
    let module = pond_jobs::testkit::example_wasm("align")
        .display()
        .to_string();
    let input = pond_jobs::testkit::example_dir("align")
        .join("input")
        .display()
        .to_string();
    let creator_store = [("POND_STORE_DIR", "creator-store")];
    let post = |extra: &[&str]| {
        let mut args = vec![
            "job",
            "post",
            "--max-duration",
            "1h",
            "--max-price",
            "10",
            "--json",
        ];
        args.extend_from_slice(extra);
        cli.run_with(Some(&key), &creator_store, None, &args)
    };

    let out = post(&[
        "--module",
        &module,
        "--input",
        &input,
        "--publish",
        &url,
        "--publish-token-file",
        "token",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let run = cli.run_with(
        None,
        &[],
        None,
        &[
            "job", "run", "--local", &module, "--input", &input, "--output", "out", "--json",
        ],
    );
    let ran: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert_eq!(sent["moduleHash"], ran["moduleHash"], "{sent} {ran}");
    assert_eq!(sent["inputHash"], ran["inputHash"]);
    let module_hash = sent["moduleHash"].as_str().expect("hash").to_owned();
    let input_uri = sent["inputUri"].as_str().expect("uri").to_owned();
    assert!(input_uri.starts_with(&url), "{input_uri}");

    // A provider fetches both from the server into an empty store.
    let provider_store = [("POND_STORE_DIR", "provider-store")];
    let fetched = cli.run_with(
        None,
        &provider_store,
        None,
        &["store", "get", &input_uri, "--out", "fetched-input"],
    );
    assert!(fetched.status.success(), "{}", text(&fetched));
    assert!(cli.dir.join("fetched-input/pond-job.json").is_file());
    let fetched = cli.run_with(
        None,
        &provider_store,
        None,
        &[
            "store",
            "get",
            &module_hash,
            "--server",
            &url,
            "--out",
            "fetched-module",
        ],
    );
    assert!(fetched.status.success(), "{}", text(&fetched));
    assert_eq!(
        std::fs::read(cli.dir.join("fetched-module/module.wasm")).ok(),
        std::fs::read(&module).ok()
    );

    // Refused before anything is sent.
    std::fs::create_dir_all(cli.dir.join("bare")).expect("dir");
    let bare = post(&["--module", &module, "--input", "bare"]);
    assert!(!bare.status.success());
    assert!(text(&bare).contains("pond-job.json"), "{}", text(&bare));
    let image = format!("image:sha256:{}", "ab".repeat(32));
    let no_uri = post(&["--module", &image, "--input", &input]);
    assert!(
        text(&no_uri).contains("needs --module-uri"),
        "{}",
        text(&no_uri)
    );
    server.kill();
}

/// `pond job sign` and `pond job relay`: a creator with tokens in the
/// wallet only (no vault deposit, no transaction of its own) signs a job
/// with a permit; another account posts it and pays the gas. The same
/// file again, a tampered file, and a file for another relay are refused
/// with the relay's named error or a one-line reason, and nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_job_is_relayed_by_another_account_and_cannot_be_replayed() {
    let s = Stack::start().await;
    let creator = s.node.accounts()[7].clone();
    let relayer = s.node.accounts()[8].clone();
    pond_deploy::testkit::ok(
        s.token()
            .mint(creator.address, tokens(100))
            .from(s.owner())
            .send()
            .await,
    )
    .await;
    let cli = ChainCli::for_stack(&s, "pond-relay");
    let (module, input) = (
        B256::repeat_byte(0x11).to_string(),
        B256::repeat_byte(0x22).to_string(),
    );
    let signed = cli.run_with(
        Some(&key_of(&creator)),
        &[],
        None,
        &[
            "job",
            "sign",
            "--module-hash",
            &module,
            "--module-uri",
            "pond://m",
            "--input-hash",
            &input,
            "--input-uri",
            "pond://i",
            "--max-price",
            "80",
            "--max-duration",
            "1h",
            "--permit",
            "80",
            "--out",
            "signed.json",
        ],
    );
    assert!(signed.status.success(), "{}", text(&signed));
    let relay = |file: &str| {
        cli.run_with(
            Some(&key_of(&relayer)),
            &[],
            None,
            &["job", "relay", file, "--json"],
        )
    };
    // Someone front-runs the permit (anyone holding the file can): the
    // deposit lands in the vault, and the relay still posts the job.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cli.dir.join("signed.json")).expect("file"))
            .expect("JSON");
    let permit = &file["permit"];
    let signature: alloy::primitives::Signature = permit["signature"]
        .as_str()
        .and_then(|s| s.parse::<alloy::primitives::Bytes>().ok())
        .and_then(|b| alloy::primitives::Signature::try_from(b.as_ref()).ok())
        .expect("permit signature");
    let amount: alloy::primitives::U256 = permit["amount"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("amount");
    let deadline: alloy::primitives::U256 = permit["deadline"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("deadline");
    pond_deploy::testkit::ok(
        s.vault()
            .depositWithPermit(
                creator.address,
                amount,
                deadline,
                27 + u8::from(signature.v()),
                signature.r().into(),
                signature.s().into(),
            )
            .from(relayer.address)
            .send()
            .await,
    )
    .await;
    assert_eq!(s.balances(creator.address).await, (tokens(80), tokens(0)));
    let posted = relay("signed.json");
    assert!(posted.status.success(), "{}", text(&posted));
    let posted: serde_json::Value = serde_json::from_slice(&posted.stdout).expect("JSON");
    let job = posted["jobId"].as_str().expect("job id").to_owned();
    let status = cli.run_with(None, &[], None, &["job", "status", &job, "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(
        status["creator"].as_str().map(str::to_lowercase),
        Some(creator.address.to_string().to_lowercase()),
        "the creator's job, posted by the relayer"
    );
    assert_eq!(
        s.balances(creator.address).await,
        (tokens(0), tokens(80)),
        "the permit funded it"
    );

    // The same signature again: the nonce is used.
    let again = relay("signed.json");
    assert!(!again.status.success());
    assert!(
        text(&again).contains("JobRelay.InvalidNonce"),
        "{}",
        text(&again)
    );
    // A raised price under the creator's signature.
    let file = std::fs::read_to_string(cli.dir.join("signed.json")).expect("file");
    let mut value: serde_json::Value = serde_json::from_str(&file).expect("JSON");
    value["nonce"] = "1".into();
    value["permit"] = serde_json::Value::Null;
    value["job"]["maxPrice"] = "1".into();
    std::fs::write(cli.dir.join("tampered.json"), value.to_string()).expect("write");
    let tampered = relay("tampered.json");
    assert!(!tampered.status.success());
    assert!(
        text(&tampered).contains("JobRelay.InvalidSignature"),
        "{}",
        text(&tampered)
    );
    value["relay"] = "0x0000000000000000000000000000000000000001".into();
    std::fs::write(cli.dir.join("elsewhere.json"), value.to_string()).expect("write");
    let elsewhere = relay("elsewhere.json");
    assert!(
        text(&elsewhere).contains("signed for relay 0x0000000000000000000000000000000000000001"),
        "{}",
        text(&elsewhere)
    );
    std::fs::write(cli.dir.join("junk.json"), "{}").expect("write");
    assert!(text(&relay("junk.json")).contains("is missing or malformed"));
    assert_eq!(
        s.balances(creator.address).await,
        (tokens(0), tokens(80)),
        "nothing else moved"
    );
    s.assert_vault_invariant().await;
}
