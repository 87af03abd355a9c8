//! The block-hash beacon, against a stand-in for Arbitrum's ArbSys at 0x64.

use alloy_primitives::{keccak256, B256, U256};
use alloy_sol_types::SolValue;
use motsu::prelude::*;
use pond_beacon::{BeaconError, BlockHashBeacon};
use pond_common::interfaces::{Revert, ARB_SYS};
use stylus_sdk::{
    prelude::*,
    storage::{StorageB256, StorageMap, StorageU256},
};

/// Stand-in for ArbSys: a settable block number and block hashes.
#[storage]
pub struct FakeArbSys {
    number: StorageU256,
    hashes: StorageMap<U256, StorageB256>,
}

// SAFETY: used only as a motsu contract's top-level storage.
unsafe impl TopLevelStorage for FakeArbSys {}

#[public]
impl FakeArbSys {
    fn arb_block_number(&self) -> U256 {
        self.number.get()
    }

    fn arb_block_hash(&self, number: U256) -> B256 {
        self.hashes.get(number)
    }

    fn mine(&mut self, hash: B256) {
        let next = self.number.get() + U256::from(1);
        self.number.set(next);
        self.hashes.setter(next).set(hash);
    }
}

#[motsu::test]
fn rounds_are_later_blocks_and_expire_after_256() {
    let arb_sys: Contract<FakeArbSys> = Contract::new_at(ARB_SYS);
    let beacon: Contract<BlockHashBeacon> = Contract::new();
    let anyone = alloy_primitives::Address::repeat_byte(1);
    arb_sys.sender(anyone).mine(B256::repeat_byte(1));
    let round = beacon.sender(anyone).request_randomness().motsu_unwrap();
    assert_eq!(round, U256::from(2));
    let err = beacon.sender(anyone).randomness(round).motsu_unwrap_err();
    assert!(matches!(
        err,
        Revert::Own(BeaconError::RandomnessNotReady(_))
    ));
    arb_sys.sender(anyone).mine(B256::repeat_byte(2));
    let err = beacon.sender(anyone).randomness(round).motsu_unwrap_err();
    assert!(
        matches!(err, Revert::Own(BeaconError::RandomnessNotReady(_))),
        "not while the round's block is current"
    );
    arb_sys.sender(anyone).mine(B256::repeat_byte(3));
    let value = beacon.sender(anyone).randomness(round).motsu_unwrap();
    assert_eq!(value, keccak256((B256::repeat_byte(2), round).abi_encode()));
    for i in 0..255u32 {
        arb_sys.sender(anyone).mine(B256::from(U256::from(i)));
    }
    // 256 blocks later the hash is still readable; one more and it is gone.
    assert_eq!(
        beacon.sender(anyone).randomness(round).motsu_unwrap(),
        value
    );
    arb_sys.sender(anyone).mine(B256::ZERO);
    assert_eq!(
        beacon.sender(anyone).randomness(round).motsu_unwrap(),
        B256::ZERO
    );
}
