//! `pond keeper run`: keeps a market moving that nobody else maintains. It
//! performs every permissionless step that is due: expire jobs past their
//! match deadline, close auctions after their window, time out deals that
//! missed a commit or reveal deadline, finalize deals after the judge
//! window, draw committees once the randomness is known, and resolve cases
//! after the reveal deadline.
//!
//! Each step is simulated before it is signed, so a step the contracts do
//! not consider due is refused and nothing is sent; the keeper keeps no
//! state of its own, so it is safe to stop and restart (or run twice) at
//! any moment.

use std::time::Duration;

use alloy::primitives::U256;
use clap::Args;
use pond_client::{Client, ClientError};

use crate::account::Session;

/// `pond keeper …`.
#[derive(Args, Debug)]
pub(crate) struct Keeper {
    #[command(subcommand)]
    command: KeeperCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(clap::Subcommand, Debug)]
enum KeeperCommand {
    /// Perform every permissionless step that is due, then again every
    /// --interval (Ctrl-C stops; with --once, one pass).
    Run {
        /// Time between passes, e.g. 15s.
        #[arg(long, default_value = "15s")]
        interval: String,
        /// One pass, then exit (for cron and scripts).
        #[arg(long)]
        once: bool,
    },
}

/// One step the keeper took.
#[derive(Debug)]
struct Step {
    action: &'static str,
    id: String,
    transaction: String,
}

/// Candidate steps for one id, tried in order until one goes through.
type Attempt<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<alloy::primitives::TxHash, ClientError>>
            + Send
            + 'a,
    >,
>;

/// Where each scan starts: ids below are finished (in memory only; a
/// restarted keeper scans from 1 once and catches up).
#[derive(Debug, Clone, Copy)]
struct Cursors {
    job: u64,
    deal: u64,
    case: u64,
}

/// What one pass did.
#[derive(Debug, Default)]
struct Pass {
    steps: Vec<Step>,
    /// Transactions that passed their simulation but reverted on chain
    /// (gas spent for nothing: worth a person's attention).
    reverted: Vec<String>,
}

impl Keeper {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        client.account()?;
        let KeeperCommand::Run { interval, once } = &self.command;
        let interval = Duration::from_secs(pond_client::units::parse_duration(interval)?.max(1));
        let mut cursors = Cursors {
            job: 1,
            deal: 1,
            case: 1,
        };
        // One Ctrl-C listener for the whole run, so a press during a pass
        // is not lost.
        let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
        loop {
            let done = tokio::select! {
                outcome = pass(&client, &mut cursors) => outcome,
                _ = &mut stop => return Ok(()),
            };
            match done {
                Ok(done) => {
                    for step in &done.steps {
                        if self.session.json {
                            let value = serde_json::json!({
                                "action": step.action, "id": step.id, "transaction": step.transaction,
                            });
                            println!("{value}");
                        } else {
                            println!("{:<14} {:>6}  {}", step.action, step.id, step.transaction);
                        }
                    }
                    for what in &done.reverted {
                        tracing::warn!("{what} passed its simulation but reverted on chain");
                    }
                    if *once {
                        if !self.session.json {
                            eprintln!("{} step(s) performed", done.steps.len());
                        }
                        if !done.reverted.is_empty() {
                            eyre::bail!("reverted on chain: {}", done.reverted.join(", "));
                        }
                        return Ok(());
                    }
                }
                // The chain is down or slow: try again next pass.
                Err(e) if e.is_retryable() && !*once => {
                    tracing::warn!("keeper pass failed, retrying in {interval:?}: {e}");
                }
                Err(e) => return Err(e.into()),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = &mut stop => return Ok(()),
            }
        }
    }
}

/// Tries `attempts` in order; the first that is sent is the step taken. A
/// refusal means "not due" and is not an error; a transport failure is.
async fn first_due(
    action_names: &[&'static str],
    attempts: Vec<Attempt<'_>>,
    id: U256,
    done: &mut Pass,
) -> Result<(), ClientError> {
    for (name, attempt) in action_names.iter().zip(attempts) {
        match attempt.await {
            Ok(tx) => {
                done.steps.push(Step {
                    action: name,
                    id: id.to_string(),
                    transaction: tx.to_string(),
                });
                return Ok(());
            }
            Err(e) if e.is_retryable() => return Err(e),
            Err(ClientError::Reverted(tx)) => {
                done.reverted.push(format!("{name} {id} ({tx})"));
                return Ok(());
            }
            Err(e) => tracing::debug!("{name} {id} not due: {e}"),
        }
    }
    Ok(())
}

/// One pass over every job, deal and case from the cursors on; each cursor
/// then moves past the finished ids at its front.
async fn pass(client: &Client, cursors: &mut Cursors) -> Result<Pass, ClientError> {
    let mut done = Pass::default();
    let now = client.now().await?;

    let jobs = u64::try_from(client.job_count().await?).unwrap_or(u64::MAX);
    let mut settled = true;
    for n in cursors.job..=jobs {
        let id = U256::from(n);
        let Some(job) = client.job(id).await? else {
            continue;
        };
        match job.state {
            "open" if now >= job.match_deadline => {
                let expire = Box::pin(client.expire_job(id));
                first_due(&["expire-job"], vec![expire], id, &mut done).await?;
            }
            "bidding" if now >= job.bidding_end => {
                let close =
                    Box::pin(async move { client.close_auction(id).await.map(|(_, tx)| tx) });
                let expire = Box::pin(client.expire_job(id));
                first_due(
                    &["close-auction", "expire-job"],
                    vec![close, expire],
                    id,
                    &mut done,
                )
                .await?;
            }
            _ => {}
        }
        settled &= matches!(job.state, "matched" | "cancelled" | "expired");
        if settled {
            cursors.job = n + 1;
        }
    }

    let deals = u64::try_from(client.deal_count().await?).unwrap_or(u64::MAX);
    let mut settled = true;
    for n in cursors.deal..=deals {
        let id = U256::from(n);
        let Some(deal) = client.deal(id).await? else {
            continue;
        };
        let (due, action) = match deal.state {
            "active" => (now >= deal.execution_deadline, "timeout-deal"),
            "committed" => (now >= deal.reveal_deadline, "timeout-deal"),
            "revealed" => (now >= deal.judge_deadline, "finalize-deal"),
            _ => (false, ""),
        };
        if due {
            let attempt: Attempt<'_> = if action == "finalize-deal" {
                Box::pin(client.finalize_deal(id))
            } else {
                Box::pin(client.claim_timeout(id))
            };
            first_due(&[action], vec![attempt], id, &mut done).await?;
        }
        settled &= matches!(deal.state, "completed" | "timed_out" | "rejected");
        if settled {
            cursors.deal = n + 1;
        }
    }

    let cases = u64::try_from(client.case_count().await?).unwrap_or(u64::MAX);
    let mut settled = true;
    for n in cursors.case..=cases {
        let id = U256::from(n);
        let Some(case) = client.case(id).await? else {
            continue;
        };
        match case.state {
            // Refused until the randomness block is in the past.
            "awaiting_randomness" => {
                let draw = Box::pin(client.draw_validators(id));
                first_due(&["draw-committee"], vec![draw], id, &mut done).await?;
            }
            // Due after the reveal deadline, or once every drawn validator
            // revealed: the simulation decides.
            "voting" => {
                let resolve = Box::pin(client.resolve_case(id));
                first_due(&["resolve-case"], vec![resolve], id, &mut done).await?;
            }
            _ => {}
        }
        settled &= case.state == "resolved";
        if settled {
            cursors.case = n + 1;
        }
    }
    Ok(done)
}
