//! `pond job post | status | cancel`: a job creator's side. A job names
//! its module and inputs by content hash and URI; it is matched directly
//! (`--offer ID`), taken by any provider (the default), or auctioned
//! (`--auction WINDOW`).

use alloy::primitives::{B256, U256};
use clap::{Args, Subcommand};
use pond_client::{
    hardware::Hardware,
    units::{format_amount, format_duration, parse_amount, parse_duration},
    JobRequest,
};

use crate::account::Session;

/// `pond job …`.
#[derive(Args, Debug)]
pub(crate) struct Job {
    #[command(subcommand)]
    command: JobCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum JobCommand {
    /// Post a job; its maximum price is locked from your vault balance.
    Post(Box<Post>),
    /// A job's state, price, deadlines and deal.
    Status {
        /// The job's id.
        id: U256,
    },
    /// Cancel an unmatched job of yours (its price comes back).
    Cancel {
        /// The job's id.
        id: U256,
    },
    /// Sign a job for a relayer to post (EIP-712; with --permit, also an
    /// EIP-2612 permit funding it from your wallet): you need no gas and
    /// no vault deposit. Writes the signed job to --out.
    Sign(Box<Sign>),
    /// Post a job someone else signed (`job sign`), paying the gas.
    Relay {
        /// The signed job file.
        file: std::path::PathBuf,
    },
    /// Jobs, newest first: yours (with a key) or --all, or --creator's.
    List {
        /// Only this creator's.
        #[arg(long, conflicts_with = "all")]
        creator: Option<alloy::primitives::Address>,
        /// Everyone's.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Follow a job and its deal, printing each change of state until it
    /// is finished (Ctrl-C stops).
    Watch {
        /// The job's id.
        id: U256,
        /// Time between looks, e.g. 2s.
        #[arg(long, default_value = "2s")]
        every: String,
    },
    /// Accept your job's revealed result (same as `deal accept`).
    Accept {
        /// The job's id.
        id: U256,
    },
    /// Challenge your job's revealed result (same as `deal challenge`).
    Challenge {
        /// The job's id.
        id: U256,
    },
    /// Hash an input directory as a tree: the input hash to post.
    Pack(crate::compute::Pack),
    /// Run a job on the market and get its verified outputs: publish,
    /// post, wait, download, check, accept or challenge (with --local: run
    /// it here exactly as a provider does and print its result hash).
    Run(Box<crate::compute::Run>),
    /// Re-run a job and compare with a provider's outputs (or run the
    /// job's comparator), as a validator does; prints the vote.
    Verify(Box<crate::compute::Verify>),
}

#[derive(Args, Debug)]
struct Sign {
    #[command(flatten)]
    post: Post,
    /// How long the signature is valid, e.g. 1h.
    #[arg(long, default_value = "1h")]
    valid_for: String,
    /// Fund the job from your wallet with an EIP-2612 permit for this many
    /// tokens (e.g. the max price), instead of from your vault balance.
    #[arg(long)]
    permit: Option<String>,
    /// Where to write the signed job (JSON).
    #[arg(long)]
    out: std::path::PathBuf,
}

#[derive(Args, Debug)]
struct Post {
    /// The module: a .wasm file (hashed and stored for you) or
    /// image:sha256:<id> (then give --module-uri). Instead of --module-hash.
    #[arg(
        long,
        conflicts_with = "module_hash",
        required_unless_present = "module_hash"
    )]
    module: Option<String>,
    /// Content hash of the module (0x + 64 hex), with --module-uri.
    #[arg(long, requires = "module_uri")]
    module_hash: Option<B256>,
    /// Where the module can be fetched (default with --module: its
    /// pond:// or --publish URI).
    #[arg(long)]
    module_uri: Option<String>,
    /// The input directory, pond-job.json at its root (packed, hashed and
    /// stored for you). Instead of --input-hash.
    #[arg(
        long,
        conflicts_with = "input_hash",
        required_unless_present = "input_hash"
    )]
    input: Option<std::path::PathBuf>,
    /// Content hash of the inputs (0x + 64 hex), with --input-uri.
    #[arg(long, requires = "input_uri")]
    input_hash: Option<B256>,
    /// Where the inputs can be fetched (default with --input: its pond://
    /// or --publish URI).
    #[arg(long)]
    input_uri: Option<String>,
    /// Upload the module and inputs given as files to this store server
    /// (http://HOST:PORT); their URIs then name it.
    #[arg(long)]
    publish: Option<String>,
    /// A file whose first line is the store server's write token
    /// ($POND_STORE_TOKEN also works).
    #[arg(long, requires = "publish")]
    publish_token_file: Option<std::path::PathBuf>,
    /// Most you pay, in tokens (e.g. 100 or 12.5).
    #[arg(long)]
    max_price: String,
    /// Match this offer at once (direct mode).
    #[arg(long, conflicts_with = "auction")]
    offer: Option<U256>,
    /// Run a reverse auction for this long, e.g. 10m (auction mode).
    #[arg(long)]
    auction: Option<String>,
    #[command(flatten)]
    needs: Needs,
}

