//! The block-hash beacon, against stand-ins for Arbitrum's ArbSys at 0x64
//! and its EIP-2935 history contract.

use alloy_primitives::{keccak256, B256, U256};
use alloy_sol_types::SolValue;
use motsu::prelude::*;
use pond_beacon::{BeaconError, BlockHashBeacon};
use pond_common::interfaces::{
    Revert, ARB_SYS, HISTORY_ARBOS_VERSION, HISTORY_SERVE_WINDOW, HISTORY_STORAGE,
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageB256, StorageBool, StorageMap, StorageU256},
    ArbResult,
};

/// Stand-in for ArbSys: a settable block number, block hashes and ArbOS
/// version (as ArbSys reports it: 55 + the version).
#[storage]
pub struct FakeArbSys {
    number: StorageU256,
    hashes: StorageMap<U256, StorageB256>,
    version: StorageU256,
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

    #[selector(name = "arbOSVersion")]
    fn arb_os_version(&self) -> U256 {
        self.version.get()
    }

    fn upgrade(&mut self, version: U256) {
        self.version.set(version);
    }

    fn jump(&mut self, number: U256) {
        self.number.set(number);
    }

    fn mine(&mut self, hash: B256) {
        let next = self.number.get() + U256::from(1);
        self.number.set(next);
        self.hashes.setter(next).set(hash);
    }
}

#[motsu::test]
fn without_the_history_contract_rounds_expire_after_256_blocks() {
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

/// Stand-in for Arbitrum's EIP-2935 history contract: answers a 32-byte
/// block number with the hash set for it, or reverts (as a contract that
/// ran out of gas would) once `broken` is set.
#[storage]
pub struct FakeHistory {
    hashes: StorageMap<U256, StorageB256>,
    broken: StorageBool,
}

// SAFETY: used only as a motsu contract's top-level storage.
unsafe impl TopLevelStorage for FakeHistory {}

#[public]
impl FakeHistory {
    #[fallback]
    fn answer(&mut self, calldata: &[u8]) -> ArbResult {
        if self.broken.get() || calldata.len() != 32 {
            return Err(Vec::new());
        }
        Ok(self.hashes.get(U256::from_be_slice(calldata)).to_vec())
    }

    fn remember(&mut self, number: U256, hash: B256) {
        self.hashes.setter(number).set(hash);
    }

    fn break_down(&mut self) {
        self.broken.set(true);
    }
}

#[motsu::test]
fn with_the_history_contract_a_late_round_keeps_its_randomness() {
    let arb_sys: Contract<FakeArbSys> = Contract::new_at(ARB_SYS);
    let history: Contract<FakeHistory> = Contract::new_at(HISTORY_STORAGE);
    let beacon: Contract<BlockHashBeacon> = Contract::new();
    let anyone = alloy_primitives::Address::repeat_byte(1);
    arb_sys
        .sender(anyone)
        .upgrade(U256::from(HISTORY_ARBOS_VERSION));
    let round = beacon.sender(anyone).request_randomness().motsu_unwrap();
    let hash = B256::repeat_byte(7);
    arb_sys.sender(anyone).mine(hash);
    arb_sys.sender(anyone).mine(B256::repeat_byte(8));
    history.sender(anyone).remember(round, hash);
    let value = beacon.sender(anyone).randomness(round).motsu_unwrap();
    assert_eq!(value, keccak256((hash, round).abi_encode()));
    // Past ArbSys's 256 blocks the history contract answers, with the
    // same hash: waiting does not change the draw, up to the whole window.
    for age in [257, 300, 100_000, HISTORY_SERVE_WINDOW] {
        arb_sys.sender(anyone).jump(round + U256::from(age));
        assert_eq!(
            beacon.sender(anyone).randomness(round).motsu_unwrap(),
            value,
            "{age} blocks later"
        );
    }
    // Beyond the history the round has expired.
    arb_sys
        .sender(anyone)
        .jump(round + U256::from(HISTORY_SERVE_WINDOW + 1));
    assert_eq!(
        beacon.sender(anyone).randomness(round).motsu_unwrap(),
        B256::ZERO
    );
    // A round the ring never held (before the contract existed) expired.
    let unheld = round + U256::from(1);
    arb_sys.sender(anyone).jump(unheld + U256::from(300));
    assert_eq!(
        beacon.sender(anyone).randomness(unheld).motsu_unwrap(),
        B256::ZERO
    );
    // A history contract that fails inside its window (a caller starving
    // it of gas) is an error, never an expired round to redraw from.
    arb_sys.sender(anyone).jump(round + U256::from(300));
    history.sender(anyone).break_down();
    let err = beacon.sender(anyone).randomness(round).motsu_unwrap_err();
    assert!(
        matches!(err, Revert::Own(BeaconError::HistoryUnreadable(_))),
        "{err:?}"
    );
}

/// Before ArbOS 40 whatever sits at the history address is not Arbitrum's
/// (anyone can deploy Ethereum's history contract there, which reverts
/// for Arbitrum block numbers): the beacon falls back to ArbSys's 256
/// blocks and a late round expires, rather than every late draw failing.
#[motsu::test]
fn before_arbos_40_the_history_address_is_ignored() {
    let arb_sys: Contract<FakeArbSys> = Contract::new_at(ARB_SYS);
    let history: Contract<FakeHistory> = Contract::new_at(HISTORY_STORAGE);
    let beacon: Contract<BlockHashBeacon> = Contract::new();
    let anyone = alloy_primitives::Address::repeat_byte(1);
    arb_sys
        .sender(anyone)
        .upgrade(U256::from(HISTORY_ARBOS_VERSION - 1));
    let round = beacon.sender(anyone).request_randomness().motsu_unwrap();
    arb_sys.sender(anyone).mine(B256::repeat_byte(7));
    history.sender(anyone).remember(round, B256::repeat_byte(7));
    history.sender(anyone).break_down();
    arb_sys.sender(anyone).jump(round + U256::from(300));
    assert_eq!(
        beacon.sender(anyone).randomness(round).motsu_unwrap(),
        B256::ZERO
    );
}
