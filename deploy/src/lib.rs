//! `pond-deploy`: Pond's contracts on a chain.
//!
//! - [`embedded_modules`] is the ten contracts' WebAssembly, embedded
//!   (`pond-contract-code`: no cargo at run time);
//! - [`deploy`] deploys and activates each of them over JSON-RPC with
//!   devnode's Stylus deployer, then initializes and wires them, with the
//!   governance timelock as the governor of every parameterized contract.
//!   The contracts use `initialize` instead of constructors; the deployment
//!   init code records the deploying account in the new contract's storage
//!   (`POND_DEPLOYER_SLOT`) and `initialize` accepts only that account, so
//!   nobody can initialize a contract between its deployment and the
//!   deployer's `initialize`;
//! - the deployment file ([`Deployment`]) and the contracts' bindings are
//!   `pond-bindings`', which every client shares;
//! - `testkit` (feature) is the shared end-to-end fixture: devnode with
//!   Pond deployed and the common protocol steps.

#[cfg(feature = "testkit")]
pub mod testkit;

use std::collections::BTreeMap;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use pond_bindings::{Contracts, Deployment, TOKEN_UNIT};
use pond_contract_code::CONTRACTS;
use pond_devnode::deploy::{
    deploy_program_with, init_code_recording_deployer, DeployError, POND_DEPLOYER_SLOT,
};

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PondDeployError {
    /// No module was given for a contract.
    #[error("no WebAssembly for {0}")]
    MissingModule(&'static str),
    /// A program could not be deployed or activated.
    #[error("{package}: {source}")]
    Program {
        /// The contract's package.
        package: &'static str,
        /// Why.
        #[source]
        source: DeployError,
    },
    /// An initialization call failed.
    #[error("initializing {contract}: {reason}")]
    Initialize {
        /// The contract.
        contract: &'static str,
        /// Why.
        reason: String,
    },
    /// A contract's owner is not the expected one after initialization.
    #[error("{contract} is owned by {actual}, expected {expected}")]
    WrongOwner {
        /// The contract.
        contract: &'static str,
        /// Its owner.
        actual: Address,
        /// The expected owner.
        expected: Address,
    },
}

/// Protocol parameters set at initialization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Least stake a validator must lock.
    pub min_validator_stake: U256,
    /// Fee a challenger pays for mediation.
    pub mediation_fee: U256,
    /// Receives protocol fees and slashed amounts (the owner when `None`).
    pub treasury: Option<Address>,
    /// How long every parameter change waits in the timelock (seconds).
    pub governance_delay: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            min_validator_stake: U256::from(100 * TOKEN_UNIT),
            mediation_fee: U256::from(10 * TOKEN_UNIT),
            treasury: None,
            governance_delay: 2 * 24 * 60 * 60,
        }
    }
}

/// The embedded contract code (`pond-contract-code`), package → module.
#[must_use]
pub fn embedded_modules() -> BTreeMap<&'static str, Vec<u8>> {
    CONTRACTS
        .iter()
        .map(|contract| (contract.package, contract.wasm.to_vec()))
        .collect()
}

/// Deploys, activates and wires Pond from `owner` (who must be the
/// provider's signer). `modules` maps each contract's package to its
/// WebAssembly, usually [`embedded_modules`].
///
/// # Errors
/// Any deployment, activation or initialization step fails.
pub async fn deploy<P: Provider>(
    provider: &P,
    owner: Address,
    modules: &BTreeMap<&'static str, Vec<u8>>,
    params: &Params,
    network: &str,
) -> Result<Deployment, PondDeployError> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| PondDeployError::Initialize {
            contract: "chain",
            reason: e.to_string(),
        })?;
    let mut addresses = BTreeMap::new();
    let mut first_block = u64::MAX;
    for package in CONTRACTS.iter().map(|c| c.package) {
        let wasm = modules
            .get(package)
            .ok_or(PondDeployError::MissingModule(package))?;
        let program = deploy_program_with(provider, owner, wasm, |code| {
            init_code_recording_deployer(code, POND_DEPLOYER_SLOT)
        })
        .await
        .map_err(|source| PondDeployError::Program { package, source })?;
        first_block = first_block.min(program.block);
        addresses.insert(package, program.address);
    }
    let at = |package: &str| addresses.get(package).copied().unwrap_or_default();
    let contracts = Contracts {
        token: at("pond-token"),
        vault: at("pond-vault"),
        registry: at("pond-registry"),
        offers: at("pond-offers"),
        market: at("pond-market"),
        deals: at("pond-deals"),
        mediation: at("pond-mediation"),
        beacon: at("pond-beacon"),
        relay: at("pond-relay"),
        timelock: at("pond-timelock"),
    };
    let treasury = params.treasury.unwrap_or(owner);
    wire(provider, owner, &contracts, params, treasury).await?;
    check_owners(provider, owner, &contracts).await?;
    Ok(Deployment {
        network: network.to_owned(),
        chain_id,
        deployment_block: first_block,
        token: contracts.token,
        owner,
        treasury,
        contracts,
    })
}

