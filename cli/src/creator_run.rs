//! `pond job run MODULE --input DIR --output DIR --max-price …` (without
//! `--local`): the job creator's one command. It publishes the module and
//! inputs, posts the job, follows it (matched, running, committed,
//! revealed), downloads the outputs and checks their hash, optionally
//! re-runs the job here (`--verify local`, or on a random share of runs
//! with `--verify sample=P`), accepts or challenges, and writes the outputs
//! to the output directory. Each step is printed as it happens; with
//! `--json`, one JSON object per line (`{"event": "matched", …}`).
//!
//! A step nobody else takes is taken here: an unmatched job past its match
//! deadline is expired and a deal past its deadline is timed out, so the
//! money comes back without a keeper.
//!
//! With `--relay FILE` the creator needs no gas: the job is signed for a
//! relayer instead of posted (with `--permit`, funded from the wallet), and
//! the command sends no transaction at all. It waits for a relayer to post
//! the file, follows the job and checks the outputs as above; a good
//! result is paid when the provider finalizes it after the judge window,
//! and a step that needs a transaction (a challenge, an expiry, a timeout
//! claim) is reported with the command that takes it.

use std::{io::IsTerminal, sync::Arc, time::Instant};

use alloy::primitives::U256;
use clap::Args;
use eyre::{bail, WrapErr};
use pond_client::{units::parse_amount, Client};
use pond_jobs::{
    run::run_job,
    verify::{compare, Side, Verdict},
    JobModule,
};
use pond_store::{ContentHash, Limits, Resolver};

use crate::{compute::Run, store::open_store};

/// How a result is checked before it is accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum VerifyMode {
    /// Accept what hashes to the revealed result.
    None,
    /// Re-run here and compare; challenge a disagreement.
    Local,
    /// Re-run here on this share of runs (0 to 1).
    Sample(f64),
}

impl std::str::FromStr for VerifyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "local" => Ok(Self::Local),
            _ => s
                .strip_prefix("sample=")
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| (0.0..=1.0).contains(p))
                .map(Self::Sample)
                .ok_or_else(|| format!("`{s}`: use none, local or sample=P with P from 0 to 1")),
        }
    }
}

/// The market half of `pond job run` (ignored with `--local`).
#[derive(Args, Debug)]
pub(crate) struct Market {
    /// Most you pay, in tokens (required without --local).
    #[arg(long)]
    max_price: Option<String>,
    /// The store server providers fetch the module and inputs from
    /// (http://HOST:PORT; required without --local).
    #[arg(long)]
    publish: Option<String>,
    /// A file whose first line is the store server's write token
    /// ($POND_STORE_TOKEN also works).
    #[arg(long, requires = "publish")]
    publish_token_file: Option<std::path::PathBuf>,
    /// How the result is checked before it is accepted: none, local (re-run
    /// here), or sample=P (re-run on that share of runs).
    #[arg(long, default_value = "none")]
    verify: VerifyMode,
    /// Sign the job for a relayer instead of posting it, and send no
    /// transaction: the signed job is written to FILE for a relayer to
    /// post (`pond job relay FILE`); a good result is paid when the
    /// provider finalizes it after the judge window.
    #[arg(long, value_name = "FILE", conflicts_with = "local")]
    relay: Option<std::path::PathBuf>,
    /// With --relay: how long the signature is valid, e.g. 1h (default 1h).
    #[arg(long, requires = "relay")]
    valid_for: Option<String>,
    /// With --relay: fund the job from your wallet with an EIP-2612 permit
    /// for this many tokens (the max price), instead of from your vault.
    #[arg(long, requires = "relay")]
    permit: Option<String>,
    #[command(flatten)]
    needs: crate::job::Needs,
}

/// Prints progress: events as they happen, and on a terminal a line that
/// shows what is awaited and for how long.
struct Progress {
    json: bool,
    started: Instant,
    live: bool,
}

