//! `pond provider register | update | show`: a provider's machine on
//! chain. The hardware is detected (GPUs through `nvidia-smi`, CPU cores,
//! RAM, free disk under `--disk-path`); every flag overrides.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use eyre::eyre;
use pond_client::{
    hardware::{detect, Hardware, HardwareOverrides},
    units::format_amount,
};

use pond_agents::{
    journal::{journal_file, provider_owner, Journal, Stage},
    provider::{ProviderAgent, ProviderConfig},
};

use crate::account::Session;

/// `pond provider …`.
#[derive(Args, Debug)]
pub(crate) struct Provider {
    #[command(subcommand)]
    command: ProviderCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum ProviderCommand {
    /// Register this machine (detected hardware, flags override).
    Register(Declare),
    /// Replace the declared hardware and metadata URI.
    Update(Declare),
    /// A provider's declared hardware and record (yours, or --account's).
    Show {
        /// Any provider (default: the signing key's).
        #[arg(long)]
        account: Option<Address>,
    },
    /// Serve the market by yourself: keep an offer posted, take jobs, run
    /// them, commit, reveal and get paid, until Ctrl-C or SIGTERM (see
    /// docs/agents.md for provider.toml).
    Run {
        /// The agent's configuration.
        #[arg(long, default_value = "provider.toml")]
        config: PathBuf,
    },
    /// What the agent configured by --config has done: its deals by stage.
    Status {
        /// The agent's configuration.
        #[arg(long, default_value = "provider.toml")]
        config: PathBuf,
    },
}

/// The hardware and metadata a provider declares.
#[derive(Args, Debug)]
struct Declare {
    /// Metadata URI (contact, region, terms).
    #[arg(long, default_value = "")]
    metadata_uri: String,
    /// Where job data will live (its free space is the disk declared).
    #[arg(long, default_value = ".")]
    disk_path: PathBuf,
    /// Overrides of the detected hardware (GPUs through nvidia-smi, or
    /// $POND_NVIDIA_SMI).
    #[command(flatten)]
    hardware: HardwareArgs,
}

/// Hardware fields given on the command line; each overrides a default.
#[derive(Args, Debug)]
pub(crate) struct HardwareArgs {
    /// GPUs.
    #[arg(long)]
    gpus: Option<u32>,
    /// Memory of the smallest GPU, GB.
    #[arg(long)]
    gpu_memory_gb: Option<u32>,
    /// CPU cores.
    #[arg(long)]
    cpu_cores: Option<u32>,
    /// RAM, GB.
    #[arg(long)]
    ram_gb: Option<u32>,
    /// Disk, GB.
    #[arg(long)]
    disk_gb: Option<u32>,
}

impl HardwareArgs {
    /// `defaults`, with every field given here overriding it.
    pub(crate) fn over(&self, defaults: Hardware) -> Hardware {
        HardwareOverrides {
            gpus: self.gpus,
            gpu_memory_gb: self.gpu_memory_gb,
            cpu_cores: self.cpu_cores,
            ram_gb: self.ram_gb,
            disk_gb: self.disk_gb,
        }
        .over(defaults)
    }
}

impl Declare {
    fn hardware(&self) -> Hardware {
        self.hardware.over(detect(&self.disk_path))
    }
}

fn hardware_json(h: Hardware) -> serde_json::Value {
    serde_json::json!({
        "gpuCount": h.gpu_count,
        "gpuMemoryGb": h.gpu_memory_gb,
        "cpuCores": h.cpu_cores,
        "ramGb": h.ram_gb,
        "diskGb": h.disk_gb,
    })
}

fn hardware_line(h: Hardware) -> String {
    format!(
        "{} GPU × {} GB, {} cores, {} GB RAM, {} GB disk",
        h.gpu_count, h.gpu_memory_gb, h.cpu_cores, h.ram_gb, h.disk_gb
    )
}

impl Provider {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let (declare, register) = match &self.command {
            ProviderCommand::Run { config } => return run_agent(client, config).await,
            ProviderCommand::Status { config } => {
                return agent_status(client, config, self.session.json).await
            }
            ProviderCommand::Register(d) => (d, true),
            ProviderCommand::Update(d) => (d, false),
            ProviderCommand::Show { account } => {
                let account = Session::account_or(&client, *account, "a provider")?;
                let info = client
                    .provider(account)
                    .await?
                    .ok_or_else(|| eyre!("{account} is not a registered provider"))?;
                let decimals = client.token_decimals().await?;
                if self.session.json {
                    let value = serde_json::json!({
                        "provider": account,
                        "hardware": hardware_json(info.hardware),
                        "completed": info.completed,
                        "failed": info.failed,
                        "disputesWon": info.disputes_won,
                        "disputesLost": info.disputes_lost,
                        "earned": format_amount(info.earned, decimals),
                        "slashed": format_amount(info.slashed, decimals),
                    });
                    println!("{value}");
                } else {
                    println!("provider   {account}");
                    println!("hardware   {}", hardware_line(info.hardware));
                    println!(
                        "deals      {} completed, {} failed; disputes {} won, {} lost",
                        info.completed, info.failed, info.disputes_won, info.disputes_lost
                    );
                    println!(
                        "earned     {} (slashed {})",
                        format_amount(info.earned, decimals),
                        format_amount(info.slashed, decimals)
                    );
                }
                return Ok(());
            }
        };
        let hardware = declare.hardware();
        let tx = if register {
            client
                .register_provider(hardware, &declare.metadata_uri)
                .await?
        } else {
            client
                .update_provider(hardware, &declare.metadata_uri)
                .await?
        };
        if self.session.json {
            let value =
                serde_json::json!({ "transaction": tx, "hardware": hardware_json(hardware) });
            println!("{value}");
        } else {
            let verb = if register { "registered" } else { "updated" };
            println!("{verb} {} in transaction {tx}", hardware_line(hardware));
        }
        Ok(())
    }
}

