//! `pond validator stake | unbond | withdraw | show` and `pond case list |
//! show | draw | commit | reveal | resolve`: staking, and voting on
//! challenged results. `case commit` stores the vote's salt (per round)
//! under `~/.pond/salts` before sending; `case reveal` finds it.

use alloy::primitives::{Address, B256, U256};
use clap::{Args, Subcommand};
use eyre::eyre;
use pond_bindings::commitment::vote_commitment;
use pond_client::{
    salts::{SaltFor, SaltStore},
    units::{format_amount, parse_amount},
};

use pond_agents::{
    journal::{journal_file, validator_owner, Journal},
    validator::{ValidatorAgent, ValidatorConfig},
};

use crate::{account::Session, provider::until_stop_requested};

/// `pond validator …`.
#[derive(Args, Debug)]
pub(crate) struct Validator {
    #[command(subcommand)]
    command: ValidatorCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum ValidatorCommand {
    /// Stake tokens from your available vault balance.
    Stake {
        /// Amount in tokens.
        amount: String,
    },
    /// Start unbonding part of your stake.
    Unbond {
        /// Amount in tokens.
        amount: String,
    },
    /// Withdraw what finished unbonding to your vault balance.
    Withdraw,
    /// Stake and record (yours, or --account's).
    Show {
        /// Any validator.
        #[arg(long)]
        account: Option<Address>,
    },
    /// Validate by yourself: keep your stake, re-run the jobs of the cases
    /// that draw you and vote, until Ctrl-C or SIGTERM (see
    /// docs/agents.md for validator.toml).
    Run {
        /// The agent's configuration.
        #[arg(long, default_value = "validator.toml")]
        config: std::path::PathBuf,
    },
    /// The votes the agent configured by --config has kept.
    Status {
        /// The agent's configuration.
        #[arg(long, default_value = "validator.toml")]
        config: std::path::PathBuf,
    },
}

impl Validator {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        match &self.command {
            ValidatorCommand::Run { config } => return run_agent(client, config).await,
            ValidatorCommand::Status { config } => {
                return agent_status(client, config, self.session.json).await
            }
            _ => {}
        }
        let decimals = client.token_decimals().await?;
        let tx = match &self.command {
            ValidatorCommand::Stake { amount } => {
                client.stake(parse_amount(amount, decimals)?).await?
            }
            ValidatorCommand::Unbond { amount } => {
                client
                    .request_unbond(parse_amount(amount, decimals)?)
                    .await?
            }
            ValidatorCommand::Withdraw => client.withdraw_unbonded().await?,
            ValidatorCommand::Run { .. } | ValidatorCommand::Status { .. } => return Ok(()),
            ValidatorCommand::Show { account } => {
                let account = Session::account_or(&client, *account, "a validator")?;
                let v = client.validator(account).await?;
                let fmt = |x| format_amount(x, decimals);
                if self.session.json {
                    let value = serde_json::json!({
                        "validator": account,
                        "stake": fmt(v.stake),
                        "unbonding": fmt(v.unbonding),
                        "unbondingReadyAt": v.unbonding_ready_at,
                        "activeCases": v.active_cases,
                        "withMajority": v.with_majority,
                        "againstMajority": v.against_majority,
                        "noShows": v.no_shows,
                        "earned": fmt(v.earned),
                        "slashed": fmt(v.slashed),
                    });
                    println!("{value}");
                } else {
                    println!("validator  {account}");
                    println!(
                        "stake      {} (unbonding {}, ready at {})",
                        fmt(v.stake),
                        fmt(v.unbonding),
                        v.unbonding_ready_at
                    );
                    println!(
                        "votes      {} with the majority, {} against, {} missed; serving {} cases",
                        v.with_majority, v.against_majority, v.no_shows, v.active_cases
                    );
                    println!("earned     {} (slashed {})", fmt(v.earned), fmt(v.slashed));
                }
                return Ok(());
            }
        };
        self.session.print_sent(tx, &[]);
        Ok(())
    }
}

