//! The validator agent (`pond validator run`): once started it keeps its
//! stake at the configured amount (never unbonding), and for every case
//! that draws it re-runs the job with the same executors a provider uses,
//! fetches the provider's outputs from the revealed URI, judges them (the
//! comparator for `tolerant` jobs), commits its vote and reveals it when
//! the contract allows. With `keep-cases` it also draws committees and
//! resolves cases when they are due, so challenges move without a keeper.
//!
//! How it votes is `docs/protocol.md` (Mediation): the provider's result
//! with the digest of the provider's outputs when they agree with its
//! own run; its own result and digest otherwise; the "outputs unavailable"
//! result with a zero digest when the provider's outputs cannot be fetched.
//! The vote and its salt are journaled before the commitment is sent, so
//! a `kill -9` never makes it commit one vote and reveal another.

pub mod config;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use alloy::primitives::{keccak256, Address, B256, U256};
use pond_bindings::commitment::vote_commitment;
use pond_client::{units::parse_amount, CaseInfo, Client, ClientError};
use pond_jobs::{verify::output_digest, ContainerRuntime, Verdict};
use pond_store::{ContentHash, LocalStore, Resolver};
use rand::RngCore;

pub use crate::chain::AgentError;
use crate::{
    chain::{refused_is_skipped, run_passes, scan_window, send, serve, within, Passes, Tasks},
    execute::Executor,
    journal::{journal_file, validator_owner, Journal},
    metrics::{self, Metrics},
    upkeep::StoreUpkeep,
    wake::Wakeups,
};
pub use config::ValidatorConfig;

/// What a validator agent measures.
const VALIDATOR_METRICS: [metrics::Metric; 8] = [
    metrics::PASSES,
    metrics::PASS_ERRORS,
    metrics::REFUSED,
    metrics::VOTES_WORKED_OUT,
    metrics::VOTES_COMMITTED,
    metrics::VOTES_REVEALED,
    metrics::VALIDATOR_EARNED,
    metrics::VALIDATOR_SLASHED,
];

/// The result voted when the provider's outputs cannot be fetched.
#[must_use]
pub fn outputs_unavailable() -> B256 {
    keccak256("pond.outputs-unavailable")
}

/// How long before the commit deadline a vote must be worked out, and
/// the provider's outputs counted unavailable if they still cannot be
/// fetched, seconds.
const COMMIT_MARGIN: u64 = 300;

/// The pause before a failed working-out is tried again.
const RETRY_PAUSE: Duration = Duration::from_secs(20);

/// A vote worked out for one round of a case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vote {
    result: B256,
    digest: B256,
}

/// A validator agent for one account.
#[derive(Debug)]
pub struct ValidatorAgent {
    client: Client,
    config: ValidatorConfig,
    stake: U256,
    me: Address,
    journal: Journal,
    executor: Executor,
    /// Votes being worked out, by case and round.
    working: Tasks<(U256, u8), Result<Vote, String>>,
    metrics: Metrics,
    /// Votes whose working-out failed: not started again before this time.
    not_before: HashMap<(U256, u8), std::time::Instant>,
    /// Shutting down: no new votes are worked out.
    draining: bool,
    /// Votes the last pass found worked out and still committable (a stop
    /// waits for their commits).
    committable: HashSet<(U256, u8)>,
    upkeep: StoreUpkeep,
}

