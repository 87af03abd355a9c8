//! What `pond up` adds on the devnode it runs: tokens in every dev
//! account's wallet, and with `--demo` a market that moves by itself —
//! provider agents with varied hardware, a validator set, a provider that
//! cheats, and a creator posting the example jobs, accepting some results,
//! challenging some and leaving some to be finalized — so that a new user
//! sees jobs flow through every state in GraphQL and the CLI within
//! seconds.
//!
//! The demo shortens the deal and mediation windows to the protocol's
//! least (one minute) through the governance timelock, moving devnode's
//! clock past the timelock's delay once; a block is mined every second so
//! that chain time follows the wall clock while nothing else happens.

use std::{path::Path, sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    sol_types::SolCall,
};
use eyre::{bail, WrapErr};
use pond_agents::{
    provider::{ProviderAgent, ProviderConfig},
    validator::{ValidatorAgent, ValidatorConfig},
};
use pond_bindings::{
    deals::IDeals, mediation::IMediation, timelock::ITimelock, token::IPondToken, Deployment,
};
use pond_client::{hardware::Hardware, units::parse_amount, Client, JobRequest, OfferTerms};
use pond_devnode::node::{DevAccount, Node};
use pond_store::{ContentHash, LocalStore};
use tokio::{sync::watch, task::JoinSet};

/// Tokens minted into each dev account's wallet on a new devnode chain.
pub(crate) const DEV_WALLET_TOKENS: &str = "10000";
/// The demo's deal and mediation windows: the protocol's least, seconds.
const DEMO_WINDOW: u64 = 60;
/// Time between two jobs the demo's creator posts.
const POST_EVERY: Duration = Duration::from_secs(3);
/// The creator posts no new job while this many of its jobs wait for a
/// provider (the agents are busy): the backlog stays bounded.
const MAX_WAITING_JOBS: usize = 6;

/// Dev accounts (by index in devnode's list) and what each does. `0`
/// deployed everything and `1` is left for the user's own commands.
const VALIDATORS: [usize; 3] = [2, 3, 4];
const CHEAT: usize = 5;
/// Honest providers: account, GPUs, GPU memory (GB), price (tokens).
const PROVIDERS: [(usize, u32, u32, &str); 3] = [(6, 0, 0, "6"), (7, 1, 24, "9"), (8, 2, 80, "14")];
const CREATOR: usize = 9;

/// The example WASM jobs the creator posts: name, module, input files.
type Example = (
    &'static str,
    &'static [u8],
    &'static [(&'static str, &'static [u8])],
);
const EXAMPLES: [Example; 2] = [
    (
        "align",
        include_bytes!("../demo/align.wasm"),
        &[
            (
                "pond-job.json",
                include_bytes!("../../example-jobs/align/input/pond-job.json"),
            ),
            (
                "query.fasta",
                include_bytes!("../../example-jobs/align/input/query.fasta"),
            ),
            (
                "targets.fasta",
                include_bytes!("../../example-jobs/align/input/targets.fasta"),
            ),
        ],
    ),
    (
        "infer",
        include_bytes!("../demo/infer.wasm"),
        &[
            (
                "pond-job.json",
                include_bytes!("../../example-jobs/infer/input/pond-job.json"),
            ),
            (
                "model.txt",
                include_bytes!("../../example-jobs/infer/input/model.txt"),
            ),
            (
                "points.csv",
                include_bytes!("../../example-jobs/infer/input/points.csv"),
            ),
        ],
    ),
];

/// What the demo runs, in one line.
pub(crate) fn summary() -> String {
    format!(
        "{} provider agents, {} validator agents, a cheating provider, and a creator posting \
         a job every {} s; deal and mediation windows are {} s",
        PROVIDERS.len(),
        VALIDATORS.len(),
        POST_EVERY.as_secs(),
        DEMO_WINDOW
    )
}

/// A signing provider for `account` on `node`.
fn signing(node: &Node, account: &DevAccount) -> eyre::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(account.signer.clone()))
        .connect_http(node.http_url().parse()?)
        .erased())
}

/// Sends `call`, waits for its receipt and fails unless it succeeded.
async fn sent<P, D>(what: &str, call: alloy::contract::CallBuilder<P, D>) -> eyre::Result<()>
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    let receipt = call
        .send()
        .await
        .wrap_err_with(|| format!("sending {what}"))?
        .get_receipt()
        .await
        .wrap_err_with(|| format!("waiting for {what}"))?;
    if !receipt.status() {
        bail!("{what} reverted (transaction {})", receipt.transaction_hash);
    }
    Ok(())
}

