//! The chain's world state: accounts, code, storage and recent block
//! hashes, with an undo log so blocks can be unwound (snapshots, reorgs).
//!
//! Transactions run against a read-only view of this state (revm's
//! [`DatabaseRef`]); their changes are applied afterwards with
//! [`WorldState::apply`], which records exactly what it overwrote. Undo
//! entries are per slot and per account, so unwinding a block costs what the
//! block changed, not the size of the state.
//!
//! A state kept in a file ([`crate::state_file`]) also tracks which keys
//! changed ([`WorldState::track_changes`]), so each job writes down only
//! their new values ([`StateDelta`]) instead of the whole state.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{keccak256, Address, B256, U256};
use revm::{
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::KECCAK_EMPTY,
    state::{Account, AccountInfo},
    DatabaseRef,
};
use serde::{Deserialize, Serialize};

/// The state database cannot fail; this type has no values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unreachable state error")]
pub enum StateError {}

impl DBErrorMarker for StateError {}

/// One account: balance, nonce, code hash and storage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Hash of the account's code (`KECCAK_EMPTY` without code).
    pub code_hash: B256,
    /// Non-zero storage slots.
    pub storage: HashMap<U256, U256>,
}

/// What applying a change overwrote, to put it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Undo {
    /// The account's balance, nonce and code hash before (`None`: absent).
    Account {
        /// The account.
        address: Address,
        /// Previous (balance, nonce, code hash), if the account existed.
        previous: Option<(U256, u64, B256)>,
    },
    /// A storage slot's previous value (zero: absent).
    Slot {
        /// The account.
        address: Address,
        /// The slot.
        key: U256,
        /// Its previous value.
        previous: U256,
    },
    /// The whole storage of an account that was destroyed or re-created.
    Storage {
        /// The account.
        address: Address,
        /// Its previous storage.
        previous: HashMap<U256, U256>,
    },
}

/// The world state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WorldState {
    accounts: HashMap<Address, AccountState>,
    code: HashMap<B256, alloy_primitives::Bytes>,
    block_hashes: HashMap<u64, B256>,
    /// The keys changed since the last [`WorldState::take_delta`], when
    /// tracked.
    #[serde(skip)]
    changes: Option<ChangedKeys>,
}

/// Which keys changed (their new values are read when the delta is taken).
#[derive(Clone, Debug, Default)]
struct ChangedKeys {
    /// Balance, nonce or code hash, or the account came or went.
    accounts: HashSet<Address>,
    /// The whole storage was replaced (destroyed, re-created, unwound).
    storages: HashSet<Address>,
    slots: HashSet<(Address, U256)>,
    code: HashSet<B256>,
    block_hashes: HashSet<u64>,
}

impl ChangedKeys {
    fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.storages.is_empty()
            && self.slots.is_empty()
            && self.code.is_empty()
            && self.block_hashes.is_empty()
    }
}

/// An account's balance, nonce and code hash.
type AccountHeader = (U256, u64, B256);

/// The new values of the keys that changed: applied with
/// [`WorldState::apply_delta`] to the state it was taken from, it gives the
/// state it was taken at. Applying it again changes nothing more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDelta {
    /// (balance, nonce, code hash) of each changed account; `None`: the
    /// account, with its storage, is gone.
    accounts: Vec<(Address, Option<AccountHeader>)>,
    /// Storages replaced as a whole (applied before `slots`).
    storages: Vec<(Address, HashMap<U256, U256>)>,
    /// Changed slots of accounts whose storage was not replaced (zero:
    /// cleared).
    slots: Vec<(Address, U256, U256)>,
    /// Code stored for the first time.
    code: Vec<(B256, alloy_primitives::Bytes)>,
    /// Block hashes recorded (`Some`) or forgotten (`None`).
    block_hashes: Vec<(u64, Option<B256>)>,
}