/// `pond provider run`.
async fn run_agent(client: pond_client::Client, config: &std::path::Path) -> eyre::Result<()> {
    let config = ProviderConfig::load(config)?;
    let me = client.account()?;
    let agent = ProviderAgent::start(client, config).await?;
    let bound = agent.serve_outputs().await?;
    println!("provider    {me}");
    println!("outputs at  http://{bound}");
    println!("metrics at  http://{bound}/metrics");
    agent.run(until_stop_requested()).await?;
    Ok(())
}

/// `pond provider status`.
async fn agent_status(
    client: pond_client::Client,
    config: &std::path::Path,
    json: bool,
) -> eyre::Result<()> {
    let config = ProviderConfig::load(config)?;
    let path = journal_file(&config.data_dir);
    let d = client.deployment();
    let journal = Journal::open_existing(
        &path,
        &provider_owner(d.chain_id, d.contracts.deals, client.account()?),
    )
    .await?;
    let deals = journal.all_deals().await?;
    let offers: Vec<String> = journal
        .offers()
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    if json {
        let list: Vec<_> = deals
            .iter()
            .map(|e| {
                serde_json::json!({
                    "deal": e.deal.to_string(),
                    "job": e.job.to_string(),
                    "stage": e.stage.name(),
                    "result": e.result,
                    "resultUri": e.result_uri,
                    "failures": e.failures,
                    "note": e.note,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "offers": offers, "deals": list }));
        return Ok(());
    }
    println!(
        "offers  {}",
        if offers.is_empty() {
            "none yet".to_owned()
        } else {
            offers.join(", ")
        }
    );
    for stage in [
        Stage::New,
        Stage::Ran,
        Stage::Committed,
        Stage::Revealed,
        Stage::Finished,
        Stage::Failed,
    ] {
        let n = deals.iter().filter(|e| e.stage == stage).count();
        println!("{:<10}{n}", stage.name());
    }
    for e in deals.iter().filter(|e| !matches!(e.stage, Stage::Finished)) {
        println!(
            "deal {:>6}  job {:>6}  {:<10} {}",
            e.deal,
            e.job,
            e.stage.name(),
            e.note.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM: what stops an agent (which then
/// finishes its work in flight for up to its shutdown grace). A second
/// signal exits at once: the journal lets the next start resume.
pub(crate) async fn until_stop_requested() {
    match pond_devnode::signal::stop_requested().await {
        Ok(signal) => {
            tracing::info!("stopping ({signal}); a second Ctrl-C or SIGTERM stops at once");
            tokio::spawn(async {
                if let Ok(signal) = pond_devnode::signal::stop_requested().await {
                    tracing::warn!(
                        "stopped at once ({signal}); the next start resumes the work in flight"
                    );
                    // The shells' convention: 128 + the signal's number.
                    std::process::exit(if signal == "SIGTERM" { 143 } else { 130 });
                }
            });
        }
        Err(e) => {
            // Without a handler nothing can ask for a stop: run on.
            tracing::warn!("no signal handler ({e}): stop with kill -9");
            std::future::pending::<()>().await;
        }
    }
}
