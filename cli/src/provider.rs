//! `pond provider register | update | show`: a provider's machine on
//! chain. The hardware is detected (GPUs through `nvidia-smi`, CPU cores,
//! RAM, free disk under `--disk-path`); every flag overrides.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use eyre::eyre;
use pond_client::{
    hardware::{detect, Hardware},
    units::format_amount,
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
        Hardware {
            gpu_count: self.gpus.unwrap_or(defaults.gpu_count),
            gpu_memory_gb: self.gpu_memory_gb.unwrap_or(defaults.gpu_memory_gb),
            cpu_cores: self.cpu_cores.unwrap_or(defaults.cpu_cores),
            ram_gb: self.ram_gb.unwrap_or(defaults.ram_gb),
            disk_gb: self.disk_gb.unwrap_or(defaults.disk_gb),
        }
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