/// Mints [`DEV_WALLET_TOKENS`] into every dev account's wallet (a new
/// chain's owner is dev account 0), so that a new user can deposit, post
/// and stake at once.
///
/// # Errors
/// The chain refuses or fails.
pub(crate) async fn fund_dev_wallets(node: &Node, deployment: &Deployment) -> eyre::Result<()> {
    let accounts = node.accounts();
    let Some(owner) = accounts.first() else {
        return Ok(());
    };
    let provider = signing(node, owner)?;
    let token = IPondToken::new(deployment.contracts.token, &provider);
    let decimals = token.decimals().call().await?;
    let amount = parse_amount(DEV_WALLET_TOKENS, decimals)?;
    for account in &accounts {
        sent("minting dev tokens", token.mint(account.address, amount)).await?;
    }
    Ok(())
}

/// The running demo: its agents and its creator, stopped together.
pub(crate) struct Demo {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// Completes once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Demo {
    /// Starts the demo on `node` (Pond deployed as `deployment`), keeping
    /// its agents' journals and stores under `dir`; the agents are woken
    /// by the GraphQL subscriptions at `graphql_ws`.
    ///
    /// # Errors
    /// The chain refuses a setup step, a port kept from an earlier run is
    /// taken, or `dir` is unusable.
    pub(crate) async fn start(
        node: &Node,
        deployment: &Deployment,
        dir: &Path,
        graphql_ws: &str,
    ) -> eyre::Result<Self> {
        let accounts = node.accounts();
        if accounts.len() <= CREATOR {
            bail!(
                "the demo needs {} dev accounts, devnode has {}",
                CREATOR + 1,
                accounts.len()
            );
        }
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let owner = signing(node, &accounts[0])?;
        shorten_windows(&owner, deployment).await?;
        let rpc = node.http_url();
        let connect = |index: usize| {
            let (rpc, deployment) = (rpc.clone(), deployment.clone());
            let signer = accounts[index].signer.clone();
            async move {
                Client::connect(&rpc, deployment, Some(signer))
                    .await
                    .wrap_err("connecting to devnode")
            }
        };
        let mut everyone: Vec<usize> = VALIDATORS.to_vec();
        everyone.extend(PROVIDERS.iter().map(|p| p.0));
        everyone.extend([CHEAT, CREATOR]);
        let funder =
            Funder::new(owner.clone(), deployment.clone(), &connect(CREATOR).await?).await?;
        for &index in &everyone {
            funder.top_up(&connect(index).await?).await?;
        }
        let ports = Ports::kept_in(dir)?;

        let (stop, stopping) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for (k, &index) in VALIDATORS.iter().enumerate() {
            let config = ValidatorConfig::parse(
                &format!(
                    "data-dir = \"validator-{k}\"\nstake = \"500\"\npoll-interval = \"1s\"\n\
                     shutdown-grace = \"5s\"\ngraphql = \"{graphql_ws}\"\n"
                ),
                dir,
            )?;
            let agent = ValidatorAgent::start(connect(index).await?, config).await?;
            let stop = stopped(stopping.clone());
            tasks.spawn(async move {
                if let Err(e) = agent.run(stop).await {
                    tracing::error!("demo validator {k} stopped: {e}");
                }
            });
        }
        for (k, &(index, gpus, gpu_memory, price)) in PROVIDERS.iter().enumerate() {
            let port = ports.providers[k];
            let config = ProviderConfig::parse(
                &format!(
                    "data-dir = \"provider-{k}\"\nserve = \"127.0.0.1:{port}\"\npoll-interval = \"1s\"\n\
                     shutdown-grace = \"10s\"\ngraphql = \"{graphql_ws}\"\n\
                     [hardware]\ngpus = {gpus}\ngpu-memory-gb = {gpu_memory}\n\
                     [offer]\nprice = \"{price}\"\nmax-duration = \"1h\"\nmax-concurrent = 2\n"
                ),
                dir,
            )?;
            let agent = ProviderAgent::start(connect(index).await?, config).await?;
            agent
                .serve_outputs()
                .await
                .wrap_err_with(|| ports.taken())?;
            let stop = stopped(stopping.clone());
            tasks.spawn(async move {
                if let Err(e) = agent.run(stop).await {
                    tracing::error!("demo provider {k} stopped: {e}");
                }
            });
        }

        let store = Arc::new(LocalStore::open(dir.join("store"))?);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", ports.store))
            .await
            .wrap_err_with(|| ports.taken())?;
        let base = format!("http://{}", listener.local_addr()?);
        let router =
            pond_store::http::router(Arc::clone(&store), pond_store::http::ServeConfig::default());
        let stop_serving = stopped(stopping.clone());
        tasks.spawn(async move {
            let listener = pond_listener::GuardedListener::new(listener, Default::default());
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop_serving)
                .await
            {
                tracing::error!("the demo's store server stopped: {e}");
            }
        });
        let creator = Creator::prepare(
            connect(CREATOR).await?,
            connect(CHEAT).await?,
            funder,
            &store,
            base,
            dir,
        )
        .await?;
        tasks.spawn(creator.run(stopped(stopping.clone())));
        tasks.spawn(mine_every_second(owner, stopped(stopping)));
        Ok(Self { stop, tasks })
    }

    /// Stops every agent and the creator, waiting (bounded) for them.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(15), all)
            .await
            .is_err()
        {
            tracing::warn!("the demo's agents did not stop within 15 s; left behind");
        }
    }
}