/// What a job needs of a provider, and how long it may wait and run.
#[derive(Args, Debug)]
pub(crate) struct Needs {
    /// Longest the job may run, e.g. 1h.
    #[arg(long, default_value = "1h")]
    pub(crate) max_duration: String,
    /// How long it may wait for a match, e.g. 1d.
    #[arg(long, default_value = "1d")]
    pub(crate) match_within: String,
    /// GPUs needed.
    #[arg(long, default_value_t = 0)]
    pub(crate) gpus: u32,
    /// Memory per GPU needed, GB.
    #[arg(long, default_value_t = 0)]
    pub(crate) gpu_memory_gb: u32,
    /// CPU cores needed.
    #[arg(long, default_value_t = 1)]
    pub(crate) cpu_cores: u32,
    /// RAM needed, GB.
    #[arg(long, default_value_t = 0)]
    pub(crate) ram_gb: u32,
    /// Disk needed, GB.
    #[arg(long, default_value_t = 0)]
    pub(crate) disk_gb: u32,
}

impl Needs {
    /// The job request for `data`, paying at most `max_price`, matched at
    /// once with `offer` (or zero) or auctioned for `bidding_window`
    /// seconds (or zero).
    pub(crate) async fn request(
        &self,
        data: crate::compute::ResolvedJobData,
        max_price: U256,
        offer: U256,
        bidding_window: u64,
        client: &pond_client::Client,
    ) -> eyre::Result<JobRequest> {
        let max_duration = parse_duration(&self.max_duration)?;
        let match_within = parse_duration(&self.match_within)?;
        Ok(JobRequest {
            module_hash: data.module_hash,
            module_uri: data.module_uri,
            input_hash: data.input_hash,
            input_uri: data.input_uri,
            min_hardware: Hardware {
                gpu_count: self.gpus,
                gpu_memory_gb: self.gpu_memory_gb,
                cpu_cores: self.cpu_cores,
                ram_gb: self.ram_gb,
                disk_gb: self.disk_gb,
            },
            max_duration,
            max_price,
            match_deadline: client.now().await?.saturating_add(match_within),
            bidding_window,
            offer_id: offer,
        })
    }
}

