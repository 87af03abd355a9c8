//! `pond wallet`: keys for every role. Keystores live in one directory
//! (`--keystore-dir`, `$POND_KEYSTORE_DIR`, else `~/.pond/keystores`);
//! passwords come from `--password-file`, `$POND_PASSWORD`, or a prompt.
//! Keys and passwords are never printed. Other commands sign with the
//! same arguments (`--keystore NAME`, …).

use clap::{Args, Subcommand};
use eyre::{bail, eyre};

use crate::account::{password, KeyArgs};

/// `pond wallet …`.
#[derive(Args, Debug)]
pub(crate) struct Wallet {
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Subcommand, Debug)]
enum WalletCommand {
    /// Create a new random key in an encrypted keystore.
    New {
        /// The keystore's name.
        #[arg(long, default_value = "default")]
        name: String,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Encrypt an existing key (private key or mnemonic) into a keystore.
    Import {
        /// The keystore's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// List the keystores and their addresses.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Print the address of a key (a keystore with --keystore).
    Address {
        #[command(flatten)]
        keys: KeyArgs,
    },
}

impl Wallet {
    /// Runs the command.
    pub(crate) fn run(self) -> eyre::Result<()> {
        match &self.command {
            WalletCommand::New { name, keys } => {
                let keystores = keys.keystores();
                let path = keystores.file(name)?;
                if path.exists() {
                    bail!(
                        "a keystore named {name:?} already exists in {}",
                        keystores.path().display()
                    );
                }
                let password = password(keys.password_file.as_deref(), true)?;
                let signer = alloy_signer_local::PrivateKeySigner::random();
                let path = keystores.store(name, &signer, &password)?;
                println!("address   {}", signer.address());
                println!("keystore  {}", path.display());
            }
            WalletCommand::Import { name, keys } => {
                let keystores = keys.keystores();
                let source = keys.plain_source().ok_or_else(|| {
                    eyre!("give the key with --private-key-env VAR, --private-key-file FILE or --mnemonic-file FILE")
                })?;
                let signer = source.load(None)?;
                let password = password(keys.password_file.as_deref(), true)?;
                let path = keystores.store(name, &signer, &password)?;
                println!("address   {}", signer.address());
                println!("keystore  {}", path.display());
            }
            WalletCommand::List { json, keys } => {
                let keystores = keys.keystores();
                let entries = keystores.list()?;
                if *json {
                    let rows: Vec<_> = entries
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "name": e.name,
                                "address": e.address,
                                "path": e.path,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else if entries.is_empty() {
                    println!(
                        "no keystores in {} (`pond wallet new` makes one)",
                        keystores.path().display()
                    );
                } else {
                    for e in entries {
                        let address = e
                            .address
                            .map_or_else(|| "(unknown)".to_owned(), |a| a.to_string());
                        println!("{:<20} {address}", e.name);
                    }
                }
            }
            WalletCommand::Address { keys } => {
                let signer = keys.signer()?.ok_or_else(|| {
                    eyre!("name a key: --keystore NAME, --private-key-env VAR, --private-key-file FILE or --mnemonic-file FILE")
                })?;
                println!("{}", signer.address());
            }
        }
        Ok(())
    }
}
