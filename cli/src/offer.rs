//! `pond offer post | cancel | list`: a provider's standing offers, in
//! token units and human durations.

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use eyre::eyre;
use pond_client::{
    units::{format_amount, format_duration, parse_amount, parse_duration},
    Offer, OfferTerms,
};

use crate::{account::Session, provider::HardwareArgs};

/// `pond offer …`.
#[derive(Args, Debug)]
pub(crate) struct OfferCmd {
    #[command(subcommand)]
    command: OfferCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum OfferCommand {
    /// Post a standing offer (hardware: what you registered, unless given).
    Post {
        /// Price per job in tokens, e.g. 80 or 12.5.
        #[arg(long)]
        price: String,
        /// Longest job taken, e.g. 2h.
        #[arg(long)]
        max_duration: String,
        /// Shortest job taken (at least the protocol's 5 minutes).
        #[arg(long, default_value = "5m")]
        min_duration: String,
        /// Deals at once.
        #[arg(long, default_value_t = 1)]
        max_concurrent: u32,
        /// How long the offer stands, e.g. 1d.
        #[arg(long, default_value = "1d")]
        expires_in: String,
        /// The hardware offered (default: what you registered).
        #[command(flatten)]
        hardware: HardwareArgs,
    },
    /// Cancel one of your offers (running deals continue).
    Cancel {
        /// The offer's id.
        id: U256,
    },
    /// Open offers (of one provider with --provider), newest first.
    List {
        /// Only this provider's.
        #[arg(long)]
        provider: Option<Address>,
        /// Cancelled and expired ones too.
        #[arg(long)]
        all: bool,
    },
}

fn offer_json(o: &Offer, decimals: u8) -> serde_json::Value {
    let h = o.terms.hardware;
    serde_json::json!({
        "id": o.id.to_string(),
        "provider": o.provider,
        "open": o.open,
        "price": format_amount(o.terms.price, decimals),
        "minDuration": o.terms.min_duration,
        "maxDuration": o.terms.max_duration,
        "maxConcurrent": o.terms.max_concurrent,
        "activeDeals": o.active_deals,
        "expiry": o.terms.expiry,
        "hardware": {
            "gpuCount": h.gpu_count, "gpuMemoryGb": h.gpu_memory_gb, "cpuCores": h.cpu_cores,
            "ramGb": h.ram_gb, "diskGb": h.disk_gb,
        },
    })
}

impl OfferCmd {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let decimals = client.token_decimals().await?;
        match &self.command {
            OfferCommand::Post {
                price,
                max_duration,
                min_duration,
                max_concurrent,
                expires_in,
                hardware,
            } => {
                let price = parse_amount(price, decimals)?;
                let max_duration = parse_duration(max_duration)?;
                let min_duration = parse_duration(min_duration)?;
                let expires_in = parse_duration(expires_in)?;
                let account = client.account()?;
                let registered = client
                    .provider(account)
                    .await?
                    .ok_or_else(|| eyre!("register first: `pond provider register`"))?
                    .hardware;
                let hardware = hardware.over(registered);
                let expiry = client.now().await?.saturating_add(expires_in);
                let (id, tx) = client
                    .post_offer(OfferTerms {
                        hardware,
                        price,
                        min_duration,
                        max_duration,
                        max_concurrent: *max_concurrent,
                        expiry,
                    })
                    .await?;
                self.session
                    .print_sent(tx, &[("offerId", Some(id.to_string()))]);
            }
            OfferCommand::Cancel { id } => {
                let tx = client.cancel_offer(*id).await?;
                self.session.print_sent(tx, &[]);
            }
            OfferCommand::List { provider, all } => {
                let now = client.now().await?;
                let candidates =
                    crate::reads::offers(&client, &self.session, *provider, *all).await?;
                let candidates_read = candidates.len();
                let shown: Vec<Offer> = candidates
                    .into_iter()
                    .filter(|o| *all || (o.open && o.terms.expiry > now))
                    .collect();
                if self.session.json {
                    let rows: Vec<_> = shown.iter().map(|o| offer_json(o, decimals)).collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if shown.is_empty() {
                    println!("no offers");
                } else {
                    println!(
                        "{:>6}  {:<42}  {:>12}  {:>11}  {:>5}  hardware",
                        "id", "provider", "price", "durations", "deals"
                    );
                    for o in &shown {
                        let h = o.terms.hardware;
                        println!(
                            "{:>6}  {:<42}  {:>12}  {:>11}  {:>2}/{:<2}  {}×{} GB GPU, {} cores, {} GB RAM",
                            o.id,
                            o.provider.to_string(),
                            format_amount(o.terms.price, decimals),
                            format!("{}–{}", format_duration(o.terms.min_duration), format_duration(o.terms.max_duration)),
                            o.active_deals,
                            o.terms.max_concurrent,
                            h.gpu_count,
                            h.gpu_memory_gb,
                            h.cpu_cores,
                            h.ram_gb
                        );
                    }
                }
                if candidates_read as u64 >= crate::reads::LIST_LIMIT {
                    eprintln!(
                        "(the newest {} offers; narrow with --provider)",
                        crate::reads::LIST_LIMIT
                    );
                }
            }
        }
        Ok(())
    }
}
