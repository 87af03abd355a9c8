//! `pond deal commit | reveal | accept | challenge | finalize | timeout |
//! status`: a deal from both sides, and the permissionless steps.
//! `commit` stores its salt under `~/.pond/salts` before sending, and
//! `reveal` finds it there.

use alloy::primitives::{B256, U256};
use clap::{Args, Subcommand};
use pond_bindings::commitment::result_commitment;
use pond_client::{
    salts::{SaltFor, SaltStore},
    units::format_amount,
};

use crate::account::Session;

/// `pond deal …`.
#[derive(Args, Debug)]
pub(crate) struct Deal {
    #[command(subcommand)]
    command: DealCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum DealCommand {
    /// Commit to a result (the provider); the salt is kept for reveal.
    Commit {
        /// The deal.
        deal: U256,
        /// The result's hash (0x + 64 hex).
        #[arg(long)]
        result_hash: B256,
    },
    /// Reveal the committed result with the outputs' URI (the provider).
    Reveal {
        /// The deal.
        deal: U256,
        /// The result's hash, as committed.
        #[arg(long)]
        result_hash: B256,
        /// Where the outputs can be fetched.
        #[arg(long)]
        result_uri: String,
        /// The salt (default: the one `commit` stored).
        #[arg(long)]
        salt: Option<B256>,
    },
    /// Accept a revealed result (the creator): the provider is paid.
    Accept {
        /// The deal.
        deal: U256,
    },
    /// Challenge a revealed result (the creator, paying the mediation fee).
    Challenge {
        /// The deal.
        deal: U256,
    },
    /// Finalize a revealed deal after its judge window (anyone).
    Finalize {
        /// The deal.
        deal: U256,
    },
    /// Claim a missed commit or reveal deadline (anyone).
    Timeout {
        /// The deal.
        deal: U256,
    },
    /// A deal's parties, state, money and deadlines.
    Status {
        /// The deal.
        deal: U256,
    },
}

impl Deal {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let d = client.deployment();
        let salts = SaltStore::new(SaltStore::default_dir(), d.chain_id, d.contracts.deals);
        let (deal, tx, extra) = match &self.command {
            DealCommand::Commit { deal, result_hash } => {
                let provider = client.account()?;
                let salt = salts.salt_for_commit(SaltFor::Result { deal: *deal })?;
                let commitment = result_commitment(*deal, provider, *result_hash, salt);
                (deal, client.commit_result(*deal, commitment).await?, None)
            }
            DealCommand::Reveal {
                deal,
                result_hash,
                result_uri,
                salt,
            } => {
                let salt = match salt {
                    Some(salt) => *salt,
                    None => salts.salt(SaltFor::Result { deal: *deal })?,
                };
                let tx = client
                    .reveal_result(*deal, *result_hash, result_uri, salt)
                    .await?;
                (deal, tx, None)
            }
            DealCommand::Accept { deal } => (deal, client.accept_result(*deal).await?, None),
            DealCommand::Challenge { deal } => {
                let (case, tx) = client.challenge_result(*deal).await?;
                (deal, tx, Some(("caseId", case)))
            }
            DealCommand::Finalize { deal } => (deal, client.finalize_deal(*deal).await?, None),
            DealCommand::Timeout { deal } => (deal, client.claim_timeout(*deal).await?, None),
            DealCommand::Status { deal } => {
                let info = client
                    .deal(*deal)
                    .await?
                    .ok_or_else(|| eyre::eyre!("there is no deal {deal}"))?;
                let decimals = client.token_decimals().await?;
                let fmt = |v| format_amount(v, decimals);
                let case = (!info.case_id.is_zero()).then(|| info.case_id.to_string());
                if self.session.json {
                    let value = serde_json::json!({
                        "id": deal.to_string(),
                        "jobId": info.job_id.to_string(),
                        "creator": info.creator,
                        "provider": info.provider,
                        "state": info.state,
                        "caseId": case,
                        "price": fmt(info.price),
                        "resultsCollateral": fmt(info.results_collateral),
                        "timeoutCollateral": fmt(info.timeout_collateral),
                        "executionDeadline": info.execution_deadline,
                        "revealDeadline": info.reveal_deadline,
                        "judgeDeadline": info.judge_deadline,
                        "resultHash": info.result_hash,
                    });
                    println!("{value}");
                } else {
                    println!("deal       {deal} ({}) for job {}", info.state, info.job_id);
                    println!("creator    {}", info.creator);
                    println!("provider   {}", info.provider);
                    println!(
                        "price      {} (collateral {} results, {} timeout)",
                        fmt(info.price),
                        fmt(info.results_collateral),
                        fmt(info.timeout_collateral)
                    );
                    println!(
                        "deadlines  commit {}, reveal {}, judge {} (unix; 0: not yet)",
                        info.execution_deadline, info.reveal_deadline, info.judge_deadline
                    );
                    if let Some(case) = case {
                        println!("case       {case}");
                    }
                }
                return Ok(());
            }
        };
        let case = extra.map(|(_, case)| case.to_string());
        self.session
            .print_sent(tx, &[("deal", Some(deal.to_string())), ("caseId", case)]);
        Ok(())
    }
}
