//! alloy bindings for Pond's contracts, generated from the Solidity
//! interfaces the ABI export writes to `contracts/abi/` (never hand-copied
//! signatures: a stale export fails the ABI freshness test). One module per
//! contract, because the shared structs appear in several interfaces.

#![allow(missing_docs, clippy::too_many_arguments)]

/// `PondToken`.
pub mod token {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/PondToken.sol"
    );
}

/// `Vault`.
pub mod vault {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Vault.sol"
    );
}

/// `Registry`.
pub mod registry {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Registry.sol"
    );
}

/// `OfferBook`.
pub mod offers {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/OfferBook.sol"
    );
}

/// `Market`.
pub mod market {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Market.sol"
    );
}

/// `Deals`.
pub mod deals {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Deals.sol"
    );
}

/// `Mediation`.
pub mod mediation {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Mediation.sol"
    );
}

/// `BlockHashBeacon`.
pub mod beacon {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/BlockHashBeacon.sol"
    );
}

/// `JobRelay`.
pub mod relay {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/JobRelay.sol"
    );
}

/// `Timelock`.
pub mod timelock {
    alloy::sol!(
        #[sol(rpc)]
        #[sol(all_derives)]
        "../contracts/abi/Timelock.sol"
    );
}
