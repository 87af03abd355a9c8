//! `pond wallet`: keys for every role. Keystores live in one directory
//! (`--keystore-dir`, `$POND_KEYSTORE_DIR`, else `~/.pond/keystores`);
//! passwords come from `--password-file`, `$POND_PASSWORD`, or a prompt.
//! Keys and passwords are never printed.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eyre::{bail, eyre, WrapErr};
use pond_client::keys::{KeySource, KeystoreDir};

/// `pond wallet …`.
#[derive(Args, Debug)]
pub(crate) struct Wallet {
    /// The keystore directory.
    #[arg(long, env = "POND_KEYSTORE_DIR", global = true)]
    keystore_dir: Option<PathBuf>,
    /// A file whose first line is the keystore password (else
    /// $POND_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
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
    },
    /// Encrypt an existing key (private key or mnemonic) into a keystore.
    Import {
        /// The keystore's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        key: PlainKey,
    },
    /// List the keystores and their addresses.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the address of a key.
    Address {
        /// A keystore's name.
        #[arg(long, conflicts_with_all = ["private_key_env", "private_key_file", "mnemonic_file"])]
        name: Option<String>,
        #[command(flatten)]
        key: PlainKey,
    },
}

/// A key given in the clear (never on the command line itself).
#[derive(Args, Debug)]
struct PlainKey {
    /// The environment variable holding a hex private key.
    #[arg(long, conflicts_with_all = ["private_key_file", "mnemonic_file"])]
    private_key_env: Option<String>,
    /// A file holding a hex private key.
    #[arg(long, conflicts_with = "mnemonic_file")]
    private_key_file: Option<PathBuf>,
    /// A file holding a BIP-39 mnemonic.
    #[arg(long)]
    mnemonic_file: Option<PathBuf>,
    /// The mnemonic's account index (m/44'/60'/0'/0/INDEX).
    #[arg(long, default_value_t = 0, requires = "mnemonic_file")]
    index: u32,
}

impl PlainKey {
    fn source(&self) -> Option<KeySource> {
        if let Some(var) = &self.private_key_env {
            return Some(KeySource::Env(var.clone()));
        }
        if let Some(file) = &self.private_key_file {
            return Some(KeySource::File(file.clone()));
        }
        self.mnemonic_file.as_ref().map(|file| KeySource::Mnemonic {
            file: file.clone(),
            index: self.index,
        })
    }
}

impl Wallet {
    fn keystores(&self) -> KeystoreDir {
        KeystoreDir::new(
            self.keystore_dir
                .clone()
                .unwrap_or_else(KeystoreDir::default_dir),
        )
    }

    /// The password: from the file, the environment, or a prompt
    /// (`confirm` asks twice).
    fn password(&self, confirm: bool) -> eyre::Result<String> {
        if let Some(file) = &self.password_file {
            let text = std::fs::read_to_string(file)
                .wrap_err_with(|| format!("reading the password file {}", file.display()))?;
            return Ok(text.lines().next().unwrap_or_default().to_owned());
        }
        if let Ok(password) = std::env::var("POND_PASSWORD") {
            return Ok(password);
        }
        let no_terminal = || {
            eyre!("no password: pass --password-file FILE, set POND_PASSWORD, or run in a terminal")
        };
        let password =
            rpassword::prompt_password("keystore password: ").map_err(|_| no_terminal())?;
        if confirm {
            let again = rpassword::prompt_password("again: ").map_err(|_| no_terminal())?;
            if again != password {
                bail!("the two passwords differ");
            }
        }
        Ok(password)
    }

    /// Runs the command.
    pub(crate) fn run(self) -> eyre::Result<()> {
        let keystores = self.keystores();
        match &self.command {
            WalletCommand::New { name } => {
                let path = keystores.file(name)?;
                if path.exists() {
                    bail!(
                        "a keystore named {name:?} already exists in {}",
                        keystores.path().display()
                    );
                }
                let password = self.password(true)?;
                let signer = alloy_signer_local::PrivateKeySigner::random();
                let path = keystores.store(name, &signer, &password)?;
                println!("address   {}", signer.address());
                println!("keystore  {}", path.display());
            }
            WalletCommand::Import { name, key } => {
                let source = key.source().ok_or_else(|| {
                    eyre!("give the key with --private-key-env VAR, --private-key-file FILE or --mnemonic-file FILE")
                })?;
                let signer = source.load(None)?;
                let password = self.password(true)?;
                let path = keystores.store(name, &signer, &password)?;
                println!("address   {}", signer.address());
                println!("keystore  {}", path.display());
            }
            WalletCommand::List { json } => {
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
            WalletCommand::Address { name, key } => {
                let source = match (name, key.source()) {
                    (Some(name), _) => keystores.source(name)?,
                    (None, Some(source)) => source,
                    (None, None) => bail!(
                        "name a key: --name KEYSTORE, --private-key-env VAR, --private-key-file FILE or --mnemonic-file FILE"
                    ),
                };
                let password = if source.needs_password() {
                    Some(self.password(false)?)
                } else {
                    None
                };
                println!("{}", source.load(password.as_deref())?.address());
            }
        }
        Ok(())
    }
}
