//! `pond market take | bid | close-auction | expire`: matching, by
//! providers (take, bid) and by anyone (close an auction, expire a job).

use alloy::primitives::U256;
use clap::{Args, Subcommand};
use pond_client::units::parse_amount;

use crate::account::Session;

/// `pond market …`.
#[derive(Args, Debug)]
pub(crate) struct Market {
    #[command(subcommand)]
    command: MarketCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum MarketCommand {
    /// Take an open job with one of your offers (a provider).
    Take {
        /// The job.
        job: U256,
        /// Your offer.
        #[arg(long)]
        offer: U256,
    },
    /// Bid in a job's reverse auction (a provider), in tokens.
    Bid {
        /// The job.
        job: U256,
        /// Your price, e.g. 42.5 (strictly below the best bid).
        #[arg(long)]
        price: String,
    },
    /// Close an auction after its window (anyone).
    CloseAuction {
        /// The job.
        job: U256,
    },
    /// Expire an unmatched job past its match deadline (anyone).
    Expire {
        /// The job.
        job: U256,
    },
}

impl Market {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let (tx, deal) = match &self.command {
            MarketCommand::Take { job, offer } => {
                let (deal, tx) = client.take_offer(*job, *offer).await?;
                (tx, Some(deal))
            }
            MarketCommand::Bid { job, price } => {
                let price = parse_amount(price, client.token_decimals().await?)?;
                (client.bid(*job, price).await?, None)
            }
            MarketCommand::CloseAuction { job } => {
                let (deal, tx) = client.close_auction(*job).await?;
                (tx, deal)
            }
            MarketCommand::Expire { job } => (client.expire_job(*job).await?, None),
        };
        self.session
            .print_sent(tx, &[("dealId", deal.map(|d| d.to_string()))]);
        Ok(())
    }
}