impl WorldState {
    /// Starts recording which keys change (for [`WorldState::take_delta`]).
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(ChangedKeys::default);
    }

    /// Stops recording changes (the next write takes the whole state).
    pub fn stop_tracking(&mut self) {
        self.changes = None;
    }

    /// Whether changes are being recorded.
    #[must_use]
    pub fn tracks_changes(&self) -> bool {
        self.changes.is_some()
    }

    /// Whether anything changed since the last delta (false when untracked).
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.changes.as_ref().is_some_and(|c| !c.is_empty())
    }

    /// The new values of everything changed since the last call, and the
    /// record starts afresh; `None` when changes are not tracked.
    pub fn take_delta(&mut self) -> Option<StateDelta> {
        let changed = std::mem::take(self.changes.as_mut()?);
        let header = |a: &AccountState| (a.balance, a.nonce, a.code_hash);
        let mut delta = StateDelta::default();
        for address in changed.accounts.union(&changed.storages) {
            delta
                .accounts
                .push((*address, self.accounts.get(address).map(header)));
        }
        for address in &changed.storages {
            if let Some(account) = self.accounts.get(address) {
                delta.storages.push((*address, account.storage.clone()));
            }
        }
        for (address, key) in &changed.slots {
            if changed.storages.contains(address) || !self.accounts.contains_key(address) {
                continue;
            }
            delta
                .slots
                .push((*address, *key, self.storage(address, key)));
        }
        for hash in &changed.code {
            if let Some(code) = self.code.get(hash) {
                delta.code.push((*hash, code.clone()));
            }
        }
        for number in &changed.block_hashes {
            delta
                .block_hashes
                .push((*number, self.block_hashes.get(number).copied()));
        }
        Some(delta)
    }

    /// Applies a delta taken by [`WorldState::take_delta`] (on restart).
    pub fn apply_delta(&mut self, delta: StateDelta) {
        for (address, header) in delta.accounts {
            self.put_header(address, header);
            self.note(|c| {
                c.accounts.insert(address);
            });
        }
        for (address, storage) in delta.storages {
            if let Some(account) = self.accounts.get_mut(&address) {
                account.storage = storage;
            }
            self.note(|c| {
                c.storages.insert(address);
            });
        }
        for (address, key, value) in delta.slots {
            if let Some(account) = self.accounts.get_mut(&address) {
                if value.is_zero() {
                    account.storage.remove(&key);
                } else {
                    account.storage.insert(key, value);
                }
            }
            self.note(|c| {
                c.slots.insert((address, key));
            });
        }
        for (hash, code) in delta.code {
            self.code.insert(hash, code);
            self.note(|c| {
                c.code.insert(hash);
            });
        }
        for (number, hash) in delta.block_hashes {
            match hash {
                Some(hash) => self.block_hashes.insert(number, hash),
                None => self.block_hashes.remove(&number),
            };
            self.note(|c| {
                c.block_hashes.insert(number);
            });
        }
    }

    /// Sets an account's header, or removes the account (`None`), without
    /// recording anything.
    fn put_header(&mut self, address: Address, header: Option<AccountHeader>) {
        match header {
            None => {
                self.accounts.remove(&address);
            }
            Some((balance, nonce, code_hash)) => {
                let account = self.accounts.entry(address).or_default();
                account.balance = balance;
                account.nonce = nonce;
                account.code_hash = code_hash;
            }
        }
    }

    /// Records a changed key, when changes are tracked.
    fn note(&mut self, record: impl FnOnce(&mut ChangedKeys)) {
        if let Some(changes) = self.changes.as_mut() {
            record(changes);
        }
    }

    /// Stores `code` under `hash` unless it is there already.
    fn store_code(&mut self, hash: B256, code: impl FnOnce() -> alloy_primitives::Bytes) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.code.entry(hash) {
            slot.insert(code());
            self.note(|c| {
                c.code.insert(hash);
            });
        }
    }

    /// Every account, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &AccountState)> {
        self.accounts.iter()
    }

    /// An account, if it exists.
    #[must_use]
    pub fn account(&self, address: &Address) -> Option<&AccountState> {
        self.accounts.get(address)
    }

    /// Balance of `address` (zero when absent).
    #[must_use]
    pub fn balance(&self, address: &Address) -> U256 {
        self.accounts.get(address).map_or(U256::ZERO, |a| a.balance)
    }

    /// Nonce of `address` (zero when absent).
    #[must_use]
    pub fn nonce(&self, address: &Address) -> u64 {
        self.accounts.get(address).map_or(0, |a| a.nonce)
    }

    /// Code of `address` (empty when none).
    #[must_use]
    pub fn code(&self, address: &Address) -> alloy_primitives::Bytes {
        self.accounts
            .get(address)
            .and_then(|a| self.code.get(&a.code_hash))
            .cloned()
            .unwrap_or_default()
    }

    /// A storage slot of `address`.
    #[must_use]
    pub fn storage(&self, address: &Address, key: &U256) -> U256 {
        self.accounts
            .get(address)
            .and_then(|a| a.storage.get(key))
            .copied()
            .unwrap_or_default()
    }

    /// Records the hash of block `number` (for `BLOCKHASH` and ArbSys).
    pub fn set_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
        self.note(|c| {
            c.block_hashes.insert(number);
        });
    }

    /// Forgets the hash of block `number` (it was unwound).
    pub fn remove_block_hash(&mut self, number: u64) {
        self.block_hashes.remove(&number);
        self.note(|c| {
            c.block_hashes.insert(number);
        });
    }

    /// Sets an account's balance, recording the undo entry.
    pub fn set_balance(&mut self, address: Address, balance: U256, undo: &mut Vec<Undo>) {
        let account = self.touch(address, undo);
        account.balance = balance;
    }

    /// Sets an account's nonce, recording the undo entry.
    pub fn set_nonce(&mut self, address: Address, nonce: u64, undo: &mut Vec<Undo>) {
        let account = self.touch(address, undo);
        account.nonce = nonce;
    }

    /// Sets an account's code, recording the undo entry.
    pub fn set_code(
        &mut self,
        address: Address,
        code: alloy_primitives::Bytes,
        undo: &mut Vec<Undo>,
    ) {
        let hash = if code.is_empty() {
            KECCAK_EMPTY
        } else {
            keccak256(&code)
        };
        self.store_code(hash, || code);
        let account = self.touch(address, undo);
        account.code_hash = hash;
    }

    /// Sets a storage slot, recording the undo entry.
    pub fn set_storage(&mut self, address: Address, key: U256, value: U256, undo: &mut Vec<Undo>) {
        let account = self.touch(address, undo);
        let previous = if value.is_zero() {
            account.storage.remove(&key)
        } else {
            account.storage.insert(key, value)
        };
        undo.push(Undo::Slot {
            address,
            key,
            previous: previous.unwrap_or_default(),
        });
        self.note(|c| {
            c.slots.insert((address, key));
        });
    }

    /// Empties an account's storage, recording the undo entry.
    pub fn clear_storage(&mut self, address: Address, undo: &mut Vec<Undo>) {
        if let Some(account) = self.accounts.get_mut(&address) {
            undo.push(Undo::Storage {
                address,
                previous: std::mem::take(&mut account.storage),
            });
            self.note(|c| {
                c.storages.insert(address);
            });
        }
    }

    /// Applies the changes of one transaction, appending undo entries.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = (Address, Account)>,
        undo: &mut Vec<Undo>,
    ) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() || (account.is_empty() && !account.is_created()) {
                // Destroyed, or touched and empty (EIP-161): remove it.
                if let Some(old) = self.accounts.remove(&address) {
                    undo.push(Undo::Storage {
                        address,
                        previous: old.storage,
                    });
                    undo.push(Undo::Account {
                        address,
                        previous: Some((old.balance, old.nonce, old.code_hash)),
                    });
                    // Its storage goes with it (a later re-creation in the
                    // same delta must not inherit it).
                    self.note(|c| {
                        c.accounts.insert(address);
                        c.storages.insert(address);
                    });
                }
                continue;
            }
            if let Some(code) = account.info.code.as_ref() {
                if account.info.code_hash != KECCAK_EMPTY {
                    self.store_code(account.info.code_hash, || code.original_bytes());
                }
            }
            self.note(|c| {
                c.accounts.insert(address);
            });
            let existed = self
                .accounts
                .get(&address)
                .map(|a| (a.balance, a.nonce, a.code_hash));
            undo.push(Undo::Account {
                address,
                previous: existed,
            });
            let entry = self
                .accounts
                .entry(address)
                .or_insert_with(|| AccountState {
                    code_hash: KECCAK_EMPTY,
                    ..AccountState::default()
                });
            let replaced = account.is_created() && !entry.storage.is_empty();
            if replaced {
                undo.push(Undo::Storage {
                    address,
                    previous: std::mem::take(&mut entry.storage),
                });
            }
            entry.balance = account.info.balance;
            entry.nonce = account.info.nonce;
            entry.code_hash = account.info.code_hash;
            for (key, slot) in account.changed_storage_slots() {
                let value = slot.present_value();
                let previous = if value.is_zero() {
                    entry.storage.remove(key)
                } else {
                    entry.storage.insert(*key, value)
                };
                undo.push(Undo::Slot {
                    address,
                    key: *key,
                    previous: previous.unwrap_or_default(),
                });
                if let Some(changes) = self.changes.as_mut() {
                    changes.slots.insert((address, *key));
                }
            }
            if replaced {
                self.note(|c| {
                    c.storages.insert(address);
                });
            }
        }
    }

    /// Puts back what `undo` recorded, newest first.
    pub fn revert(&mut self, undo: Vec<Undo>) {
        for entry in undo.into_iter().rev() {
            self.note(|c| match &entry {
                Undo::Account { address, previous } => {
                    c.accounts.insert(*address);
                    // An account that goes takes its storage with it.
                    if previous.is_none() {
                        c.storages.insert(*address);
                    }
                }
                Undo::Slot { address, key, .. } => {
                    c.slots.insert((*address, *key));
                }
                Undo::Storage { address, .. } => {
                    c.storages.insert(*address);
                }
            });
            match entry {
                Undo::Account { address, previous } => self.put_header(address, previous),
                Undo::Slot {
                    address,
                    key,
                    previous,
                } => {
                    let account = self.accounts.entry(address).or_default();
                    if previous.is_zero() {
                        account.storage.remove(&key);
                    } else {
                        account.storage.insert(key, previous);
                    }
                }
                Undo::Storage { address, previous } => {
                    self.accounts.entry(address).or_default().storage = previous;
                }
            }
        }
    }

    /// The account at `address`, created empty if absent, recording its
    /// previous header.
    fn touch(&mut self, address: Address, undo: &mut Vec<Undo>) -> &mut AccountState {
        self.note(|c| {
            c.accounts.insert(address);
        });
        let existed = self
            .accounts
            .get(&address)
            .map(|a| (a.balance, a.nonce, a.code_hash));
        undo.push(Undo::Account {
            address,
            previous: existed,
        });
        self.accounts
            .entry(address)
            .or_insert_with(|| AccountState {
                code_hash: KECCAK_EMPTY,
                ..AccountState::default()
            })
    }
}