impl Job {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        // Local work first: it needs no chain, no key.
        let json = self.session.json;
        let command = match self.command {
            JobCommand::Pack(pack) => return blocking(move || pack.run(json)).await,
            JobCommand::Run(run) if run.local => return blocking(move || run.run(json)).await,
            JobCommand::Verify(verify) => return blocking(move || verify.run(json)).await,
            on_chain => on_chain,
        };
        let client = self.session.connect().await?;
        let decimals = client.token_decimals().await?;
        match &command {
            JobCommand::Post(p) => {
                let (request, sent_data) = request_of(p, &client, decimals).await?;
                let posted = client.post_job(request).await?;
                self.session.print_sent(
                    posted.transaction,
                    &[
                        [
                            ("jobId", Some(posted.job_id.to_string())),
                            ("dealId", posted.deal_id.map(|d| d.to_string())),
                        ]
                        .as_slice(),
                        &sent_data,
                    ]
                    .concat(),
                );
            }
            JobCommand::Status { id } => {
                let job = client
                    .job(*id)
                    .await?
                    .ok_or_else(|| eyre::eyre!("there is no job {id}"))?;
                let deal = (!job.deal_id.is_zero()).then(|| job.deal_id.to_string());
                if self.session.json {
                    let value = serde_json::json!({
                        "id": id.to_string(),
                        "creator": job.creator,
                        "state": job.state,
                        "maxPrice": format_amount(job.max_price, decimals),
                        "maxDuration": job.max_duration,
                        "matchDeadline": job.match_deadline,
                        "biddingEnd": job.bidding_end,
                        "dealId": deal,
                        "bestPrice": format_amount(job.best_price, decimals),
                    });
                    println!("{value}");
                } else {
                    println!("job        {id} ({})", job.state);
                    println!("creator    {}", job.creator);
                    println!(
                        "pays       at most {} for at most {}",
                        format_amount(job.max_price, decimals),
                        format_duration(job.max_duration)
                    );
                    println!("match by   {} (unix)", job.match_deadline);
                    if job.bidding_end > 0 {
                        println!(
                            "auction    until {} (unix), best bid {}",
                            job.bidding_end,
                            format_amount(job.best_price, decimals)
                        );
                    }
                    if let Some(deal) = deal {
                        println!("deal       {deal}");
                    }
                }
            }
            JobCommand::Cancel { id } => {
                let tx = client.cancel_job(*id).await?;
                self.session.print_sent(tx, &[]);
            }
            JobCommand::Sign(sign) => {
                let (request, _) = request_of(&sign.post, &client, decimals).await?;
                let valid_for = parse_duration(&sign.valid_for)?;
                let permit = sign
                    .permit
                    .as_deref()
                    .map(|a| parse_amount(a, decimals))
                    .transpose()?;
                let signed = client.sign_job(request, valid_for, permit).await?;
                write_signed(&sign.out, &signed)?;
                if self.session.json {
                    println!(
                        "{}",
                        serde_json::json!({ "out": sign.out, "creator": signed.creator, "nonce": signed.nonce.to_string() })
                    );
                } else {
                    println!("{}", sign.out.display());
                    eprintln!(
                        "signed by {} (relay nonce {}); anyone can post it: pond job relay {}",
                        signed.creator,
                        signed.nonce,
                        sign.out.display()
                    );
                }
            }
            JobCommand::Relay { file } => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| eyre::eyre!("reading {}: {e}", file.display()))?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| eyre::eyre!("{} is not a signed job: {e}", file.display()))?;
                let signed = pond_client::SignedJob::from_json(&value)?;
                let posted = client.relay_job(&signed).await?;
                self.session.print_sent(
                    posted.transaction,
                    &[
                        ("jobId", Some(posted.job_id.to_string())),
                        ("dealId", posted.deal_id.map(|d| d.to_string())),
                        ("creator", Some(signed.creator.to_string())),
                    ],
                );
            }
            JobCommand::List {
                creator,
                all,
                limit,
            } => {
                let who = match (creator, all) {
                    (Some(c), _) => Some(*c),
                    (None, true) => None,
                    (None, false) => Some(client.account().map_err(|_| {
                        eyre::eyre!("whose jobs? pass a key for yours, --creator ADDRESS, or --all")
                    })?),
                };
                let rows = crate::reads::jobs(&client, &self.session, who, *limit).await?;
                if self.session.json {
                    let rows: Vec<_> = rows
                        .iter()
                        .map(|j| {
                            serde_json::json!({
                                "id": j.id.to_string(), "creator": j.creator, "state": j.state,
                                "maxPrice": format_amount(j.max_price, decimals),
                                "maxDuration": j.max_duration,
                                "dealId": j.deal_id.map(|d| d.to_string()),
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if rows.is_empty() {
                    println!("no jobs");
                } else {
                    println!(
                        "{:>6}  {:<10} {:>14}  {:>8}  deal",
                        "job", "state", "max price", "runs"
                    );
                    for j in &rows {
                        let deal = j.deal_id.map_or_else(|| "-".to_owned(), |d| d.to_string());
                        println!(
                            "{:>6}  {:<10} {:>14}  {:>8}  {deal}",
                            j.id,
                            j.state,
                            format_amount(j.max_price, decimals),
                            format_duration(j.max_duration)
                        );
                    }
                }
            }
            JobCommand::Watch { id, every } => {
                let every = std::time::Duration::from_secs(parse_duration(every)?.max(1));
                // One Ctrl-C listener for the whole watch.
                tokio::select! {
                    outcome = watch(&client, *id, every, self.session.json) => outcome?,
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            JobCommand::Accept { id } | JobCommand::Challenge { id } => {
                let job = client
                    .job(*id)
                    .await?
                    .ok_or_else(|| eyre::eyre!("there is no job {id}"))?;
                if job.deal_id.is_zero() {
                    eyre::bail!("job {id} has no deal yet ({})", job.state);
                }
                if matches!(command, JobCommand::Accept { .. }) {
                    let tx = client.accept_result(job.deal_id).await?;
                    self.session
                        .print_sent(tx, &[("dealId", Some(job.deal_id.to_string()))]);
                } else {
                    let (case, tx) = client.challenge_result(job.deal_id).await?;
                    self.session.print_sent(
                        tx,
                        &[
                            ("dealId", Some(job.deal_id.to_string())),
                            ("caseId", Some(case.to_string())),
                        ],
                    );
                }
            }
            // Returned above.
            JobCommand::Run(run) => crate::creator_run::run(run, &client, decimals, json).await?,
            JobCommand::Pack(_) | JobCommand::Verify(_) => {}
        }
        Ok(())
    }
}

/// Runs file and process work off the async runtime.
async fn blocking(work: impl FnOnce() -> eyre::Result<()> + Send + 'static) -> eyre::Result<()> {
    tokio::task::spawn_blocking(work).await?
}

/// States after which nothing more happens to a job or its deal.
const FINISHED: [&str; 5] = ["cancelled", "expired", "completed", "timed_out", "resolved"];

/// Prints each change of the job's (and its deal's and case's) state until
/// it is finished.
async fn watch(
    client: &pond_client::Client,
    id: U256,
    every: std::time::Duration,
    json: bool,
) -> eyre::Result<()> {
    let mut last = String::new();
    loop {
        let job = client
            .job(id)
            .await?
            .ok_or_else(|| eyre::eyre!("there is no job {id}"))?;
        let deal = if job.deal_id.is_zero() {
            None
        } else {
            client.deal(job.deal_id).await?
        };
        let case = match &deal {
            Some(d) if !d.case_id.is_zero() => client.case(d.case_id).await?,
            _ => None,
        };
        let now = format!(
            "job {} {}{}{}",
            id,
            job.state,
            deal.as_ref()
                .map(|d| format!(", deal {} {}", job.deal_id, d.state))
                .unwrap_or_default(),
            case.as_ref()
                .map(|c| format!(", case {} round {}", c.state, c.round))
                .unwrap_or_default()
        );
        if now != last {
            if json {
                let value = serde_json::json!({
                    "job": id.to_string(), "state": job.state,
                    "deal": deal.as_ref().map(|d| serde_json::json!({"id": job.deal_id.to_string(), "state": d.state})),
                    "case": case.as_ref().map(|c| serde_json::json!({"state": c.state, "round": c.round})),
                });
                println!("{value}");
            } else {
                println!("{now}");
            }
            last = now;
        }
        let finished = match (&deal, &case) {
            (_, Some(c)) => c.state == "resolved",
            (Some(d), None) => FINISHED.contains(&d.state),
            (None, None) => FINISHED.contains(&job.state),
        };
        if finished {
            return Ok(());
        }
        tokio::time::sleep(every).await;
    }
}

/// The job request `job post` (and `job sign`) describe, with the hashes
/// and URIs of module and inputs (hashed and stored for files).
async fn request_of(
    p: &Post,
    client: &pond_client::Client,
    decimals: u8,
) -> eyre::Result<(JobRequest, Vec<(&'static str, Option<String>)>)> {
    let max_price = parse_amount(&p.max_price, decimals)?;
    let bidding_window = p.auction.as_deref().map(parse_duration).transpose()?;
    let data = crate::compute::JobData {
        module: p.module.clone(),
        module_hash: p.module_hash,
        module_uri: p.module_uri.clone(),
        input: p.input.clone(),
        input_hash: p.input_hash,
        input_uri: p.input_uri.clone(),
        publish: p.publish.clone(),
        publish_token_file: p.publish_token_file.clone(),
    }
    .resolve()
    .await?;
    let sent_data = [
        ("moduleHash", Some(data.module_hash.to_string())),
        ("moduleUri", Some(data.module_uri.clone())),
        ("inputHash", Some(data.input_hash.to_string())),
        ("inputUri", Some(data.input_uri.clone())),
    ];
    let request = p
        .needs
        .request(
            data,
            max_price,
            p.offer.unwrap_or(U256::ZERO),
            bidding_window.unwrap_or(0),
            client,
        )
        .await?;
    Ok((request, sent_data.to_vec()))
}

/// Writes a signed job to `path`, never over an existing file (another
/// signed job, say), and all at once: a relayer watching for the file
/// never reads half of it.
pub(crate) fn write_signed(
    path: &std::path::Path,
    signed: &pond_client::SignedJob,
) -> eyre::Result<()> {
    let text = serde_json::to_string_pretty(&signed.to_json())? + "\n";
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let written = tempfile::Builder::new()
        .prefix(".signed-job-")
        .tempfile_in(dir)
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            // Readable by a relayer running as another user, like any
            // file written here (a temporary file starts owner-only).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))?;
            }
            file.as_file().sync_all()?;
            file.persist_noclobber(path).map(drop).map_err(|e| e.error)
        });
    written.map_err(|e| eyre::eyre!("writing {}: {e}", path.display()))
}