impl Progress {
    fn event(&self, name: &str, fields: serde_json::Value) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
        if self.json {
            let mut value = fields;
            value["event"] = name.into();
            println!("{value}");
        } else {
            let text: Vec<String> = fields
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| match v {
                    serde_json::Value::String(v) => format!("{k} {v}"),
                    other => format!("{k} {other}"),
                })
                .collect();
            println!(
                "{:>6.1}s  {name:<11}{}",
                self.started.elapsed().as_secs_f64(),
                text.join(", ")
            );
        }
    }

    fn waiting(&self, what: &str) {
        if self.live {
            let spin =
                ['|', '/', '-', '\\'][(self.started.elapsed().as_millis() / 250 % 4) as usize];
            eprint!(
                "\r\x1b[2K{spin} {what} ({:.0}s)",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Runs `run` on the market as `client`.
pub(crate) async fn run(run: &Run, client: &Client, decimals: u8, json: bool) -> eyre::Result<()> {
    let market = &run.market;
    let (Some(max_price), Some(publish)) = (&market.max_price, &market.publish) else {
        bail!(
            "running on the market needs --max-price and --publish (the store server providers fetch from); \
             or run here with --local"
        );
    };
    if run.output.exists() {
        bail!(
            "{} exists: give a new directory for the outputs",
            run.output.display()
        );
    }
    if let Some(file) = market.relay.as_ref().filter(|f| f.exists()) {
        bail!(
            "{} exists (another signed job?): give a new file for the signed job",
            file.display()
        );
    }
    let max_price = parse_amount(max_price, decimals)?;
    let progress = Progress {
        json,
        started: Instant::now(),
        live: !json && std::io::stderr().is_terminal(),
    };
    let module = JobModule::open(&run.module)?;
    let data = crate::compute::JobData {
        module: Some(run.module.clone()),
        module_hash: None,
        module_uri: None,
        input: Some(run.input.clone()),
        input_hash: None,
        input_uri: None,
        publish: Some(publish.clone()),
        publish_token_file: market.publish_token_file.clone(),
    }
    .resolve()
    .await?;
    progress.event("published", serde_json::json!({ "module": data.module_hash.to_string(), "inputs": data.input_hash.to_string() }));
    let request = market
        .needs
        .request(data, max_price, U256::ZERO, 0, client)
        .await?;
    let job = match &market.relay {
        None => {
            let posted = client.post_job(request).await?;
            progress.event("posted", serde_json::json!({ "job": posted.job_id.to_string(), "transaction": posted.transaction.to_string() }));
            posted.job_id
        }
        Some(file) => {
            let valid_for =
                pond_client::units::parse_duration(market.valid_for.as_deref().unwrap_or("1h"))?;
            let permit = market
                .permit
                .as_deref()
                .map(|a| parse_amount(a, decimals))
                .transpose()?;
            let signed = client.sign_job(request, valid_for, permit).await?;
            crate::job::write_signed(file, &signed)?;
            progress.event("signed", serde_json::json!({ "file": file.display().to_string(), "creator": signed.creator.to_string(), "nonce": signed.nonce.to_string(), "validUntil": signed.deadline.to_string() }));
            let (job, relayer, transaction) =
                await_relayer(client, &signed, file, &progress).await?;
            progress.event("posted", serde_json::json!({ "job": job.to_string(), "relayer": relayer.to_string(), "transaction": transaction.to_string() }));
            job
        }
    };
    // Relayed: this command sends no transaction.
    let sends = market.relay.is_none();

    let deal = await_match(client, job, sends, &progress).await?;
    let info = await_reveal(client, deal, sends, &progress).await?;
    let (result, uri) = client.revealed_result(deal).await?.ok_or_else(|| {
        eyre::eyre!("deal {deal} is revealed but its ResultRevealed event was not found")
    })?;
    progress.event(
        "revealed",
        serde_json::json!({ "result": result.to_string(), "uri": uri.clone() }),
    );

    let store = Arc::new(open_store(None)?);
    let resolver = Resolver {
        local: Arc::clone(&store),
        servers: Vec::new(),
        limits: Limits::default(),
        allow_file_uris: false,
    };
    // A fetch that fails is tried again while the judge window leaves
    // time (a blip of the provider's server, or of this link, is not a
    // wrong result); only then are outputs that cannot be fetched
    // challenged, as validators would count them unavailable.
    let fetched = loop {
        let fetched = resolver.tree(&uri, &ContentHash(result.0), "outputs").await;
        match fetched {
            Err(e) if client.now().await?.saturating_add(FETCH_MARGIN) < info.judge_deadline => {
                progress.waiting(&format!(
                    "the provider's outputs cannot be fetched yet ({e})"
                ));
                tokio::time::sleep(FETCH_RETRY).await;
            }
            other => break other,
        }
    };
    let verdict = match fetched {
        Err(e) => Verdict::Disagree(format!("the outputs cannot be fetched: {e}")),
        Ok(tree) => {
            let (store, output) = (Arc::clone(&store), run.output.clone());
            tokio::task::spawn_blocking(move || {
                store.materialize(&tree.hash(), &output, &Limits::default())
            })
            .await??;
            progress.event(
                "downloaded",
                serde_json::json!({ "outputs": run.output.display().to_string() }),
            );
            let check = match market.verify {
                VerifyMode::None => false,
                VerifyMode::Local => true,
                VerifyMode::Sample(share) => rand::random::<f64>() < share,
            };
            if check {
                let verdict = verify_here(run, module).await?;
                let agrees = verdict == Verdict::Agree;
                progress.event("verified", serde_json::json!({ "agrees": agrees }));
                verdict
            } else {
                Verdict::Agree
            }
        }
    };
    match verdict {
        Verdict::Agree if !sends => {
            progress.event("finalizing", serde_json::json!({ "deal": deal.to_string(), "paid": pond_client::units::format_amount(info.price, decimals), "after": info.judge_deadline }));
            Ok(())
        }
        Verdict::Disagree(reason) if !sends => bail!(
            "deal {deal}'s result is wrong ({reason}). Only you, the job's creator, can challenge it: \
             give this account gas and the mediation fee in its vault (pond vault deposit), then run \
             `pond deal challenge {deal}` with the same key before {} (unix time); unchallenged, the \
             provider is paid when it finalizes. Do not use the outputs in {}",
            info.judge_deadline,
            run.output.display()
        ),
        Verdict::Agree => {
            let tx = client.accept_result(deal).await?;
            progress.event("accepted", serde_json::json!({ "deal": deal.to_string(), "paid": pond_client::units::format_amount(info.price, decimals), "transaction": tx.to_string() }));
            Ok(())
        }
        Verdict::Disagree(reason) => {
            let (case, tx) = client.challenge_result(deal).await?;
            progress.event("challenged", serde_json::json!({ "case": case.to_string(), "reason": reason, "transaction": tx.to_string() }));
            let ended = await_end(client, deal, &progress).await?;
            progress.event(
                "mediated",
                serde_json::json!({ "deal": deal.to_string(), "outcome": ended.to_owned() }),
            );
            if ended == "rejected" {
                bail!(
                    "the validators found deal {deal}'s result wrong: your price and fee came back with compensation; \
                     the outputs in {} are the provider's and should not be used",
                    run.output.display()
                );
            }
            Ok(())
        }
    }
}

/// Re-runs the job here and compares with the downloaded outputs.
async fn verify_here(run: &Run, module: JobModule) -> eyre::Result<Verdict> {
    let (input, claimed) = (run.input.clone(), run.output.clone());
    let containers = run.executors.containers();
    tokio::task::spawn_blocking(move || {
        let scratch = tempfile::Builder::new()
            .prefix("pond-verify-")
            .tempdir()
            .wrap_err("creating a temporary directory")?;
        let own = scratch.path().join("own");
        let report =
            run_job(&module, &input, &own, Some(&containers)).wrap_err("re-running the job")?;
        let provider_tree = pond_jobs::verify::claimed_tree(&claimed, None, &report.spec)?;
        let verdict = compare(
            Side {
                dir: &input,
                tree: &report.input,
            },
            &report.spec,
            Side {
                dir: &claimed,
                tree: &provider_tree,
            },
            Side {
                dir: &own,
                tree: &report.output,
            },
        )?;
        Ok(verdict)
    })
    .await?
}

/// The judge window a failed fetch of the outputs leaves for a challenge,
/// seconds: until then it is tried again.
const FETCH_MARGIN: u64 = 30;

/// The pause between fetches of the outputs.
const FETCH_RETRY: std::time::Duration = std::time::Duration::from_secs(3);

/// How often the chain is read while waiting.
const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits for job `job` to be matched; its deal. Expires it (and fails)
/// when its match deadline passes unmatched.
async fn await_match(
    client: &Client,
    job: U256,
    sends: bool,
    progress: &Progress,
) -> eyre::Result<U256> {
    loop {
        let info = client
            .job(job)
            .await?
            .ok_or_else(|| eyre::eyre!("job {job} vanished"))?;
        match info.state {
            "matched" => {
                let deal = client
                    .deal(info.deal_id)
                    .await?
                    .ok_or_else(|| eyre::eyre!("deal {} not found", info.deal_id))?;
                progress.event("matched", serde_json::json!({ "deal": info.deal_id.to_string(), "provider": deal.provider.to_string() }));
                return Ok(info.deal_id);
            }
            "expired" | "cancelled" => bail!(
                "job {job} was {}: no provider took it; its price is back in your vault (raise --max-price or lower the hardware asked)",
                info.state
            ),
            _ if client.now().await? >= info.match_deadline && !sends => bail!(
                "no provider took job {job} before its match deadline: its price comes back to your vault once anyone expires it (pond market expire {job}, or a keeper)"
            ),
            _ if client.now().await? >= info.match_deadline => {
                client.expire_job(job).await?;
                bail!("no provider took job {job} before its match deadline: it is expired and its price is back in your vault (see pond why-no-match)");
            }
            _ => progress.waiting("waiting for a provider"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for deal `deal`'s result to be revealed. Times the deal out (and
/// fails) when the provider misses a deadline.
async fn await_reveal(
    client: &Client,
    deal: U256,
    sends: bool,
    progress: &Progress,
) -> eyre::Result<pond_client::DealInfo> {
    let mut last = "";
    loop {
        let info = client
            .deal(deal)
            .await?
            .ok_or_else(|| eyre::eyre!("deal {deal} vanished"))?;
        // A commit and a reveal between two looks still show as two steps.
        let committed = matches!(info.state, "committed" | "revealed");
        if committed && !matches!(last, "committed" | "revealed") {
            progress.event("committed", serde_json::json!({ "deal": deal.to_string() }));
        }
        last = info.state;
        let now = client.now().await?;
        match info.state {
            "revealed" => return Ok(info),
            "active" | "committed" => {
                let deadline = if info.state == "active" {
                    info.execution_deadline
                } else {
                    info.reveal_deadline
                };
                if now > deadline && !sends {
                    bail!("the provider missed its deadline: once anyone claims the timeout (pond deal timeout {deal}, or a keeper), your price and its timeout collateral are in your vault; run the job again");
                }
                if now > deadline {
                    client.claim_timeout(deal).await?;
                    bail!("the provider missed its deadline: deal {deal} is timed out and your price and its timeout collateral are in your vault; run the job again");
                }
                progress.waiting(if info.state == "active" {
                    "the provider is running the job"
                } else {
                    "waiting for the reveal"
                });
            }
            other => bail!("deal {deal} ended as {other} before its result was revealed"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for a relayer to post `signed` (written to `file`); the job, the
/// relayer and the transaction. Fails when it never can be posted any
/// more.
async fn await_relayer(
    client: &Client,
    signed: &pond_client::SignedJob,
    file: &std::path::Path,
    progress: &Progress,
) -> eyre::Result<(U256, alloy::primitives::Address, alloy::primitives::B256)> {
    loop {
        let fate = match client.relayed(signed).await {
            Ok(fate) => fate,
            // The node is away for a while: the signature may still be
            // posted meanwhile, so keep waiting.
            Err(e) if e.is_retryable() => {
                progress.waiting(&format!("the node does not answer ({e})"));
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let never = |why: String| {
            // It can never be posted: the file is of no use to anyone.
            let _ = std::fs::remove_file(file);
            eyre::eyre!(
                "{why}; {} is removed: run the command again to sign anew",
                file.display()
            )
        };
        match fate {
            pond_client::Relayed::Posted {
                job,
                relayer,
                transaction,
            } => return Ok((job, relayer, transaction)),
            pond_client::Relayed::Waiting => progress.waiting(&format!(
                "waiting for a relayer to post {} (pond job relay {})",
                file.display(),
                file.display()
            )),
            pond_client::Relayed::NonceUsed => {
                return Err(never(format!(
                    "another job signed with relay nonce {} was posted instead, so this one never can be",
                    signed.nonce
                )))
            }
            pond_client::Relayed::Expired => {
                return Err(never(format!(
                    "nobody posted {} before its signature or match deadline passed (a longer --valid-for and --match-within give a relayer more time)",
                    file.display()
                )))
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for a challenged deal to be decided; how it ended.
async fn await_end(client: &Client, deal: U256, progress: &Progress) -> eyre::Result<&'static str> {
    loop {
        let info = client
            .deal(deal)
            .await?
            .ok_or_else(|| eyre::eyre!("deal {deal} vanished"))?;
        if matches!(info.state, "completed" | "rejected" | "timed_out") {
            return Ok(info.state);
        }
        progress.waiting("waiting for the validators");
        tokio::time::sleep(POLL).await;
    }
}
