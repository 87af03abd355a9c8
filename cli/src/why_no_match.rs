//! `pond why-no-match`: why a job has no match, offer by offer — which
//! hardware field falls short, the price, the duration, expiry, no free
//! slots — and the closest offers, for a posted job or for a job not yet
//! posted (described by the same flags as `job post`).

use alloy::primitives::U256;
use clap::Args;
use eyre::eyre;
use pond_client::{
    hardware::Hardware,
    matching::{mismatches, JobNeeds, Mismatch},
    units::{format_amount, format_duration, parse_amount, parse_duration},
};

use crate::account::Session;

/// Closest offers shown.
const CLOSEST: usize = 3;

/// `pond why-no-match …`.
#[derive(Args, Debug)]
pub(crate) struct WhyNoMatch {
    /// A posted job's id (or describe one with the flags below).
    job: Option<U256>,
    /// Most the job pays, in tokens (without a job id).
    #[arg(long, required_unless_present = "job", conflicts_with = "job")]
    max_price: Option<String>,
    /// Longest the job may run, e.g. 1h (without a job id).
    #[arg(long, required_unless_present = "job", conflicts_with = "job")]
    max_duration: Option<String>,
    /// GPUs needed.
    #[arg(long, default_value_t = 0, conflicts_with = "job")]
    gpus: u32,
    /// Memory per GPU needed, GB.
    #[arg(long, default_value_t = 0, conflicts_with = "job")]
    gpu_memory_gb: u32,
    /// CPU cores needed.
    #[arg(long, default_value_t = 1, conflicts_with = "job")]
    cpu_cores: u32,
    /// RAM needed, GB.
    #[arg(long, default_value_t = 0, conflicts_with = "job")]
    ram_gb: u32,
    /// Disk needed, GB.
    #[arg(long, default_value_t = 0, conflicts_with = "job")]
    disk_gb: u32,
    #[command(flatten)]
    session: Session,
}

fn reason(m: &Mismatch, decimals: u8) -> String {
    match m {
        Mismatch::Price { asks, pays } => format!(
            "price: asks {}, the job pays at most {}",
            format_amount(*asks, decimals),
            format_amount(*pays, decimals)
        ),
        Mismatch::TooShort { offer_max, job } => format!(
            "duration: runs jobs up to {}, the job may run {}",
            format_duration(*offer_max),
            format_duration(*job)
        ),
        Mismatch::TooLong { offer_min, job } => format!(
            "duration: runs only jobs of {} or more, the job's limit is {}",
            format_duration(*offer_min),
            format_duration(*job)
        ),
        other => other.to_string(),
    }
}

impl WhyNoMatch {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let decimals = client.token_decimals().await?;
        let now = client.now().await?;
        let mut notes = Vec::new();
        let needs = match self.job {
            Some(id) => {
                let job = client
                    .job(id)
                    .await?
                    .ok_or_else(|| eyre!("there is no job {id}"))?;
                match job.state {
                    "open" | "bidding" if now >= job.match_deadline => notes.push(format!(
                        "its match deadline passed at {} (unix): it can only be expired now (`pond market expire {id}`)",
                        job.match_deadline
                    )),
                    "open" => notes.push(
                        "open: any provider whose offer fits may take it (`pond market take`)".into(),
                    ),
                    "bidding" => notes.push(
                        "in auction: any registered provider whose hardware covers it may bid".into(),
                    ),
                    state => notes.push(format!("it is {state}: there is nothing left to match")),
                }
                JobNeeds {
                    hardware: job.min_hardware,
                    max_price: job.max_price,
                    max_duration: job.max_duration,
                }
            }
            None => JobNeeds {
                hardware: Hardware {
                    gpu_count: self.gpus,
                    gpu_memory_gb: self.gpu_memory_gb,
                    cpu_cores: self.cpu_cores,
                    ram_gb: self.ram_gb,
                    disk_gb: self.disk_gb,
                },
                max_price: parse_amount(self.max_price.as_deref().unwrap_or("0"), decimals)?,
                max_duration: parse_duration(self.max_duration.as_deref().unwrap_or("0"))?,
            },
        };
        let mut fitting = Vec::new();
        let mut others = Vec::new();
        for offer in crate::reads::offers(&client, &self.session, None, false).await? {
            let found = mismatches(&offer, &needs, now);
            // Cancelled and expired offers will never match: not "close".
            let dead = found
                .iter()
                .any(|m| matches!(m, Mismatch::Cancelled | Mismatch::Expired(_)));
            match (found.is_empty(), dead) {
                (true, _) => fitting.push(offer),
                (false, false) => others.push((offer, found)),
                (false, true) => {}
            }
        }
        // Closest: fewest reasons, then cheapest.
        others.sort_by(|(a, ra), (b, rb)| {
            ra.len()
                .cmp(&rb.len())
                .then(a.terms.price.cmp(&b.terms.price))
        });
        others.truncate(CLOSEST);
        if self.session.json {
            let value = serde_json::json!({
                "job": self.job.map(|id| id.to_string()),
                "notes": notes,
                "fitting": fitting.iter().map(|o| o.id.to_string()).collect::<Vec<_>>(),
                "closest": others.iter().map(|(o, found)| serde_json::json!({
                    "offerId": o.id.to_string(),
                    "provider": o.provider,
                    "price": format_amount(o.terms.price, decimals),
                    "reasons": found.iter().map(|m| reason(m, decimals)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            println!("{value}");
            return Ok(());
        }
        let h = needs.hardware;
        println!(
            "the job pays at most {} for up to {}, and needs {} GPU(s) of {} GB, {} core(s), {} GB RAM, {} GB disk",
            format_amount(needs.max_price, decimals),
            format_duration(needs.max_duration),
            h.gpu_count,
            h.gpu_memory_gb,
            h.cpu_cores,
            h.ram_gb,
            h.disk_gb
        );
        for note in &notes {
            println!("note: {note}");
        }
        if fitting.is_empty() {
            println!("no live offer fits it");
        } else {
            let ids: Vec<String> = fitting.iter().map(|o| o.id.to_string()).collect();
            println!(
                "offers that fit: {} (post with --offer ID for a direct match; the provider also needs collateral in the vault)",
                ids.join(", ")
            );
        }
        for (offer, found) in &others {
            println!(
                "offer {} by {} at {}:",
                offer.id,
                offer.provider,
                format_amount(offer.terms.price, decimals)
            );
            for m in found {
                println!("  - {}", reason(m, decimals));
            }
        }
        Ok(())
    }
}