impl ValidatorAgent {
    /// Prepares the agent: its data directory, journal and store.
    ///
    /// # Errors
    /// No signing account, the chain cannot be read, the journal belongs
    /// to another deployment or account, or the data directory is unusable.
    pub async fn start(client: Client, config: ValidatorConfig) -> Result<Self, AgentError> {
        let me = client.account()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| AgentError::Io {
            what: format!("creating {}", config.data_dir.display()),
            source,
        })?;
        let d = client.deployment();
        let journal = Journal::open(
            &journal_file(&config.data_dir),
            &validator_owner(d.chain_id, d.contracts.mediation, me),
        )
        .await?;
        let store = Arc::new(LocalStore::open(config.data_dir.join("store"))?);
        let decimals = client.token_decimals().await?;
        let stake = parse_amount(&config.stake, decimals).map_err(|source| AgentError::Amount {
            key: "stake",
            source,
        })?;
        let executor = Executor {
            store: Arc::clone(&store),
            resolver: Resolver {
                local: Arc::clone(&store),
                servers: Vec::new(),
                limits: pond_store::Limits::default(),
                allow_file_uris: false,
            },
            containers: config.container_runtime.as_ref().map(ContainerRuntime::new),
            work_dir: config.data_dir.join("runs"),
        };
        let upkeep = StoreUpkeep::new(store, config.store_grace);
        Ok(Self {
            upkeep,
            client,
            config,
            stake,
            me,
            journal,
            executor,
            working: Tasks::new(),
            metrics: Metrics::new(&VALIDATOR_METRICS),
            not_before: HashMap::new(),
            draining: false,
            committable: HashSet::new(),
        })
    }

    /// The agent's metrics (see [`Self::serve_metrics`]).
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves the metrics at `http://<address>/metrics`; the address bound.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn serve_metrics(&self, address: &str) -> Result<std::net::SocketAddr, AgentError> {
        serve(address, self.metrics.router(), "metrics").await
    }

    /// Runs passes until `stop` completes (see [`run_passes`]). With a
    /// GraphQL endpoint configured, any mediation event starts the next
    /// pass at once.
    ///
    /// # Errors
    /// None today; kept for failures no later pass can mend.
    pub async fn run(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), AgentError> {
        let wakeups = self.config.graphql.clone().map(|url| {
            Wakeups::follow(
                url,
                vec!["subscription { events(contract: \"Mediation\") { name } }".to_owned()],
            )
        });
        run_passes(&mut self, wakeups.as_ref(), stop).await
    }

    /// One pass: the stake, then every case from the cursor on.
    ///
    /// # Errors
    /// The chain or the journal failed.
    pub async fn pass(&mut self) -> Result<(), AgentError> {
        // A vote being worked out pins its job's data: collection may run
        // at any time.
        self.upkeep.collect_if_due();
        let now = self.client.now().await?;
        self.committable.clear();
        let cursor = self.journal.cursor("case-cursor").await?;
        let (mut next_cursor, mut front_settled) = (cursor, true);
        for n in scan_window(cursor, self.client.case_count().await?) {
            if let Some(case) = self.client.case(n).await? {
                let step = self.serve_case(n, &case, now).await;
                refused_is_skipped(&self.metrics, &format!("case {n}"), step)?;
                front_settled &= case.state == "resolved";
            }
            if front_settled {
                next_cursor = n + U256::from(1);
            }
        }
        self.journal
            .set_cursor("case-cursor", cursor, next_cursor)
            .await?;
        // After the votes: their deadlines are the ones stake rides on.
        self.keep_stake().await
    }

    /// Tops the stake up to the configured amount from the vault balance.
    async fn keep_stake(&self) -> Result<(), AgentError> {
        let record = self.client.validator(self.me).await?;
        self.metrics
            .set(metrics::VALIDATOR_EARNED, metrics::amount(record.earned));
        self.metrics
            .set(metrics::VALIDATOR_SLASHED, metrics::amount(record.slashed));
        let staked = record.stake;
        if staked >= self.stake {
            return Ok(());
        }
        let missing = self.stake - staked;
        let sent = send(
            self.config.tx_timeout,
            "staking".to_owned(),
            self.client.stake(missing),
        )
        .await
        .map(|tx| tracing::info!("staked {missing} more ({tx})"));
        refused_is_skipped(&self.metrics, "staking", sent)
    }

    /// Whether a refusal only means "not due yet" (simulated, nothing
    /// sent).
    fn not_due(
        result: Result<alloy::primitives::TxHash, ClientError>,
        what: &str,
    ) -> Result<(), AgentError> {
        match result {
            Ok(tx) => {
                tracing::info!("{what} ({tx})");
                Ok(())
            }
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(e) => {
                tracing::debug!("{what}: not due: {e}");
                Ok(())
            }
        }
    }

    async fn serve_case(&mut self, id: U256, case: &CaseInfo, now: u64) -> Result<(), AgentError> {
        match case.state {
            "awaiting_randomness" if self.config.keep_cases => {
                let drawn = within(
                    self.config.tx_timeout,
                    format!("drawing case {id}"),
                    self.client.draw_validators(id),
                )
                .await?;
                Self::not_due(drawn, &format!("case {id}: committee drawn"))
            }
            "voting" => {
                if case.validators.contains(&self.me) {
                    // A vote the contracts refuse must not keep the case
                    // from being resolved.
                    let voted = self.vote_in(id, case, now).await;
                    refused_is_skipped(&self.metrics, &format!("case {id}: voting"), voted)?;
                }
                if self.config.keep_cases {
                    let resolved = within(
                        self.config.tx_timeout,
                        format!("resolving case {id}"),
                        self.client.resolve_case(id),
                    )
                    .await?;
                    Self::not_due(resolved, &format!("case {id}: resolved"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Works out, commits and reveals this validator's vote in the case's
    /// current round, whichever is due.
    async fn vote_in(&mut self, id: U256, case: &CaseInfo, now: u64) -> Result<(), AgentError> {
        let round = case.round;
        let Some(vote) = self.journal.vote(id, round).await? else {
            let busy = self.working.contains(&(id, round))
                || self
                    .not_before
                    .get(&(id, round))
                    .is_some_and(|t| std::time::Instant::now() < *t);
            if now <= case.commit_deadline && !busy && !self.draining {
                self.start_working_out(id, case.clone(), now);
            }
            return Ok(());
        };
        // A commitment whose receipt was lost may have landed: past the
        // deadline, try to reveal it (refused harmlessly if it did not).
        let stage = match vote.stage {
            "chosen" if now > case.commit_deadline => "committed",
            other => other,
        };
        if stage == "chosen" {
            self.committable.insert((id, round));
        }
        match stage {
            "committed" if now > case.reveal_deadline => self.missed(id, round).await?,
            "chosen" => {
                let commitment = vote_commitment(id, self.me, vote.result, vote.digest, vote.salt);
                let sent = send(
                    self.config.tx_timeout,
                    format!("committing a vote in case {id}"),
                    self.client.commit_vote(id, commitment),
                )
                .await;
                match sent {
                    Ok(tx) => {
                        self.metrics.add(metrics::VOTES_COMMITTED, 1);
                        tracing::info!("case {id}: vote {} committed ({tx})", vote.result);
                    }
                    Err(AgentError::Client(ClientError::Revert(r)))
                        if r.error == "AlreadyCommitted" => {}
                    Err(e) => return Err(e),
                }
                self.journal.set_vote_stage(id, round, "committed").await?;
            }
            "committed" => {
                let revealed = within(
                    self.config.tx_timeout,
                    format!("revealing in case {id}"),
                    self.client
                        .reveal_vote(id, vote.result, vote.digest, vote.salt),
                )
                .await?;
                match revealed {
                    Ok(tx) => {
                        self.metrics.add(metrics::VOTES_REVEALED, 1);
                        tracing::info!("case {id}: vote revealed ({tx})");
                    }
                    Err(ClientError::Revert(r)) if r.error == "AlreadyRevealed" => {}
                    Err(ClientError::Revert(r)) if r.error == "RevealWindowClosed" => {
                        return self.missed(id, round).await;
                    }
                    // Not open yet (others still committing): next pass.
                    Err(ClientError::Revert(r)) if r.error == "RevealNotOpen" => return Ok(()),
                    Err(ClientError::Revert(r)) if r.error == "NotCommitted" => {
                        tracing::warn!("case {id}: the vote was never committed");
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                }
                self.journal.set_vote_stage(id, round, "revealed").await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Re-runs the case's job and judges the provider's outputs in the
    /// background.
    fn start_working_out(&mut self, id: U256, case: CaseInfo, now: u64) {
        let round = case.round;
        let (client, executor) = (self.client.clone(), self.executor.clone());
        tracing::info!(
            "case {id}: drawn for round {}; re-running the job",
            case.round
        );
        // Whatever happens (a trickling server, a long run), the work ends
        // in time to commit.
        let left = case
            .commit_deadline
            .saturating_sub(now)
            .saturating_sub(COMMIT_MARGIN)
            .max(1);
        // The work itself stops a little earlier, so that a provider's
        // outputs that never arrive still give a vote.
        let due = tokio::time::Instant::now() + Duration::from_secs(left).mul_f64(0.9);
        self.working.spawn((id, round), async move {
            let vote = tokio::time::timeout(
                Duration::from_secs(left),
                work_out(&client, &executor, id, &case, now, due),
            )
            .await
            .map_err(|_| "working out the vote took until the commit deadline".to_owned())
            .and_then(|vote| vote.map_err(|e| e.to_string()));
            vote
        });
    }

    /// Records that the reveal window closed before this vote was revealed
    /// (the agent was down or the chain unreachable): the contracts count
    /// it as a no-show, and nothing more can be done for it.
    async fn missed(&self, id: U256, round: u8) -> Result<(), AgentError> {
        tracing::warn!(
            "case {id}: the reveal window closed before this validator revealed its vote; \
             it is slashed as a no-show"
        );
        self.journal.set_vote_stage(id, round, "missed").await?;
        Ok(())
    }

    /// Journals a worked-out vote with a new salt (committed by the next
    /// pass).
    async fn keep_vote(
        &mut self,
        case: U256,
        round: u8,
        vote: Result<Vote, String>,
    ) -> Result<(), AgentError> {
        match vote {
            Ok(vote) => {
                let mut salt = B256::ZERO;
                rand::thread_rng().fill_bytes(salt.as_mut_slice());
                self.journal
                    .record_vote(case, round, vote.result, vote.digest, salt)
                    .await?;
                self.metrics.add(metrics::VOTES_WORKED_OUT, 1);
                tracing::info!("case {case}: will vote {}", vote.result);
            }
            // Tried again while the commit window lasts.
            Err(e) => {
                self.not_before
                    .insert((case, round), std::time::Instant::now() + RETRY_PAUSE);
                tracing::warn!("case {case}: cannot work out a vote yet: {e}");
            }
        }
        Ok(())
    }
}

impl Passes for ValidatorAgent {
    type Key = (U256, u8);
    type Work = Result<Vote, String>;
    const NAME: &'static str = "validator";

    fn poll_interval(&self) -> u64 {
        self.config.poll_interval
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn pass(&mut self) -> Result<(), AgentError> {
        ValidatorAgent::pass(self).await
    }

    fn tasks(&mut self) -> &mut Tasks<(U256, u8), Self::Work> {
        &mut self.working
    }

    async fn finished(&mut self, (case, round): (U256, u8), output: Result<Self::Work, String>) {
        for pin in case_pins(case, round) {
            let _ = self.executor.store.unpin(&pin);
        }
        if let Err(e) = self
            .keep_vote(case, round, output.and_then(|vote| vote))
            .await
        {
            tracing::warn!("case {case}: keeping the vote failed: {e}");
        }
    }

    fn shutdown_grace(&self) -> u64 {
        self.config.shutdown_grace
    }

    fn drain(&mut self) {
        self.draining = true;
    }

    /// Votes worked out and still committable (a commit is due at once;
    /// reveals wait for the others, so they are left to the next start).
    fn in_flight(&self) -> bool {
        !self.committable.is_empty()
    }
}

/// Why a vote could not be worked out (yet).
#[derive(Debug, thiserror::Error)]
enum WorkOutError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Execute(#[from] crate::execute::ExecuteError),
    #[error(transparent)]
    Store(#[from] pond_store::StoreError),
    #[error("{0}")]
    Missing(String),
}

/// The vote of this machine in `case`'s current round.
async fn work_out(
    client: &Client,
    executor: &Executor,
    id: U256,
    case: &CaseInfo,
    now: u64,
    due: tokio::time::Instant,
) -> Result<Vote, WorkOutError> {
    let missing = |what: String| WorkOutError::Missing(what);
    let deal = client
        .deal(case.deal_id)
        .await?
        .ok_or_else(|| missing(format!("deal {} not found", case.deal_id)))?;
    let data = client
        .job_data(deal.job_id)
        .await?
        .ok_or_else(|| missing(format!("job {}'s posting not found", deal.job_id)))?;
    let seed = client.case_seed(id, case.round).await?.ok_or_else(|| {
        missing(format!(
            "the randomness of case {id} round {} is not available",
            case.round
        ))
    })?;
    let name = format!("case-{id}-round-{}", case.round);
    // Kept through garbage collection until the vote is worked out.
    let [module_pin, input_pin] = case_pins(id, case.round);
    executor
        .store
        .pin(&module_pin, &ContentHash(data.module_hash.0))?;
    executor
        .store
        .pin(&input_pin, &ContentHash(data.input_hash.0))?;
    // The provider's outputs are fetched while the job runs here, both
    // bounded by `due`: a provider whose server trickles or hangs gets an
    // "unavailable" vote in time, never a validator that misses its vote.
    let reveal = client.revealed_result(case.deal_id).await?;
    let fetch = async {
        match reveal {
            Some((hash, uri)) if hash == case.provider_result => {
                let required = ContentHash(hash.0);
                let fetched = executor.fetch_served(&name, &uri, &required);
                match tokio::time::timeout_at(due, fetched).await {
                    Ok(fetched) => fetched.map_err(|e| (e.to_string(), false)),
                    Err(_) => Err((
                        "they did not arrive before the vote was due".to_owned(),
                        true,
                    )),
                }
            }
            _ => Err(("the provider's reveal was not found".to_owned(), false)),
        }
    };
    let (own, provider) = tokio::join!(
        tokio::time::timeout_at(due, executor.run(&name, &data)),
        fetch,
    );
    let provider = match provider {
        Ok(tree) => tree,
        Err((why, ran_out)) => {
            // A server that is down for a while is tried again; only near
            // the deadline (on a fresh look at the clock) are the outputs
            // counted unavailable.
            let now = client.now().await.unwrap_or(now);
            if !ran_out && now.saturating_add(2 * COMMIT_MARGIN) < case.commit_deadline {
                return Err(WorkOutError::Missing(format!(
                    "the provider's outputs cannot be fetched yet: {why}"
                )));
            }
            tracing::info!("case {id}: the provider's outputs are unavailable: {why}");
            return Ok(Vote {
                result: outputs_unavailable(),
                digest: B256::ZERO,
            });
        }
    };
    let own = own.map_err(|_| {
        WorkOutError::Missing("re-running the job took until the vote was due".to_owned())
    })??;
    let verdict = executor
        .judge(&name, &ContentHash(data.input_hash.0), &provider, &own)
        .await?;
    let voted = match &verdict {
        Verdict::Agree => &provider,
        Verdict::Disagree(reason) => {
            tracing::info!("case {id}: the provider's result is wrong: {reason}");
            &own
        }
    };
    let digest = output_digest(&seed.0, voted, &executor.store)?;
    Ok(Vote {
        result: B256::from(voted.hash().0),
        digest: B256::from(digest.0),
    })
}

/// The pins that keep a case round's job data while its vote is worked out.
fn case_pins(case: U256, round: u8) -> [String; 2] {
    [
        format!("case-{case}-round-{round}-module"),
        format!("case-{case}-round-{round}-input"),
    ]
}
