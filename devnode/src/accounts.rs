//! The funded development accounts.
//!
//! The first key is the Nitro dev node's well-known funded key, so tools
//! configured for Nitro's local chain work unchanged; the other nine are the
//! well-known keys of foundry's and hardhat's default test mnemonic. All of
//! them are public: never use them on a real network.

use alloy_primitives::{address, Address, U256};
use alloy_signer_local::PrivateKeySigner;

const KEYS: [&str; 10] = [
    "b6b15c8cb491557369f3c7d2c287b053eb229daa9c22138887752191c9520659",
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
];

/// The Nitro dev key's account, devnode's first: the chain owner and
/// network fee account (ArbOwnerPublic), as on Nitro's dev node.
pub const CHAIN_OWNER: Address = address!("3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E");

/// Wei each dev account starts with: 10 000 ETH.
pub const DEV_BALANCE: u128 = 10_000 * 10u128.pow(18);

/// The dev accounts' signers.
#[must_use]
pub fn dev_signers() -> Vec<PrivateKeySigner> {
    KEYS.iter()
        .filter_map(|key| key.parse::<PrivateKeySigner>().ok())
        .collect()
}

/// The dev accounts' private keys, hex without `0x`.
#[must_use]
pub fn dev_keys() -> Vec<String> {
    KEYS.iter().map(|key| (*key).to_owned()).collect()
}

/// The dev accounts with their starting balances.
#[must_use]
pub fn genesis_allocation() -> Vec<(Address, U256)> {
    dev_signers()
        .iter()
        .map(|signer| (signer.address(), U256::from(DEV_BALANCE)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_to_a_distinct_account() {
        let accounts: std::collections::HashSet<Address> = dev_signers()
            .iter()
            .map(PrivateKeySigner::address)
            .collect();
        assert_eq!(accounts.len(), KEYS.len());
        assert!(accounts.contains(&CHAIN_OWNER));
        assert_eq!(
            dev_signers().first().map(PrivateKeySigner::address),
            Some(CHAIN_OWNER),
            "the Nitro dev key comes first"
        );
    }
}