/// The loopback ports of the demo's servers: the creator's store and each
/// provider's outputs. URIs naming them go on chain, so a chain kept with
/// `--state` needs the same ports on the next run: they are chosen once
/// and kept in the demo's directory.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Ports {
    store: u16,
    providers: [u16; PROVIDERS.len()],
    #[serde(skip)]
    file: std::path::PathBuf,
}

impl Ports {
    fn kept_in(dir: &Path) -> eyre::Result<Self> {
        let file = dir.join("ports.json");
        match std::fs::read_to_string(&file).map(|text| serde_json::from_str::<Self>(&text)) {
            Ok(Ok(mut ports)) => {
                ports.file = file;
                return Ok(ports);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "{} cannot be read ({e}): new ports are chosen, so outputs of earlier demo deals are no longer served",
                file.display()
            ),
            Ok(Err(e)) => tracing::warn!(
                "{} is not a demo port list ({e}): new ports are chosen, so outputs of earlier demo deals are no longer served",
                file.display()
            ),
        }
        let free = || -> eyre::Result<u16> {
            Ok(std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port())
        };
        let ports = Self {
            store: free()?,
            providers: [free()?, free()?, free()?],
            file,
        };
        std::fs::write(&ports.file, serde_json::to_string(&ports)?)
            .wrap_err_with(|| format!("writing {}", ports.file.display()))?;
        Ok(ports)
    }

    /// What to do when one of them is taken.
    fn taken(&self) -> String {
        format!(
            "a demo port is taken (kept in {} for the chain's URIs); stop what uses it, \
             or start a new chain (another --state file, or delete that file and the state)",
            self.file.display()
        )
    }
}

/// Mints tokens for the demo's accounts (the token's owner signs).
struct Funder {
    owner: DynProvider,
    deployment: Deployment,
    /// What a top-up mints, in the token's units.
    amount: U256,
    /// A vault balance below this is topped up.
    enough: U256,
}

impl Funder {
    /// A funder signing with `owner`, amounts in `client`'s token.
    async fn new(
        owner: DynProvider,
        deployment: Deployment,
        client: &Client,
    ) -> eyre::Result<Self> {
        let decimals = client.token_decimals().await?;
        Ok(Self {
            owner,
            deployment,
            amount: parse_amount("100000", decimals)?,
            enough: parse_amount("10000", decimals)?,
        })
    }

    /// Mints and deposits tokens for the demo account `client` signs for
    /// when its vault runs low (checked at start, and by the creator as it
    /// posts, so the demo runs for as long as it is left on).
    async fn top_up(&self, client: &Client) -> eyre::Result<()> {
        let account = client.account()?;
        if client.balances(account).await?.available >= self.enough {
            return Ok(());
        }
        let token = IPondToken::new(self.deployment.contracts.token, &self.owner);
        sent("minting demo tokens", token.mint(account, self.amount)).await?;
        client.deposit(self.amount).await?;
        Ok(())
    }
}

