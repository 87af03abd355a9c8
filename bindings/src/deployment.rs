//! The `deployments/<network>.json` file: where Pond lives on a chain.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// A deployment file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeploymentFileError {
    /// Reading, creating or writing the file failed.
    #[error("deployment file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a deployment.
    #[error("deployment file {} is malformed: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the JSON parser found.
        #[source]
        source: serde_json::Error,
    },
}

/// The addresses of Pond's contracts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contracts {
    /// PondToken.
    pub token: Address,
    /// Vault.
    pub vault: Address,
    /// Registry.
    pub registry: Address,
    /// OfferBook.
    pub offers: Address,
    /// Market.
    pub market: Address,
    /// Deals.
    pub deals: Address,
    /// Mediation.
    pub mediation: Address,
    /// BlockHashBeacon.
    pub beacon: Address,
    /// JobRelay.
    pub relay: Address,
    /// Timelock (governs the parameterized contracts; absent from
    /// deployments made before it existed).
    #[serde(default)]
    pub timelock: Address,
}

impl Contracts {
    /// (name, address) of every contract, in deployment order; the names
    /// are the contracts' names in `contracts/abi/`.
    #[must_use]
    pub fn named(&self) -> [(&'static str, Address); 10] {
        [
            ("PondToken", self.token),
            ("Vault", self.vault),
            ("Registry", self.registry),
            ("OfferBook", self.offers),
            ("Market", self.market),
            ("Deals", self.deals),
            ("Mediation", self.mediation),
            ("BlockHashBeacon", self.beacon),
            ("JobRelay", self.relay),
            ("Timelock", self.timelock),
        ]
    }

    /// The name of the contract at `address`, if it is one of these.
    #[must_use]
    pub fn name_of(&self, address: Address) -> Option<&'static str> {
        self.named()
            .into_iter()
            .find(|(_, at)| *at == address && !at.is_zero())
            .map(|(name, _)| name)
    }
}

/// A `deployments/<network>.json` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Network name (the file's stem).
    pub network: String,
    /// Chain id.
    pub chain_id: u64,
    /// First block that holds a Pond contract (indexers start here).
    pub deployment_block: u64,
    /// The payment token (also in `contracts`; kept apart for clients).
    pub token: Address,
    /// The deploying account: the token's owner and the timelock's admin.
    pub owner: Address,
    /// Treasury.
    pub treasury: Address,
    /// Every contract.
    pub contracts: Contracts,
}

impl Deployment {
    /// Reads a deployment file.
    ///
    /// # Errors
    /// The file is missing or malformed.
    pub fn load(path: &Path) -> Result<Self, DeploymentFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| DeploymentFileError::Malformed {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes the deployment file (pretty JSON), creating its directory.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), DeploymentFileError> {
        let io = |source| DeploymentFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|source| {
            DeploymentFileError::Malformed {
                path: path.to_owned(),
                source,
            }
        })?;
        text.push('\n');
        std::fs::write(path, text).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in() -> Deployment {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deployments/devnode.json");
        Deployment::load(&path).expect("the checked-in devnode deployment loads")
    }

    #[test]
    fn the_checked_in_deployment_round_trips_through_a_file() {
        let deployment = checked_in();
        let dir = std::env::temp_dir().join(format!("pond-bindings-{}", std::process::id()));
        let path = dir.join("nested/devnode.json");
        deployment.save(&path).expect("saved");
        assert_eq!(Deployment::load(&path).expect("loaded"), deployment);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }

    #[test]
    fn contracts_are_named_by_address() {
        let contracts = checked_in().contracts;
        assert_eq!(contracts.name_of(contracts.vault), Some("Vault"));
        assert_eq!(contracts.name_of(contracts.timelock), Some("Timelock"));
        assert_eq!(contracts.name_of(Address::repeat_byte(0x42)), None);
        assert_eq!(Contracts::default().name_of(Address::ZERO), None);
    }

    #[test]
    fn missing_and_malformed_files_are_told_apart() {
        let missing = Deployment::load(Path::new("/nonexistent/pond.json"));
        assert!(matches!(missing, Err(DeploymentFileError::Io { .. })));
        let dir = std::env::temp_dir().join(format!("pond-bindings-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.json");
        std::fs::write(&path, "{\"network\": 1}").expect("written");
        let malformed = Deployment::load(&path);
        assert!(matches!(
            malformed,
            Err(DeploymentFileError::Malformed { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
