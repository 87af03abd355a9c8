//! Pond's contracts as WebAssembly, embedded.
//!
//! The modules in `wasm/` are what `pond-contract-build` builds from the
//! contract sources in `contracts/` (the `contract` profile, `-Zbuild-std`
//! with immediate-abort panics). They are checked in rather than built by a
//! build script so that `pond` (and `cargo install --path cli`, and a
//! copied binary) needs neither the wasm target nor the `rust-src`
//! component nor the source tree; the build's test
//! `the_checked_in_code_is_what_the_sources_build_to` fails when they are
//! stale and says how to refresh them.

/// One contract and its WebAssembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contract {
    /// Contract name (as in `contracts/abi/<name>.sol`).
    pub name: &'static str,
    /// Its cargo package in `contracts/`.
    pub package: &'static str,
    /// The module (raw WebAssembly, before Stylus compression).
    pub wasm: &'static [u8],
}

impl Contract {
    /// File name of the module, in `wasm/` and in cargo's output.
    #[must_use]
    pub fn wasm_file(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }
}

macro_rules! contract {
    ($name:literal, $package:literal, $file:literal) => {
        Contract {
            name: $name,
            package: $package,
            wasm: include_bytes!(concat!("../wasm/", $file)),
        }
    };
}

/// Every contract, in deployment order.
pub const CONTRACTS: &[Contract] = &[
    contract!("PondToken", "pond-token", "pond_token.wasm"),
    contract!("Vault", "pond-vault", "pond_vault.wasm"),
    contract!("Registry", "pond-registry", "pond_registry.wasm"),
    contract!("OfferBook", "pond-offers", "pond_offers.wasm"),
    contract!("Market", "pond-market", "pond_market.wasm"),
    contract!("Deals", "pond-deals", "pond_deals.wasm"),
    contract!("Mediation", "pond-mediation", "pond_mediation.wasm"),
    contract!("BlockHashBeacon", "pond-beacon", "pond_beacon.wasm"),
    contract!("JobRelay", "pond-relay", "pond_relay.wasm"),
    contract!("Timelock", "pond-timelock", "pond_timelock.wasm"),
];

/// The contract built from `package`.
#[must_use]
pub fn by_package(package: &str) -> Option<&'static Contract> {
    CONTRACTS.iter().find(|c| c.package == package)
}

/// The contract called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static Contract> {
    CONTRACTS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_is_webassembly_named_after_its_package() {
        for contract in CONTRACTS {
            assert_eq!(&contract.wasm[..4], b"\0asm", "{}", contract.name);
            assert_eq!(by_package(contract.package), Some(contract));
            assert_eq!(by_name(contract.name), Some(contract));
        }
        assert_eq!(by_package("pond-nothing"), None);
    }
}
