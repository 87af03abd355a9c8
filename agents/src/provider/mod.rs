//! The provider agent (`pond provider run`): once started it keeps the
//! machine registered and its offers posted (one per price class), takes
//! open jobs its offers can serve and bids in auctions by its policy, runs every deal it gets
//! (fetch, execute, store), serves the outputs, commits, reveals, finalizes
//! after the judge window, and withdraws earnings above a threshold.
//!
//! Every pass reads the chain and does what is due for each deal, so the
//! chain is the source of truth and a step that was lost (a crash, a
//! dropped transaction, an RPC outage) is simply done again on a later
//! pass. The one thing the chain cannot give back — a deal's result and
//! commit salt — is written to the [`Journal`] before the commitment is
//! sent; so after a `kill -9` at any moment the agent reveals with the
//! salt it committed to, never commits twice, and resumes every deal.

pub mod config;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use alloy::primitives::{Address, B256, U256};
use pond_bindings::commitment::result_commitment;
use pond_client::{
    hardware::{detect, Hardware},
    matching::{mismatches, JobNeeds},
    units::parse_amount,
    Client, JobInfo, Offer, OfferTerms,
};
use pond_jobs::ContainerRuntime;
use pond_store::{ContentHash, LocalStore, Manifest, Resolver};
use rand::RngCore;

pub use crate::chain::AgentError;
use crate::{
    chain::{refused_is_skipped, run_passes, scan_window, send, serve, Passes, Tasks},
    execute::{ExecuteError, Executor},
    journal::{journal_file, provider_owner, DealEntry, Journal, Stage},
    metrics::{self, Metrics},
    upkeep::StoreUpkeep,
    wake::Wakeups,
};
pub use config::{ConfigError, ProviderConfig};

/// A run that failed this often for a reason of its own (not the host's
/// or the network's) is given up.
const MAX_RUN_FAILURES: u32 = 3;
/// The longest a job's module and inputs may take to fetch before it is
/// taken.
const FETCH_BEFORE_TAKING: Duration = Duration::from_secs(120);
/// The pause before a failed run is tried again.
const RETRY_PAUSE: Duration = Duration::from_secs(20);

/// The configuration's amounts in the token's smallest units.
#[derive(Debug, Clone)]
struct Amounts {
    /// Each offer's price, in the configuration's order.
    prices: Vec<U256>,
    withdraw_above: Option<U256>,
    bid_floor: Option<U256>,
    bid_step: U256,
}

/// A provider agent for one account.
#[derive(Debug)]
pub struct ProviderAgent {
    client: Client,
    config: ProviderConfig,
    amounts: Amounts,
    me: Address,
    hardware: Hardware,
    /// Each offer's hardware class, in the configuration's order.
    classes: Vec<Hardware>,
    journal: Journal,
    store: Arc<LocalStore>,
    executor: Executor,
    registered: bool,
    /// Deals being run.
    runs: Tasks<U256, Result<Manifest, ExecuteError>>,
    metrics: Metrics,
    /// Deals whose last run failed: not started again before this time.
    not_before: HashMap<U256, std::time::Instant>,
    /// Open jobs whose module cannot run here (not asked again).
    unrunnable: HashSet<U256>,
    /// Shutting down: no new jobs are taken.
    draining: bool,
    /// Deals seen by the last pass that this agent can still run, commit
    /// or reveal before their deadlines.
    movable: HashSet<U256>,
    upkeep: StoreUpkeep,
}