async fn call<P: Provider>(
    provider: &P,
    owner: Address,
    contract: &'static str,
    to: Address,
    input: Vec<u8>,
) -> Result<(), PondDeployError> {
    let error = |reason: String| PondDeployError::Initialize { contract, reason };
    let tx = TransactionRequest::default()
        .with_from(owner)
        .with_to(to)
        .with_input(input);
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(|e| error(e.to_string()))?
        .get_receipt()
        .await
        .map_err(|e| error(e.to_string()))?;
    if !receipt.status() {
        return Err(error(format!(
            "transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(())
}

async fn wire<P: Provider>(
    provider: &P,
    owner: Address,
    c: &Contracts,
    params: &Params,
    treasury: Address,
) -> Result<(), PondDeployError> {
    use pond_bindings::*;
    let governor = c.timelock;
    let steps: Vec<(&'static str, Address, Vec<u8>)> = vec![
        (
            "Timelock",
            c.timelock,
            timelock::ITimelock::initializeCall {
                admin: owner,
                delay: params.governance_delay,
            }
            .abi_encode(),
        ),
        (
            "PondToken",
            c.token,
            token::IPondToken::initializeCall { owner }.abi_encode(),
        ),
        (
            "Vault",
            c.vault,
            vault::IVault::initializeCall {
                token: c.token,
                treasury,
                protocol_contracts: vec![c.registry, c.market, c.deals, c.mediation],
                governor,
            }
            .abi_encode(),
        ),
        (
            "Registry",
            c.registry,
            registry::IRegistry::initializeCall {
                vault: c.vault,
                deals: c.deals,
                mediation: c.mediation,
                min_validator_stake: params.min_validator_stake,
                governor,
            }
            .abi_encode(),
        ),
        (
            "OfferBook",
            c.offers,
            offers::IOfferBook::initializeCall {
                registry: c.registry,
                market: c.market,
                deals: c.deals,
            }
            .abi_encode(),
        ),
        (
            "Market",
            c.market,
            market::IMarket::initializeCall {
                vault: c.vault,
                registry: c.registry,
                offers: c.offers,
                deals: c.deals,
                relay: c.relay,
                governor,
            }
            .abi_encode(),
        ),
        (
            "Deals",
            c.deals,
            deals::IDeals::initializeCall {
                vault: c.vault,
                registry: c.registry,
                market: c.market,
                offers: c.offers,
                mediation: c.mediation,
                governor,
            }
            .abi_encode(),
        ),
        (
            "Mediation",
            c.mediation,
            mediation::IMediation::initializeCall {
                vault: c.vault,
                registry: c.registry,
                deals: c.deals,
                beacon: c.beacon,
                mediation_fee: params.mediation_fee,
                governor,
            }
            .abi_encode(),
        ),
        (
            "JobRelay",
            c.relay,
            relay::IJobRelay::initializeCall {
                market: c.market,
                vault: c.vault,
            }
            .abi_encode(),
        ),
    ];
    for (contract, to, input) in steps {
        call(provider, owner, contract, to, input).await?;
    }
    Ok(())
}

/// The contracts the timelock governs.
fn governed(c: &Contracts) -> [(&'static str, Address); 5] {
    [
        ("Vault", c.vault),
        ("Registry", c.registry),
        ("Market", c.market),
        ("Deals", c.deals),
        ("Mediation", c.mediation),
    ]
}

/// Checks that the deployment ended as planned: the token owned by the
/// deployer, every parameterized contract governed by the timelock, the
/// timelock administered by the deployer.
async fn check_owners<P: Provider>(
    provider: &P,
    expected: Address,
    c: &Contracts,
) -> Result<(), PondDeployError> {
    use pond_bindings::*;
    let read = |contract: &'static str| {
        move |e: alloy::contract::Error| PondDeployError::Initialize {
            contract,
            reason: e.to_string(),
        }
    };
    let mut owners = vec![(
        "PondToken",
        token::IPondToken::new(c.token, provider)
            .owner()
            .call()
            .await
            .map_err(read("PondToken"))?,
        expected,
    )];
    for (contract, address) in governed(c) {
        // Every governed contract has the same `governor()` view.
        let governor = vault::IVault::new(address, provider)
            .governor()
            .call()
            .await
            .map_err(read(contract))?;
        owners.push((contract, governor, c.timelock));
    }
    let admin = timelock::ITimelock::new(c.timelock, provider)
        .admin()
        .call()
        .await
        .map_err(read("Timelock"))?;
    owners.push(("Timelock", admin, expected));
    for (contract, actual, expected) in owners {
        if actual != expected {
            return Err(PondDeployError::WrongOwner {
                contract,
                actual,
                expected,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_deployer_slot_is_the_keccak_of_pond_deployer() {
        assert_eq!(
            pond_devnode::deploy::POND_DEPLOYER_SLOT,
            alloy::primitives::keccak256(b"pond.deployer").0
        );
    }
}