impl DatabaseRef for WorldState {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.accounts.get(&address).map(|a| {
            let code = self
                .code
                .get(&a.code_hash)
                .map(|bytes| bytecode(bytes.clone()));
            AccountInfo {
                balance: a.balance,
                nonce: a.nonce,
                code_hash: a.code_hash,
                code,
                ..AccountInfo::default()
            }
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self
            .code
            .get(&code_hash)
            .map(|bytes| bytecode(bytes.clone()))
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        Ok(self.storage(&address, &index))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.block_hashes.get(&number).copied().unwrap_or_default())
    }
}

/// Code as revm runs it. Arbitrum accepts code starting with `0xEF`
/// (Stylus programs); anything that is not a valid EIP-7702 delegation is
/// legacy code to revm.
#[must_use]
pub fn bytecode(bytes: alloy_primitives::Bytes) -> Bytecode {
    Bytecode::new_raw_checked(bytes.clone()).unwrap_or_else(|_| Bytecode::new_legacy(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_restores_slots_and_accounts() {
        let mut state = WorldState::default();
        let a = Address::repeat_byte(1);
        let mut setup = Vec::new();
        state.set_balance(a, U256::from(5), &mut setup);
        state.set_storage(a, U256::from(1), U256::from(10), &mut setup);
        let before = state.clone();

        let mut undo = Vec::new();
        state.set_storage(a, U256::from(1), U256::ZERO, &mut undo);
        state.set_storage(a, U256::from(2), U256::from(20), &mut undo);
        state.set_balance(a, U256::from(7), &mut undo);
        state.set_balance(Address::repeat_byte(2), U256::from(1), &mut undo);
        assert_eq!(state.storage(&a, &U256::from(1)), U256::ZERO);
        state.revert(undo);

        assert_eq!(state.accounts, before.accounts);
        assert!(state.account(&Address::repeat_byte(2)).is_none());
    }

    fn same(a: &WorldState, b: &WorldState) -> bool {
        // JSON maps are ordered, so equal states encode equally.
        serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
    }

    #[test]
    fn a_delta_carries_every_kind_of_change_and_replays_idempotently() {
        let (a, b, c) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(3),
        );
        let mut state = WorldState::default();
        let mut setup = Vec::new();
        state.set_balance(a, U256::from(5), &mut setup);
        state.set_storage(a, U256::from(1), U256::from(10), &mut setup);
        state.set_storage(a, U256::from(2), U256::from(20), &mut setup);
        state.set_storage(b, U256::from(1), U256::from(1), &mut setup);
        state.set_block_hash(0, B256::repeat_byte(9));
        let base = state.clone();
        state.track_changes();
        assert!(!state.has_changes());

        let mut undo = Vec::new();
        state.set_storage(a, U256::from(1), U256::ZERO, &mut undo);
        state.set_storage(a, U256::from(3), U256::from(30), &mut undo);
        state.set_code(c, alloy_primitives::Bytes::from_static(&[0x00]), &mut undo);
        state.set_nonce(c, 4, &mut undo);
        // b's storage goes as a whole, then one slot comes back: the old
        // slots must not reappear on replay.
        state.clear_storage(b, &mut undo);
        state.set_storage(b, U256::from(7), U256::from(70), &mut undo);
        state.set_block_hash(1, B256::repeat_byte(8));
        state.remove_block_hash(0);
        // A change made and unwound within the same delta.
        let mut unwound = Vec::new();
        state.set_balance(Address::repeat_byte(4), U256::from(1), &mut unwound);
        state.revert(unwound);
        assert!(state.has_changes());

        let delta = state.take_delta().unwrap();
        assert!(!state.has_changes());
        let mut replayed = base.clone();
        replayed.apply_delta(delta.clone());
        assert!(same(&replayed, &state), "{replayed:?}\n{state:?}");
        replayed.apply_delta(delta);
        assert!(same(&replayed, &state), "a second replay changes nothing");
        assert!(replayed.account(&Address::repeat_byte(4)).is_none());
        assert_eq!(replayed.storage(&b, &U256::from(1)), U256::ZERO);
        assert_eq!(replayed.code(&c).as_ref(), &[0x00]);
    }

    #[test]
    fn an_untracked_state_gives_no_delta() {
        let mut state = WorldState::default();
        state.set_balance(Address::repeat_byte(1), U256::from(1), &mut Vec::new());
        assert!(!state.has_changes());
        assert!(state.take_delta().is_none());
    }
}
