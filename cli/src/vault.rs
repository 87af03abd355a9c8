//! `pond vault deposit | withdraw | balance`: tokens in and out of the
//! vault, in token units (`12.5`).

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use pond_client::units::{format_amount, parse_amount};

use crate::account::Session;

/// `pond vault …`.
#[derive(Args, Debug)]
pub(crate) struct Vault {
    #[command(subcommand)]
    command: VaultCommand,
    #[command(flatten)]
    session: Session,
}

#[derive(Subcommand, Debug)]
enum VaultCommand {
    /// Move tokens from your wallet into the vault (approving it first).
    Deposit {
        /// Amount in tokens, e.g. 12.5.
        amount: String,
    },
    /// Move available vault tokens back to your wallet.
    Withdraw {
        /// Amount in tokens, e.g. 12.5.
        amount: String,
    },
    /// Wallet, available and locked balances (yours, or --account's).
    Balance {
        /// Any account (default: the signing key's).
        #[arg(long)]
        account: Option<Address>,
    },
}

impl Vault {
    /// Runs the command.
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let client = self.session.connect().await?;
        let decimals = client.token_decimals().await?;
        let (tx, verb) = match &self.command {
            VaultCommand::Deposit { amount } => {
                let amount = parse_amount(amount, decimals)?;
                (client.deposit(amount).await?, "deposited")
            }
            VaultCommand::Withdraw { amount } => {
                let amount = parse_amount(amount, decimals)?;
                (client.withdraw(amount).await?, "withdrew")
            }
            VaultCommand::Balance { account } => {
                let account = Session::account_or(&client, *account, "an account")?;
                let b = client.balances(account).await?;
                let fmt = |v| format_amount(v, decimals);
                if self.session.json {
                    let value = serde_json::json!({
                        "account": account,
                        "wallet": fmt(b.wallet),
                        "available": fmt(b.available),
                        "locked": fmt(b.locked),
                    });
                    println!("{value}");
                } else {
                    println!("account    {account}");
                    println!("wallet     {}", fmt(b.wallet));
                    println!("available  {}", fmt(b.available));
                    println!("locked     {}", fmt(b.locked));
                }
                return Ok(());
            }
        };
        if !self.session.json {
            println!("{verb}");
        }
        self.session.print_sent(tx, &[]);
        Ok(())
    }
}
