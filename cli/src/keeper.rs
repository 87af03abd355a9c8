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

impl Keeper {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        client.account()?;
        let KeeperCommand::Run { interval, once } = &self.command;
        let interval = Duration::from_secs(pond_client::units::parse_duration(interval)?.max(1));
        loop {
            match pass(&client).await {
                Ok(steps) => {
                    if self.session.json {
                        for step in &steps {
                            let value = serde_json::json!({
                                "action": step.action, "id": step.id, "transaction": step.transaction,
                            });
                            println!("{value}");
                        }
                    } else {
                        for step in &steps {
                            println!("{:<14} {:>6}  {}", step.action, step.id, step.transaction);
                        }
                    }
                    if *once {
                        if !self.session.json {
                            eprintln!("{} step(s) performed", steps.len());
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
                _ = tokio::signal::ctrl_c() => return Ok(()),
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
    steps: &mut Vec<Step>,
) -> Result<(), ClientError> {
    for (name, attempt) in action_names.iter().zip(attempts) {
        match attempt.await {
            Ok(tx) => {
                steps.push(Step {
                    action: name,
                    id: id.to_string(),
                    transaction: tx.to_string(),
                });
                return Ok(());
            }
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => tracing::debug!("{name} {id} not due: {e}"),
        }
    }
    Ok(())
}

/// One pass over every job, deal and case that is not finished.
async fn pass(client: &Client) -> Result<Vec<Step>, ClientError> {
    let mut steps = Vec::new();
    let now = client.now().await?;
    let one = U256::from(1);

    let mut id = one;
    let jobs = client.job_count().await?;
    while id <= jobs {
        if let Some(job) = client.job(id).await? {
            match job.state {
                "open" if now >= job.match_deadline => {
                    first_due(
                        &["expire-job"],
                        vec![Box::pin(client.expire_job(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                "bidding" if now >= job.bidding_end => {
                    let close =
                        Box::pin(async move { client.close_auction(id).await.map(|(_, tx)| tx) });
                    let expire = Box::pin(client.expire_job(id));
                    first_due(
                        &["close-auction", "expire-job"],
                        vec![close, expire],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        id += one;
    }

    let mut id = one;
    let deals = client.deal_count().await?;
    while id <= deals {
        if let Some(deal) = client.deal(id).await? {
            match deal.state {
                "active" if now >= deal.execution_deadline => {
                    first_due(
                        &["timeout-deal"],
                        vec![Box::pin(client.claim_timeout(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                "committed" if now >= deal.reveal_deadline => {
                    first_due(
                        &["timeout-deal"],
                        vec![Box::pin(client.claim_timeout(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                "revealed" if now >= deal.judge_deadline => {
                    first_due(
                        &["finalize-deal"],
                        vec![Box::pin(client.finalize_deal(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        id += one;
    }

    let mut id = one;
    let cases = client.case_count().await?;
    while id <= cases {
        if let Some(case) = client.case(id).await? {
            match case.state {
                // Refused until the randomness block is in the past.
                "awaiting_randomness" => {
                    first_due(
                        &["draw-committee"],
                        vec![Box::pin(client.draw_validators(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                // Also due once every drawn validator revealed: the
                // simulation decides.
                "voting" => {
                    first_due(
                        &["resolve-case"],
                        vec![Box::pin(client.resolve_case(id))],
                        id,
                        &mut steps,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        id += one;
    }
    Ok(steps)
}
