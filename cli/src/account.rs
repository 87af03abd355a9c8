//! What every command that touches the chain shares: where the chain and
//! the deployment are, and which key signs.

use std::path::{Path, PathBuf};

use clap::Args;
use eyre::{bail, eyre, WrapErr};
use pond_bindings::Deployment;
use pond_client::{
    keys::{KeySource, KeystoreDir},
    Client,
};

/// The chain: `--rpc` and `--deployment` (also from the environment).
#[derive(Args, Debug)]
pub(crate) struct ChainArgs {
    /// The chain's HTTP JSON-RPC URL.
    #[arg(
        long,
        global = true,
        env = "POND_RPC",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8547"
    )]
    rpc: String,
    /// The deployment file.
    #[arg(
        long,
        global = true,
        env = "POND_DEPLOYMENT",
        hide_env_values = true,
        default_value = "deployments/devnode.json"
    )]
    deployment: PathBuf,
    /// Pond's GraphQL API (http://HOST:4000/graphql): lists are read there
    /// in a request per page instead of a chain call per item.
    #[arg(long, global = true, env = "POND_GRAPHQL", hide_env_values = true)]
    graphql: Option<String>,
}

/// The signing key (one of them), and where keystores and passwords are.
#[derive(Args, Debug)]
pub(crate) struct KeyArgs {
    /// A keystore's name (see `pond wallet list`).
    #[arg(long, global = true, env = "POND_KEYSTORE", hide_env_values = true, conflicts_with_all = ["private_key_env", "private_key_file", "mnemonic_file"])]
    keystore: Option<String>,
    /// The environment variable holding a hex private key.
    #[arg(long, global = true, conflicts_with_all = ["private_key_file", "mnemonic_file"])]
    pub(crate) private_key_env: Option<String>,
    /// A file holding a hex private key.
    #[arg(long, global = true, conflicts_with = "mnemonic_file")]
    pub(crate) private_key_file: Option<PathBuf>,
    /// A file holding a BIP-39 mnemonic.
    #[arg(long, global = true)]
    pub(crate) mnemonic_file: Option<PathBuf>,
    /// The mnemonic's account index (m/44'/60'/0'/0/INDEX).
    #[arg(long, global = true, default_value_t = 0, requires = "mnemonic_file")]
    pub(crate) index: u32,
    /// The keystore directory.
    #[arg(long, global = true, env = "POND_KEYSTORE_DIR", hide_env_values = true)]
    pub(crate) keystore_dir: Option<PathBuf>,
    /// A file whose first line is the keystore password (else
    /// $POND_PASSWORD, else a prompt).
    #[arg(long, global = true)]
    pub(crate) password_file: Option<PathBuf>,
}

impl KeyArgs {
    /// The keystore directory these arguments name.
    pub(crate) fn keystores(&self) -> KeystoreDir {
        KeystoreDir::new(
            self.keystore_dir
                .clone()
                .unwrap_or_else(KeystoreDir::default_dir),
        )
    }

    /// The key given in the clear, if any.
    pub(crate) fn plain_source(&self) -> Option<KeySource> {
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

    /// The key these arguments name, if any.
    pub(crate) fn source(&self) -> eyre::Result<Option<KeySource>> {
        match &self.keystore {
            Some(name) => Ok(Some(self.keystores().source(name)?)),
            None => Ok(self.plain_source()),
        }
    }

    /// The signer, opening a keystore with its password.
    pub(crate) fn signer(&self) -> eyre::Result<Option<alloy_signer_local::PrivateKeySigner>> {
        let Some(source) = self.source()? else {
            return Ok(None);
        };
        let password = if source.needs_password() {
            Some(password(self.password_file.as_deref(), false)?)
        } else {
            None
        };
        Ok(Some(source.load(password.as_deref())?))
    }
}

/// A keystore password: the first line of `file`, else `$POND_PASSWORD`,
/// else a prompt on the terminal (`confirm` asks twice).
pub(crate) fn password(file: Option<&Path>, confirm: bool) -> eyre::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .wrap_err_with(|| format!("reading the password file {}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    if let Ok(password) = std::env::var("POND_PASSWORD") {
        return Ok(password);
    }
    let no_terminal =
        || eyre!("no password: pass --password-file FILE, set POND_PASSWORD, or run in a terminal");
    let password = rpassword::prompt_password("keystore password: ").map_err(|_| no_terminal())?;
    if confirm {
        let again = rpassword::prompt_password("again: ").map_err(|_| no_terminal())?;
        if again != password {
            bail!("the two passwords differ");
        }
    }
    Ok(password)
}

impl ChainArgs {
    /// Connects as `keys`' account (read-only without one).
    pub(crate) async fn connect(&self, keys: &KeyArgs) -> eyre::Result<Client> {
        let deployment = Deployment::load(&self.deployment).wrap_err(
            "no deployment: pass --deployment FILE (or POND_DEPLOYMENT); `pond up` writes deployments/devnode.json",
        )?;
        let signer = keys.signer()?;
        Ok(Client::connect(&self.rpc, deployment, signer).await?)
    }
}

/// What every command on the chain shares: the chain, the key, and the
/// output format.
#[derive(Args, Debug)]
pub(crate) struct Session {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

impl Session {
    /// Connects as the key's account (read-only without one).
    pub(crate) async fn connect(&self) -> eyre::Result<Client> {
        self.chain.connect(&self.keys).await
    }

    /// The GraphQL API to read lists from, when one is configured.
    pub(crate) fn graphql(&self) -> eyre::Result<Option<pond_client::graphql::GraphqlReader>> {
        Ok(self
            .chain
            .graphql
            .as_deref()
            .map(pond_client::graphql::GraphqlReader::new)
            .transpose()?)
    }

    /// `given`, else the signing key's account; `what` names it in the
    /// error (`a provider`).
    pub(crate) fn account_or(
        client: &Client,
        given: Option<alloy::primitives::Address>,
        what: &str,
    ) -> eyre::Result<alloy::primitives::Address> {
        match given {
            Some(account) => Ok(account),
            None => client.account().map_err(|_| {
                eyre!("name {what}: --account ADDRESS, or a key (--keystore NAME, …)")
            }),
        }
    }

    /// Prints a sent transaction and what it created (`("dealId", id)`).
    pub(crate) fn print_sent(
        &self,
        tx: alloy::primitives::TxHash,
        created: &[(&str, Option<String>)],
    ) {
        if self.json {
            let mut value = serde_json::json!({ "transaction": tx });
            for (key, id) in created {
                value[*key] = id.clone().into();
            }
            println!("{value}");
        } else {
            println!("transaction {tx}");
            for (key, id) in created {
                if let Some(id) = id {
                    println!("{key:<11}{id}");
                }
            }
        }
    }
}