/// `pond case …`.
#[derive(Args, Debug)]
pub(crate) struct Case {
    #[command(subcommand)]
    command: CaseCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum CaseCommand {
    /// Cases, newest first: all, or those that drew --validator (or
    /// --mine: your key's account).
    List {
        /// Only cases that drew this validator.
        #[arg(long, conflicts_with = "mine")]
        validator: Option<alloy::primitives::Address>,
        /// Only cases that drew your account.
        #[arg(long)]
        mine: bool,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// A case: deal, parties, state, round, deadlines, drawn validators.
    Show {
        /// The case.
        case: U256,
    },
    /// Draw the validators once the case's randomness is known (anyone).
    Draw {
        /// The case.
        case: U256,
    },
    /// Commit your vote (a drawn validator); the salt is kept for reveal.
    Commit {
        /// The case.
        case: U256,
        /// The result you stand for (0x + 64 hex).
        #[arg(long)]
        result_hash: B256,
        /// The digest of the outputs you stand for, with this round's seed.
        #[arg(long)]
        output_digest: B256,
    },
    /// Reveal your committed vote.
    Reveal {
        /// The case.
        case: U256,
        /// The result, as committed.
        #[arg(long)]
        result_hash: B256,
        /// The output digest, as committed.
        #[arg(long)]
        output_digest: B256,
        /// The salt (default: the one `commit` stored).
        #[arg(long)]
        salt: Option<B256>,
    },
    /// Resolve a case after its reveal deadline (anyone).
    Resolve {
        /// The case.
        case: U256,
    },
}

impl Case {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let d = client.deployment();
        let salts = SaltStore::new(SaltStore::default_dir(), d.chain_id, d.contracts.deals);
        let round = |case: U256| {
            let client = client.clone();
            async move {
                let info = client.case(case).await?;
                info.map(|c| c.round)
                    .ok_or_else(|| eyre!("there is no case {case}"))
            }
        };
        let tx = match &self.command {
            CaseCommand::List {
                validator,
                mine,
                limit,
            } => {
                let who = match (validator, mine) {
                    (Some(v), _) => Some(*v),
                    (None, true) => Some(client.account()?),
                    (None, false) => None,
                };
                let count = u64::try_from(client.case_count().await?).unwrap_or(u64::MAX);
                let mut rows = Vec::new();
                for id in (1..=count).rev() {
                    if rows.len() as u64 >= *limit {
                        break;
                    }
                    let Some(c) = client.case(U256::from(id)).await? else {
                        continue;
                    };
                    if who.is_some_and(|v| !c.validators.contains(&v)) {
                        continue;
                    }
                    rows.push((id, c));
                }
                if self.session.json {
                    let rows: Vec<_> = rows
                        .iter()
                        .map(|(id, c)| {
                            serde_json::json!({
                                "id": id.to_string(), "dealId": c.deal_id.to_string(),
                                "state": c.state, "round": c.round,
                                "revealDeadline": c.reveal_deadline, "validators": c.validators,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if rows.is_empty() {
                    println!("no cases");
                } else {
                    println!(
                        "{:>6}  {:>6}  {:<20} {:>5}  reveal by",
                        "case", "deal", "state", "round"
                    );
                    for (id, c) in &rows {
                        println!(
                            "{id:>6}  {:>6}  {:<20} {:>5}  {} (unix)",
                            c.deal_id, c.state, c.round, c.reveal_deadline
                        );
                    }
                }
                return Ok(());
            }
            CaseCommand::Show { case } => {
                let c = client
                    .case(*case)
                    .await?
                    .ok_or_else(|| eyre!("there is no case {case}"))?;
                if self.session.json {
                    let value = serde_json::json!({
                        "id": case.to_string(),
                        "dealId": c.deal_id.to_string(),
                        "creator": c.creator,
                        "provider": c.provider,
                        "state": c.state,
                        "round": c.round,
                        "commitDeadline": c.commit_deadline,
                        "revealDeadline": c.reveal_deadline,
                        "providerResult": c.provider_result,
                        "validators": c.validators,
                    });
                    println!("{value}");
                } else {
                    println!(
                        "case       {case} ({}, round {}) on deal {}",
                        c.state, c.round, c.deal_id
                    );
                    println!("creator    {}", c.creator);
                    println!("provider   {} (result {})", c.provider, c.provider_result);
                    println!(
                        "deadlines  commit {}, reveal {} (unix)",
                        c.commit_deadline, c.reveal_deadline
                    );
                    for v in &c.validators {
                        println!("validator  {v}");
                    }
                }
                return Ok(());
            }
            CaseCommand::Draw { case } => client.draw_validators(*case).await?,
            CaseCommand::Commit {
                case,
                result_hash,
                output_digest,
            } => {
                let validator = client.account()?;
                let round = round(*case).await?;
                let salt = salts.salt_for_commit(SaltFor::Vote { case: *case, round })?;
                let commitment =
                    vote_commitment(*case, validator, *result_hash, *output_digest, salt);
                client.commit_vote(*case, commitment).await?
            }
            CaseCommand::Reveal {
                case,
                result_hash,
                output_digest,
                salt,
            } => {
                let salt = match salt {
                    Some(s) => *s,
                    None => salts.salt(SaltFor::Vote {
                        case: *case,
                        round: round(*case).await?,
                    })?,
                };
                client
                    .reveal_vote(*case, *result_hash, *output_digest, salt)
                    .await?
            }
            CaseCommand::Resolve { case } => client.resolve_case(*case).await?,
        };
        self.session.print_sent(tx, &[]);
        Ok(())
    }
}

/// `pond validator run`.
async fn run_agent(client: pond_client::Client, config: &std::path::Path) -> eyre::Result<()> {
    let config = ValidatorConfig::load(config)?;
    let me = client.account()?;
    let metrics = config.metrics.clone();
    let agent = ValidatorAgent::start(client, config).await?;
    println!("validator   {me}");
    if let Some(address) = metrics {
        let bound = agent.serve_metrics(&address).await?;
        println!("metrics at  http://{bound}/metrics");
    }
    agent.run(until_stop_requested()).await?;
    Ok(())
}

/// `pond validator status`.
async fn agent_status(
    client: pond_client::Client,
    config: &std::path::Path,
    json: bool,
) -> eyre::Result<()> {
    let config = ValidatorConfig::load(config)?;
    let path = journal_file(&config.data_dir);
    let d = client.deployment();
    let journal = Journal::open_existing(
        &path,
        &validator_owner(d.chain_id, d.contracts.mediation, client.account()?),
    )
    .await?;
    let votes = journal.all_votes().await?;
    if json {
        let list: Vec<_> = votes
            .iter()
            .map(|(case, round, v)| {
                serde_json::json!({
                    "case": case.to_string(), "round": round, "result": v.result,
                    "digest": v.digest, "stage": v.stage,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "votes": list }));
        return Ok(());
    }
    if votes.is_empty() {
        println!("no votes yet");
    }
    for (case, round, v) in &votes {
        println!("case {case:>6} round {round}  {:<10} {}", v.stage, v.result);
    }
    Ok(())
}
