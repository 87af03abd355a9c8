//! alloy bindings for Pond's contracts, generated from the Solidity
//! interfaces the ABI export writes to `contracts/abi/` (never hand-copied
//! signatures: a stale export fails the ABI freshness test). One module per
//! contract, because the shared structs appear in several interfaces. Each
//! also carries its JSON ABI (`abi::contract()`), which the revert
//! catalogue reads.

#![allow(missing_docs, clippy::too_many_arguments)]

/// `PondToken`.
pub mod token {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/PondToken.sol"
    );
}

/// `Vault`.
pub mod vault {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Vault.sol"
    );
}

/// `Registry`.
pub mod registry {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Registry.sol"
    );
}

/// `OfferBook`.
pub mod offers {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/OfferBook.sol"
    );
}

/// `Market`.
pub mod market {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Market.sol"
    );
}

/// `Deals`.
pub mod deals {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Deals.sol"
    );
}

/// `Mediation`.
pub mod mediation {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Mediation.sol"
    );
}

/// `BlockHashBeacon`.
pub mod beacon {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/BlockHashBeacon.sol"
    );
}

/// `JobRelay`.
pub mod relay {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/JobRelay.sol"
    );
}

/// `Timelock`.
pub mod timelock {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        #[sol(abi)]
        "../contracts/abi/Timelock.sol"
    );
}