/// Sets the deal and mediation windows to [`DEMO_WINDOW`] through the
/// timelock (unless they already are), moving the clock past its delay.
async fn shorten_windows(owner: &DynProvider, deployment: &Deployment) -> eyre::Result<()> {
    let c = &deployment.contracts;
    let deals = IDeals::new(c.deals, owner).parameters().call().await?;
    let mediation = IMediation::new(c.mediation, owner)
        .parameters()
        .call()
        .await?;
    if deals._2 == DEMO_WINDOW && mediation._3 == DEMO_WINDOW {
        return Ok(());
    }
    let changes = [
        (
            c.deals,
            IDeals::setParametersCall {
                protocol_fee_bps: deals._0,
                reveal_window: DEMO_WINDOW,
                judge_window: DEMO_WINDOW,
            }
            .abi_encode(),
        ),
        (
            c.mediation,
            IMediation::setParametersCall {
                mediation_fee: mediation._0,
                validators_per_case: mediation._1,
                commit_window: DEMO_WINDOW,
                reveal_window: DEMO_WINDOW,
                validator_reward_bps: mediation._4,
                slash_bps: mediation._5,
            }
            .abi_encode(),
        ),
    ];
    let timelock = ITimelock::new(c.timelock, owner);
    let salt = B256::from(rand::random::<[u8; 32]>());
    for (target, data) in &changes {
        sent(
            "scheduling the demo's windows",
            timelock.schedule(*target, data.clone().into(), salt),
        )
        .await?;
    }
    let delay = timelock.delay().call().await?;
    let _: serde_json::Value = owner
        .raw_request("evm_increaseTime".into(), (delay + 1,))
        .await?;
    let _: serde_json::Value = owner.raw_request("evm_mine".into(), ()).await?;
    for (target, data) in changes {
        sent(
            "setting the demo's windows",
            timelock.execute(target, data.into(), salt),
        )
        .await?;
    }
    Ok(())
}

/// Mines a block every second until `stop`: chain time follows the wall
/// clock, so windows end and committees' randomness arrives while the
/// market is quiet.
async fn mine_every_second(owner: DynProvider, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        let mined: Result<serde_json::Value, _> = owner.raw_request("evm_mine".into(), ()).await;
        if let Err(e) = mined {
            tracing::debug!("demo: mining a block: {e}");
        }
    }
}

/// What the creator does with a job's revealed result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Accept it (the provider is paid at once).
    Accept,
    /// Challenge it (validators re-run the job and vote).
    Challenge,
    /// Leave it: the provider's agent finalizes it after the judge window.
    Leave,
}

/// A job the creator posted and follows.
#[derive(Debug)]
struct Posted {
    job: U256,
    deal: Option<U256>,
    plan: Plan,
    /// Posted on the cheat's offer: the cheat delivers made-up outputs.
    cheat: bool,
}

/// The demo's job creator, and the cheat whose offer some of its jobs name.
struct Creator {
    client: Client,
    cheat: Client,
    funder: Funder,
    cheat_offer: U256,
    /// Each example's module and input trees.
    examples: Vec<(&'static str, ContentHash, ContentHash)>,
    /// Outputs no example computes: what the cheat reveals.
    wrong: ContentHash,
    base: String,
    posted: Vec<Posted>,
    count: u64,
    /// Every job's max price, in the token's units.
    max_price: U256,
}

impl Creator {
    /// Stores the examples and the cheat's wrong outputs, registers the
    /// cheat and posts its offer.
    async fn prepare(
        client: Client,
        cheat: Client,
        funder: Funder,
        store: &LocalStore,
        base: String,
        dir: &Path,
    ) -> eyre::Result<Self> {
        let limits = pond_store::Limits::default();
        let mut examples = Vec::new();
        for (name, wasm, files) in EXAMPLES {
            let module = pond_jobs::module::put_wasm_module(store, wasm)?;
            let input_dir = dir.join("inputs").join(name);
            std::fs::create_dir_all(&input_dir)?;
            for (file, bytes) in files {
                std::fs::write(input_dir.join(file), bytes)?;
            }
            let input = store.put_dir(&input_dir, &limits)?;
            examples.push((name, module, input.hash()));
        }
        let wrong_dir = dir.join("wrong-outputs");
        std::fs::create_dir_all(&wrong_dir)?;
        std::fs::write(wrong_dir.join("scores.tsv"), "made up\t0\n")?;
        let wrong = store.put_dir(&wrong_dir, &limits)?.hash();

        let hardware = Hardware {
            gpu_count: 1,
            gpu_memory_gb: 24,
            ..Hardware::default()
        };
        let me = cheat.account()?;
        if cheat.provider(me).await?.is_none() {
            cheat.register_provider(hardware, "").await?;
        }
        let now = cheat.now().await?;
        // The offer of an earlier run on this chain, while it lasts.
        let kept = dir.join("cheat-offer");
        let earlier = match std::fs::read_to_string(&kept)
            .ok()
            .and_then(|id| id.trim().parse::<U256>().ok())
        {
            Some(id) => cheat
                .offer(id)
                .await?
                .filter(|o| o.open && o.terms.expiry > now + 86_400)
                .map(|o| o.id),
            None => None,
        };
        let decimals = cheat.token_decimals().await?;
        let cheat_offer = match earlier {
            Some(id) => id,
            None => {
                let (id, _) = cheat
                    .post_offer(OfferTerms {
                        hardware,
                        price: parse_amount("5", decimals)?,
                        min_duration: 300,
                        max_duration: 3600,
                        max_concurrent: 4,
                        expiry: now + 30 * 86_400,
                    })
                    .await?;
                std::fs::write(&kept, id.to_string())?;
                id
            }
        };
        Ok(Self {
            client,
            cheat,
            funder,
            cheat_offer,
            examples,
            wrong,
            base,
            posted: Vec::new(),
            count: 0,
            max_price: parse_amount("20", decimals)?,
        })
    }

