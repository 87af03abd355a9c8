//! The checked-in interfaces under `contracts/abi/` must equal a fresh
//! export, and must be valid input for alloy's `sol!` (the off-chain
//! crates generate their bindings from them).

#![allow(missing_docs, unreachable_pub)]

mod bindings {
    #![allow(missing_docs, unreachable_pub, clippy::all)]
    pub mod token {
        alloy_sol_types::sol!("../abi/PondToken.sol");
    }
    pub mod vault {
        alloy_sol_types::sol!("../abi/Vault.sol");
    }
    pub mod registry {
        alloy_sol_types::sol!("../abi/Registry.sol");
    }
    pub mod offers {
        alloy_sol_types::sol!("../abi/OfferBook.sol");
    }
    pub mod market {
        alloy_sol_types::sol!("../abi/Market.sol");
    }
    pub mod deals {
        alloy_sol_types::sol!("../abi/Deals.sol");
    }
    pub mod mediation {
        alloy_sol_types::sol!("../abi/Mediation.sol");
    }
    pub mod beacon {
        alloy_sol_types::sol!("../abi/BlockHashBeacon.sol");
    }
    pub mod relay {
        alloy_sol_types::sol!("../abi/JobRelay.sol");
    }
}

use alloy_sol_types::{SolCall, SolEvent};

#[test]
fn checked_in_interfaces_are_fresh() {
    let stale = pond_abi_export::stale_files(&pond_abi_export::abi_dir());
    assert!(
        stale.is_empty(),
        "stale ABI files, run `cargo run -p pond-abi-export`: {stale:?}"
    );
}

#[test]
fn bindings_agree_with_the_contracts() {
    // Events: the binding's signature hash equals the contract's own event type.
    assert_eq!(
        bindings::market::IMarket::JobPosted::SIGNATURE_HASH,
        pond_market::JobPosted::SIGNATURE_HASH
    );
    assert_eq!(
        bindings::deals::IDeals::DealCompleted::SIGNATURE_HASH,
        pond_deals::DealCompleted::SIGNATURE_HASH
    );
    assert_eq!(
        bindings::vault::IVault::Deposited::SIGNATURE_HASH,
        pond_vault::Deposited::SIGNATURE_HASH
    );
    assert_eq!(
        bindings::mediation::IMediation::ValidatorsDrawn::SIGNATURE_HASH,
        pond_mediation::ValidatorsDrawn::SIGNATURE_HASH
    );
    // Selectors of struct-taking functions are Solidity's canonical ones.
    assert_eq!(
        bindings::market::IMarket::postJobCall::SIGNATURE,
        "postJob((bytes32,string,bytes32,string,(uint32,uint32,uint32,uint32,uint32),uint64,uint256,uint64,uint64,uint256))"
    );
    assert_eq!(
        bindings::relay::IJobRelay::postJobForCall::SIGNATURE,
        "postJobFor((bytes32,string,bytes32,string,(uint32,uint32,uint32,uint32,uint32),uint64,uint256,uint64,uint64,uint256),address,uint256,uint256,uint8,bytes32,bytes32,(uint256,uint256,uint8,bytes32,bytes32))"
    );
}