impl ProviderAgent {
    /// Prepares the agent: its data directory, journal and store, and the
    /// configuration's amounts in the token's units.
    ///
    /// # Errors
    /// No signing account, the chain cannot be read, the journal belongs
    /// to another deployment or account, or the data directory is unusable.
    pub async fn start(client: Client, config: ProviderConfig) -> Result<Self, AgentError> {
        let me = client.account()?;
        let io = |what: String| move |source| AgentError::Io { what, source };
        std::fs::create_dir_all(&config.data_dir)
            .map_err(io(format!("creating {}", config.data_dir.display())))?;
        let d = client.deployment();
        let journal = Journal::open(
            &journal_file(&config.data_dir),
            &provider_owner(d.chain_id, d.contracts.deals, me),
        )
        .await?;
        let store = Arc::new(LocalStore::open(config.data_dir.join("store"))?);
        let decimals = client.token_decimals().await?;
        let amount = |key, text: &str| {
            parse_amount(text, decimals).map_err(|source| AgentError::Amount { key, source })
        };
        let amounts = Amounts {
            prices: config
                .offers
                .iter()
                .map(|o| amount("offer.price", &o.price))
                .collect::<Result<_, _>>()?,
            withdraw_above: config
                .withdraw_above
                .as_deref()
                .map(|v| amount("withdraw-above", v))
                .transpose()?,
            bid_floor: config
                .bid_floor
                .as_deref()
                .map(|v| amount("work.bid-floor", v))
                .transpose()?,
            bid_step: amount("work.bid-step", &config.bid_step)?,
        };
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
        let hardware = config.hardware.over(detect(&config.data_dir));
        let classes = config
            .offers
            .iter()
            .enumerate()
            .map(|(i, policy)| {
                let offered = policy.hardware.over(hardware);
                if covers(hardware, offered) {
                    Ok(offered)
                } else {
                    Err(AgentError::OfferExceedsMachine {
                        number: i + 1,
                        offered,
                        machine: hardware,
                    })
                }
            })
            .collect::<Result<_, _>>()?;
        let host = config
            .public_url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split([':', '/']).next())
            .unwrap_or_default();
        if matches!(host, "localhost" | "0.0.0.0" | "[::1]") || host.starts_with("127.") {
            tracing::warn!(
                "public-url {} is this machine only: creators and validators elsewhere cannot fetch your outputs (and a challenge would reject them); set public-url in the configuration",
                config.public_url
            );
        }
        let upkeep = StoreUpkeep::new(Arc::clone(&store), config.store_grace);
        Ok(Self {
            upkeep,
            client,
            config,
            amounts,
            me,
            hardware,
            classes,
            journal,
            store,
            executor,
            registered: false,
            runs: Tasks::new(),
            metrics: Metrics::new(&PROVIDER_METRICS),
            not_before: HashMap::new(),
            unrunnable: HashSet::new(),
            draining: false,
            movable: HashSet::new(),
        })
    }

    /// The agent's metrics (also served at `/metrics`).
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves the outputs (the local store, read-only) on the configured
    /// address; the address bound.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn serve_outputs(&self) -> Result<std::net::SocketAddr, AgentError> {
        let router = pond_store::http::router(
            Arc::clone(&self.store),
            pond_store::http::ServeConfig::default(),
        )
        .merge(self.metrics.router());
        serve(&self.config.serve, router, "outputs").await
    }

    /// Runs passes until `stop` completes (see [`run_passes`]); runs in
    /// progress when it stops are started again by the next agent on this
    /// journal. With a GraphQL endpoint configured, a change to any job or
    /// to one of this provider's deals starts the next pass at once.
    ///
    /// # Errors
    /// Only a failure no later pass can mend (a configuration amount).
    pub async fn run(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), AgentError> {
        let wakeups = self.config.graphql.clone().map(|url| {
            Wakeups::follow(
                url,
                vec![
                    "subscription { jobChanges { id } }".to_owned(),
                    format!(
                        "subscription {{ dealChanges(account: \"{:#x}\") {{ id }} }}",
                        self.me
                    ),
                ],
            )
        });
        run_passes(&mut self, wakeups.as_ref(), stop).await
    }

    /// One pass: everything that is due now.
    ///
    /// # Errors
    /// The chain or the journal failed; refusals of single steps are
    /// logged, not returned.
    pub async fn pass(&mut self) -> Result<(), AgentError> {
        // First: a pass that fails later must not keep the disk from
        // being cleaned.
        self.upkeep.collect_if_due();
        let now = self.client.now().await?;
        if !self.registered {
            self.ensure_registered().await?;
            self.registered = true;
        }
        // Deals first: their deadlines are the ones money rides on.
        self.discover_deals().await?;
        self.progress_deals(now).await?;
        if !self.draining {
            let mut offers = self.ensure_offers(now).await?;
            self.find_work(now, &mut offers).await?;
        }
        self.withdraw().await?;
        if let Some(info) = self.client.provider(self.me).await? {
            self.metrics
                .set(metrics::PROVIDER_EARNED, metrics::amount(info.earned));
        }
        Ok(())
    }

    async fn ensure_registered(&self) -> Result<(), AgentError> {
        let metadata = self.config.metadata_uri.clone();
        match self.client.provider(self.me).await? {
            None => {
                let tx = send(
                    self.config.tx_timeout,
                    "registration".to_owned(),
                    self.client.register_provider(self.hardware, &metadata),
                )
                .await?;
                tracing::info!("registered {:?} ({tx})", self.hardware);
            }
            Some(info) if info.hardware != self.hardware => {
                let tx = send(
                    self.config.tx_timeout,
                    "hardware update".to_owned(),
                    self.client.update_provider(self.hardware, &metadata),
                )
                .await?;
                tracing::info!("declared {:?} ({tx})", self.hardware);
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// The terms offer `i`'s policy asks for, for an offer posted at `now`.
    fn wanted_terms(&self, i: usize, now: u64) -> OfferTerms {
        let policy = &self.config.offers[i];
        OfferTerms {
            hardware: self.classes[i],
            price: self.amounts.prices[i],
            min_duration: policy.min_duration,
            max_duration: policy.max_duration,
            max_concurrent: policy.max_concurrent,
            expiry: now.saturating_add(policy.lifetime),
        }
    }

    /// Keeps one offer per policy posted with its terms, replacing each
    /// before it expires and cancelling offers no policy asks for any
    /// more (a changed configuration); the live offer of each policy, in
    /// the configuration's order.
    ///
    /// An offer leaves the journal only once the chain shows it closed
    /// or expired, or once it is cancelled here; one posted is journaled
    /// at once. (A posting whose receipt timed out and that is mined later
    /// is not journaled: it expires by itself, and deals on it are found
    /// and served like any other.)
    async fn ensure_offers(&self, now: u64) -> Result<Vec<Option<Offer>>, AgentError> {
        // Open offers of this agent, and ids the node does not know yet
        // (a lagging node): kept in the journal, never forgotten.
        let (mut known, mut unseen) = (Vec::new(), Vec::new());
        for id in self.journal.offers().await? {
            match self.client.offer(id).await? {
                None => unseen.push(id),
                Some(o) if o.open && o.provider == self.me && now < o.terms.expiry => known.push(o),
                Some(_) => {}
            }
        }
        let mut live: Vec<Option<Offer>> = Vec::with_capacity(self.config.offers.len());
        let mut refused = false;
        for i in 0..self.config.offers.len() {
            let wanted = self.wanted_terms(i, now);
            let same_terms = |o: &Offer| {
                let t = o.terms;
                t.hardware == wanted.hardware
                    && t.price == wanted.price
                    && t.min_duration == wanted.min_duration
                    && t.max_duration == wanted.max_duration
                    && t.max_concurrent == wanted.max_concurrent
            };
            let renew_before = self.config.offers[i].renew_before;
            let claimed = |o: &Offer| live.iter().flatten().any(|l| l.id == o.id);
            if let Some(offer) = known.iter().find(|o| {
                same_terms(o) && !claimed(o) && now.saturating_add(renew_before) < o.terms.expiry
            }) {
                live.push(Some(*offer));
                continue;
            }
            let posted = send(
                self.config.tx_timeout,
                "an offer".to_owned(),
                self.client.post_offer(wanted),
            )
            .await;
            let id = match posted {
                Ok((id, tx)) => {
                    tracing::info!("offer {id} posted ({tx})");
                    id
                }
                Err(e) if !e.is_retryable() => {
                    // The old offer of this class serves while it lasts,
                    // and nothing is cancelled this pass.
                    tracing::warn!("posting offer {} of the configuration: {e}", i + 1);
                    refused = true;
                    let old = known
                        .iter()
                        .find(|o| same_terms(o) && !claimed(o))
                        .or_else(|| {
                            known
                                .iter()
                                .find(|o| o.terms.hardware == wanted.hardware && !claimed(o))
                        });
                    live.push(old.copied());
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut ids: Vec<U256> = known
                .iter()
                .map(|o| o.id)
                .chain(unseen.iter().copied())
                .collect();
            ids.extend(live.iter().flatten().map(|o| o.id));
            ids.push(id);
            self.journal.set_offers(&ids).await?;
            // A node that has not seen it yet: it is what was posted.
            let offer = self.client.offer(id).await?.unwrap_or(Offer {
                id,
                provider: self.me,
                open: true,
                terms: wanted,
                active_deals: 0,
            });
            live.push(Some(offer));
        }
        let mut kept: Vec<U256> = live.iter().flatten().map(|o| o.id).collect();
        kept.extend(&unseen);
        let unwanted: Vec<U256> = known
            .iter()
            .map(|o| o.id)
            .filter(|id| !kept.contains(id))
            .collect();
        for old in unwanted {
            if refused {
                kept.push(old);
                continue;
            }
            let cancelled = send(
                self.config.tx_timeout,
                format!("cancelling offer {}", old),
                self.client.cancel_offer(old),
            )
            .await
            .map(drop);
            // A failure leaves the journal as it is (every known offer in
            // it): a later pass cancels what is still open.
            refused_is_skipped(
                &self.metrics,
                &format!("cancelling offer {}", old),
                cancelled,
            )?;
        }
        if self.journal.offers().await? != kept {
            self.journal.set_offers(&kept).await?;
        }
        Ok(live)
    }

    /// Journals every new deal of this provider.
    async fn discover_deals(&self) -> Result<(), AgentError> {
        let cursor = self.journal.cursor("deal-cursor").await?;
        let mut next = cursor;
        for n in scan_window(cursor, self.client.deal_count().await?) {
            if let Some(deal) = self.client.deal(n).await? {
                if deal.provider == self.me && self.journal.add_deal(n, deal.job_id).await? {
                    tracing::info!("deal {n} (job {}) found", deal.job_id);
                }
            }
            next = n + U256::from(1);
        }
        self.journal.set_cursor("deal-cursor", cursor, next).await?;
        Ok(())
    }

    /// Whether this machine can run job `id`: its module and inputs are
    /// fetched (and verified) now, before any collateral is at stake; a
    /// job whose data cannot be fetched is never taken.
    async fn can_run(&mut self, id: U256) -> Result<bool, AgentError> {
        if self.unrunnable.contains(&id) {
            return Ok(false);
        }
        // A node that has not indexed the posting yet: asked again later.
        let Some(data) = self.client.job_data(id).await? else {
            return Ok(false);
        };
        let executor = &self.executor;
        let fetch = async {
            executor.module(&data).await?;
            executor
                .resolver
                .tree(&data.input_uri, &ContentHash(data.input_hash.0), "input")
                .await
                .map_err(|source| ExecuteError::Fetch {
                    what: "inputs",
                    source,
                })?;
            Ok::<(), ExecuteError>(())
        };
        let why = match tokio::time::timeout(FETCH_BEFORE_TAKING, fetch).await {
            Ok(Ok(())) => return Ok(true),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("its data took longer than {FETCH_BEFORE_TAKING:?} to fetch"),
        };
        tracing::info!("job {id} not taken: {why}");
        self.unrunnable.insert(id);
        Ok(false)
    }

    /// Takes open jobs the offers serve and bids in auctions, by policy.
    async fn find_work(
        &mut self,
        now: u64,
        offers: &mut [Option<Offer>],
    ) -> Result<(), AgentError> {
        if !self.config.take_open_jobs && self.amounts.bid_floor.is_none() {
            return Ok(());
        }
        let cursor = self.journal.cursor("job-cursor").await?;
        let count = self.client.job_count().await?;
        // Deals not yet delivered, against the deals this machine runs at
        // once: auction wins do not count against the offer's slots.
        let busy = self
            .journal
            .deals_in_flight()
            .await?
            .iter()
            .filter(|e| matches!(e.stage, Stage::New | Stage::Ran | Stage::Committed))
            .count();
        let mut capacity = (self.config.max_concurrent as usize).saturating_sub(busy);
        let (mut next_cursor, mut front_settled) = (cursor, true);
        for n in scan_window(cursor, count) {
            if let Some(job) = self.client.job(n).await? {
                if capacity > 0 && self.consider_job(n, &job, now, offers).await? {
                    capacity -= 1;
                }
                // An unmatched job past its deadline can only expire.
                front_settled &= matches!(job.state, "matched" | "cancelled" | "expired")
                    || now >= job.match_deadline;
            }
            if front_settled {
                next_cursor = n + U256::from(1);
            }
        }
        self.journal
            .set_cursor("job-cursor", cursor, next_cursor)
            .await?;
        Ok(())
    }

    /// Takes or bids on job `id` when the policy says so; whether it did.
    async fn consider_job(
        &mut self,
        id: U256,
        job: &JobInfo,
        now: u64,
        offers: &mut [Option<Offer>],
    ) -> Result<bool, AgentError> {
        match job.state {
            "open" if self.config.take_open_jobs && now < job.match_deadline => {
                let needs = JobNeeds {
                    hardware: job.min_hardware,
                    max_price: job.max_price,
                    max_duration: job.max_duration,
                };
                // The first offer in the configuration that serves it.
                let Some(offer) = offers
                    .iter_mut()
                    .flatten()
                    .find(|offer| mismatches(offer, &needs, now).is_empty())
                else {
                    return Ok(false);
                };
                if !self.can_run(id).await? {
                    return Ok(false);
                }
                let taken = send(
                    self.config.tx_timeout,
                    format!("taking job {id}"),
                    self.client.take_offer(id, offer.id),
                )
                .await
                .map(|(deal, tx)| {
                    self.metrics.add(metrics::JOBS_TAKEN, 1);
                    tracing::info!("job {id} taken: deal {deal} ({tx})");
                });
                let done = taken.is_ok();
                if done {
                    // A later job this pass sees the slot taken.
                    offer.active_deals = offer.active_deals.saturating_add(1);
                }
                refused_is_skipped(&self.metrics, &format!("taking job {id}"), taken.map(drop))?;
                Ok(done)
            }
            "bidding" if now < job.bidding_end && job.best_bidder != self.me => {
                let Some(floor) = self.amounts.bid_floor else {
                    return Ok(false);
                };
                let fits = self
                    .config
                    .offers
                    .iter()
                    .zip(&self.classes)
                    .any(|(policy, class)| {
                        covers(*class, job.min_hardware)
                            && (policy.min_duration..=policy.max_duration)
                                .contains(&job.max_duration)
                    });
                let price = if job.best_price.is_zero() {
                    Some(job.max_price)
                } else {
                    job.best_price.checked_sub(self.amounts.bid_step)
                };
                let Some(price) = price.filter(|p| *p >= floor && !p.is_zero()) else {
                    return Ok(false);
                };
                if !fits || !self.can_run(id).await? {
                    return Ok(false);
                }
                let bid = send(
                    self.config.tx_timeout,
                    format!("bidding on job {id}"),
                    self.client.bid(id, price),
                )
                .await
                .map(|tx| {
                    self.metrics.add(metrics::BIDS, 1);
                    tracing::info!("bid {price} on job {id} ({tx})");
                });
                let done = bid.is_ok();
                refused_is_skipped(&self.metrics, &format!("bidding on job {id}"), bid)?;
                Ok(done)
            }
            _ => Ok(false),
        }
    }

    /// Does for each deal in flight what is due now.
    async fn progress_deals(&mut self, now: u64) -> Result<(), AgentError> {
        for entry in self.journal.deals_in_flight().await? {
            if self.runs.contains(&entry.deal) {
                continue;
            }
            let what = format!("deal {}", entry.deal);
            let step = self.progress(&entry, now).await;
            refused_is_skipped(&self.metrics, &what, step)?;
        }
        Ok(())
    }

    async fn progress(&mut self, entry: &DealEntry, now: u64) -> Result<(), AgentError> {
        let id = entry.deal;
        self.movable.remove(&id);
        let Some(deal) = self.client.deal(id).await? else {
            return Ok(());
        };
        // What a stop waits for: only deals this agent can still move.
        let movable = match deal.state {
            "active" => now <= deal.execution_deadline,
            "committed" => now <= deal.reveal_deadline,
            _ => false,
        };
        if movable {
            self.movable.insert(id);
        }
        match deal.state {
            "active" => match (entry.result, entry.salt) {
                (Some(result), Some(salt)) if now <= deal.execution_deadline => {
                    let commitment = result_commitment(id, self.me, result, salt);
                    let tx = send(
                        self.config.tx_timeout,
                        format!("committing deal {id}"),
                        self.client.commit_result(id, commitment),
                    )
                    .await?;
                    self.journal.set_stage(id, Stage::Committed, None).await?;
                    self.metrics.add(metrics::COMMITTED, 1);
                    tracing::info!("deal {id}: committed to {result} ({tx})");
                }
                (None, _) if now < deal.execution_deadline => {
                    self.start_run(entry, deal.execution_deadline - now).await?;
                }
                _ => {}
            },
            "committed" => {
                let (Some(result), Some(salt), Some(uri)) =
                    (entry.result, entry.salt, entry.result_uri.clone())
                else {
                    self.journal
                        .set_stage(
                            id,
                            Stage::Failed,
                            Some("committed without a journaled salt"),
                        )
                        .await?;
                    tracing::warn!("deal {id} was committed outside this journal: cannot reveal");
                    return Ok(());
                };
                if now <= deal.reveal_deadline {
                    let tx = send(
                        self.config.tx_timeout,
                        format!("revealing deal {id}"),
                        self.client.reveal_result(id, result, &uri, salt),
                    )
                    .await?;
                    self.journal.set_stage(id, Stage::Revealed, None).await?;
                    self.metrics.add(metrics::REVEALED, 1);
                    tracing::info!("deal {id}: revealed at {uri} ({tx})");
                }
            }
            "revealed" | "challenged" => {
                if entry.stage != Stage::Revealed {
                    self.journal.set_stage(id, Stage::Revealed, None).await?;
                }
                if deal.state == "revealed" && now > deal.judge_deadline {
                    let tx = send(
                        self.config.tx_timeout,
                        format!("finalizing deal {id}"),
                        self.client.finalize_deal(id),
                    )
                    .await?;
                    self.metrics.add(metrics::FINALIZED, 1);
                    tracing::info!("deal {id}: finalized ({tx})");
                }
            }
            ended => {
                self.journal
                    .set_stage(id, Stage::Finished, Some(ended))
                    .await?;
                // Nobody can ask for the outputs any more.
                for pin in deal_pins(id) {
                    let _ = self.store.unpin(&pin);
                }
                tracing::info!("deal {id}: {ended}");
            }
        }
        Ok(())
    }

    /// Starts running deal `entry`'s job in the background, for at most
    /// `left` seconds (its execution deadline).
    async fn start_run(&mut self, entry: &DealEntry, left: u64) -> Result<(), AgentError> {
        if self.runs.len() >= self.config.max_concurrent as usize
            || self.runs.contains(&entry.deal)
            || self
                .not_before
                .get(&entry.deal)
                .is_some_and(|t| std::time::Instant::now() < *t)
        {
            return Ok(());
        }
        let Some(data) = self.client.job_data(entry.job).await? else {
            // A node that has not indexed the posting yet: next pass.
            tracing::warn!(
                "deal {}: job {}'s posting not found yet",
                entry.deal,
                entry.job
            );
            return Ok(());
        };
        // The job's data stays through garbage collection while the deal
        // lasts (a pin may name what is not fetched yet).
        let [_, module_pin, input_pin] = deal_pins(entry.deal);
        self.store
            .pin(&module_pin, &ContentHash(data.module_hash.0))?;
        self.store
            .pin(&input_pin, &ContentHash(data.input_hash.0))?;
        let (executor, metrics) = (self.executor.clone(), self.metrics.clone());
        let deal = entry.deal;
        tracing::info!("deal {deal}: running job {}", entry.job);
        self.runs.spawn(deal, async move {
            let name = pin_name(deal);
            let started = std::time::Instant::now();
            let run = executor.run(&name, &data);
            let result = match tokio::time::timeout(Duration::from_secs(left.max(1)), run).await {
                Ok(result) => result,
                Err(_) => Err(ExecuteError::Stopped(
                    "the run outlasted the deal's execution deadline".to_owned(),
                )),
            };
            let spent = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            metrics.add(metrics::RUN_MILLISECONDS, spent);
            result
        });
        Ok(())
    }

    /// Keeps a finished run: its outputs pinned, then its result and a new
    /// salt journaled (the commitment is sent by the next pass).
    async fn finish_run(
        &mut self,
        deal: U256,
        result: Result<Manifest, ExecuteError>,
    ) -> Result<(), AgentError> {
        match result {
            Ok(outputs) => {
                let hash = outputs.hash();
                self.store.pin(&pin_name(deal), &hash)?;
                let mut salt = B256::ZERO;
                rand::thread_rng().fill_bytes(salt.as_mut_slice());
                let uri = format!("{}/blobs/{hash}", self.config.public_url);
                self.journal
                    .record_result(deal, B256::from(hash.0), salt, &uri)
                    .await?;
                self.metrics.add(metrics::RUNS_OK, 1);
                tracing::info!("deal {deal}: ran, result {hash}");
            }
            Err(e) => {
                self.metrics.add(metrics::RUNS_FAILED, 1);
                let failures = self.journal.run_failed(deal, &e.to_string()).await?;
                // A host or network trouble is tried again until the
                // deadline (the chain ends the deal then); a job that
                // fails by itself, a few times.
                self.not_before
                    .insert(deal, std::time::Instant::now() + RETRY_PAUSE);
                if !e.is_transient() && failures >= MAX_RUN_FAILURES {
                    self.journal
                        .set_stage(deal, Stage::Failed, Some(&e.to_string()))
                        .await?;
                    tracing::warn!("deal {deal}: given up: {e}");
                } else {
                    tracing::warn!("deal {deal}: run failed ({failures}), retrying: {e}");
                }
            }
        }
        Ok(())
    }

    /// Withdraws the vault balance above the configured threshold.
    async fn withdraw(&self) -> Result<(), AgentError> {
        let Some(keep) = self.amounts.withdraw_above else {
            return Ok(());
        };
        let available = self.client.balances(self.me).await?.available;
        if available <= keep {
            return Ok(());
        }
        let amount = available - keep;
        let sent = send(
            self.config.tx_timeout,
            "a withdrawal".to_owned(),
            self.client.withdraw(amount),
        )
        .await
        .map(|tx| tracing::info!("withdrew {amount} ({tx})"));
        refused_is_skipped(&self.metrics, "withdrawing", sent)
    }
}

impl Passes for ProviderAgent {
    type Key = U256;
    type Work = Result<Manifest, ExecuteError>;
    const NAME: &'static str = "provider";

    fn poll_interval(&self) -> u64 {
        self.config.poll_interval
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn pass(&mut self) -> Result<(), AgentError> {
        ProviderAgent::pass(self).await
    }

    fn tasks(&mut self) -> &mut Tasks<U256, Self::Work> {
        &mut self.runs
    }

    async fn finished(&mut self, deal: U256, output: Result<Self::Work, String>) {
        let result = output.unwrap_or_else(|why| Err(ExecuteError::Stopped(why)));
        if let Err(e) = self.finish_run(deal, result).await {
            tracing::warn!("deal {deal}: keeping the run failed: {e}");
        }
    }

    fn shutdown_grace(&self) -> u64 {
        self.config.shutdown_grace
    }

    fn drain(&mut self) {
        self.draining = true;
    }

    /// Deals this agent can still run, commit or reveal in time (a deal
    /// past its deadline waits for a timeout claim, not for this agent).
    fn in_flight(&self) -> bool {
        !self.movable.is_empty()
    }
}

/// What a provider agent measures.
const PROVIDER_METRICS: [metrics::Metric; 12] = [
    metrics::PASSES,
    metrics::PASS_ERRORS,
    metrics::REFUSED,
    metrics::JOBS_TAKEN,
    metrics::BIDS,
    metrics::RUNS_OK,
    metrics::RUNS_FAILED,
    metrics::RUN_MILLISECONDS,
    metrics::COMMITTED,
    metrics::REVEALED,
    metrics::FINALIZED,
    metrics::PROVIDER_EARNED,
];

/// The pin that keeps a deal's outputs (and names its run directory).
fn pin_name(deal: U256) -> String {
    format!("deal-{deal}")
}

/// Every pin of a deal: its outputs, its module, its inputs.
fn deal_pins(deal: U256) -> [String; 3] {
    [
        pin_name(deal),
        format!("deal-{deal}-module"),
        format!("deal-{deal}-input"),
    ]
}

/// Whether `have` covers `need` in every field.
fn covers(have: Hardware, need: Hardware) -> bool {
    have.gpu_count >= need.gpu_count
        && have.gpu_memory_gb >= need.gpu_memory_gb
        && have.cpu_cores >= need.cpu_cores
        && have.ram_gb >= need.ram_gb
        && have.disk_gb >= need.disk_gb
}