    /// Posts a job every [`POST_EVERY`] and acts on revealed results,
    /// until `stop`. A failed step is logged and tried again next time.
    async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(POST_EVERY);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.follow().await {
                tracing::warn!("demo creator: {e:#}");
            }
            if let Err(e) = self.post().await {
                tracing::warn!("demo creator: posting: {e:#}");
            }
        }
    }

    fn uri(&self, hash: &ContentHash) -> String {
        format!("{}/blobs/{hash}", self.base)
    }

    /// Posts the next job of the cycle: five jobs, one of each kind.
    async fn post(&mut self) -> eyre::Result<()> {
        let waiting = self.posted.iter().filter(|p| p.deal.is_none()).count();
        if waiting >= MAX_WAITING_JOBS {
            tracing::info!("demo creator: {waiting} jobs wait for a provider; posting paused");
            return Ok(());
        }
        self.funder.top_up(&self.client).await?;
        let now = self.client.now().await?;
        let kind = self.count % 5;
        self.count += 1;
        let (example, gpus, gpu_memory, offer, plan) = match kind {
            0 => (0, 0, 0, U256::ZERO, Plan::Accept),
            1 => (1, 1, 16, U256::ZERO, Plan::Leave),
            2 => (0, 0, 0, U256::ZERO, Plan::Challenge),
            3 => (1, 2, 40, U256::ZERO, Plan::Accept),
            _ => (0, 1, 0, self.cheat_offer, Plan::Challenge),
        };
        let (name, module, input) = self.examples[example];
        let posted = self
            .client
            .post_job(JobRequest {
                module_hash: B256::from(module.0),
                module_uri: self.uri(&module),
                input_hash: B256::from(input.0),
                input_uri: self.uri(&input),
                min_hardware: Hardware {
                    gpu_count: gpus,
                    gpu_memory_gb: gpu_memory,
                    ..Hardware::default()
                },
                max_duration: 600,
                max_price: self.max_price,
                match_deadline: now + 600,
                bidding_window: 0,
                offer_id: offer,
            })
            .await?;
        tracing::info!(
            "demo creator: posted job {} ({name}, {gpus} GPU ≥ {gpu_memory} GB{})",
            posted.job_id,
            if offer.is_zero() {
                ""
            } else {
                ", on the cheat's offer"
            }
        );
        // Followed before the cheat delivers: a delivery that fails now is
        // tried again as the job is followed.
        self.posted.push(Posted {
            job: posted.job_id,
            deal: posted.deal_id,
            plan,
            cheat: !offer.is_zero(),
        });
        Ok(())
    }

    /// The cheat commits to and reveals outputs it never computed.
    async fn cheat_delivers(&self, deal: U256) -> eyre::Result<()> {
        let result = B256::from(self.wrong.0);
        let salt = B256::from(rand::random::<[u8; 32]>());
        let me = self.cheat.account()?;
        self.cheat
            .commit_result(
                deal,
                pond_bindings::commitment::result_commitment(deal, me, result, salt),
            )
            .await?;
        self.cheat
            .reveal_result(deal, result, &self.uri(&self.wrong), salt)
            .await?;
        tracing::info!("demo cheat: revealed made-up outputs for deal {deal}");
        Ok(())
    }

    /// Moves every followed job on: notes its deal once matched, acts on
    /// a revealed result by plan, and forgets jobs that are done.
    async fn follow(&mut self) -> eyre::Result<()> {
        let now = self.client.now().await?;
        let mut kept = Vec::new();
        for mut posted in std::mem::take(&mut self.posted) {
            match self.step(&mut posted, now).await {
                Ok(true) => kept.push(posted),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("demo creator: job {}: {e:#}", posted.job);
                    kept.push(posted);
                }
            }
        }
        self.posted = kept;
        Ok(())
    }

    /// One job's next step; whether to keep following it. Jobs nobody
    /// took and deals whose provider missed a deadline are closed (the
    /// creator's money back), so nothing waits forever.
    async fn step(&self, posted: &mut Posted, now: u64) -> eyre::Result<bool> {
        let deal = match posted.deal {
            Some(deal) => deal,
            None => {
                let Some(job) = self.client.job(posted.job).await? else {
                    return Ok(false);
                };
                if job.deal_id.is_zero() {
                    let waiting = matches!(job.state, "open" | "bidding");
                    if waiting && now > job.match_deadline {
                        self.client.expire_job(posted.job).await?;
                        tracing::info!("demo creator: job {} expired unmatched", posted.job);
                        return Ok(false);
                    }
                    return Ok(waiting);
                }
                posted.deal = Some(job.deal_id);
                job.deal_id
            }
        };
        let Some(info) = self.client.deal(deal).await? else {
            return Ok(false);
        };
        let missed = match info.state {
            "active" => now > info.execution_deadline,
            "committed" => now > info.reveal_deadline,
            _ => false,
        };
        if missed {
            self.client.claim_timeout(deal).await?;
            tracing::info!("demo creator: deal {deal} timed out; price and collateral back");
            return Ok(false);
        }
        if posted.cheat && info.state == "active" {
            self.cheat_delivers(deal).await?;
            return Ok(true);
        }
        if info.state != "revealed" {
            return Ok(matches!(info.state, "active" | "committed"));
        }
        match posted.plan {
            Plan::Accept => {
                self.client.accept_result(deal).await?;
                tracing::info!("demo creator: accepted deal {deal}");
            }
            Plan::Challenge => {
                let (case, _) = self.client.challenge_result(deal).await?;
                tracing::info!("demo creator: challenged deal {deal} (case {case})");
            }
            Plan::Leave => {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::{Ports, EXAMPLES};

    /// Ports kept for the chain's URIs are reused; a file that is not a
    /// port list is replaced by one (with a warning), never kept broken.
    #[test]
    fn demo_ports_are_kept_and_a_broken_list_is_replaced() {
        let scratch = pond_jobs::testkit::scratch();
        let dir = scratch.path();
        let first = Ports::kept_in(dir).expect("chosen");
        let again = Ports::kept_in(dir).expect("kept");
        assert_eq!(
            (again.store, again.providers),
            (first.store, first.providers)
        );
        std::fs::write(dir.join("ports.json"), "{ not json").expect("broken");
        let replaced = Ports::kept_in(dir).expect("replaced");
        let reread = Ports::kept_in(dir).expect("kept");
        assert_eq!(
            (reread.store, reread.providers),
            (replaced.store, replaced.providers)
        );
    }
    use pond_jobs::{
        module::JobModule,
        run::run_job,
        testkit::{scratch, ALIGN_RESULT, INFER_RESULT},
    };

    /// The modules under `cli/demo/` are built from `example-jobs/`; they
    /// must still compute, on the inputs the demo posts, what the
    /// examples' sources compute.
    #[test]
    fn the_embedded_examples_compute_what_their_sources_compute() {
        for (name, wasm, files) in EXAMPLES {
            let expected = match name {
                "align" => ALIGN_RESULT,
                "infer" => INFER_RESULT,
                other => panic!("no pinned result for example {other}"),
            };
            let dir = scratch();
            let input = dir.path().join("input");
            std::fs::create_dir_all(&input).expect("input dir");
            for (file, bytes) in files {
                std::fs::write(input.join(file), bytes).expect("input file");
            }
            let report = run_job(
                &JobModule::Wasm(wasm.to_vec()),
                &input,
                &dir.path().join("outputs"),
                None,
            )
            .expect("the embedded module runs");
            assert_eq!(
                report.result_hash.to_string(),
                expected,
                "cli/demo/{name}.wasm is stale: cargo build --release --target wasm32-wasip1 \
                 -p pond-example-{name} and copy the module there"
            );
        }
    }
}
