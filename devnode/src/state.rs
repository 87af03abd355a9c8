//! The chain's world state: accounts, code, storage and recent block
//! hashes, with an undo log so blocks can be unwound (snapshots, reorgs).
//!
//! Transactions run against a read-only view of this state (revm's
//! [`DatabaseRef`]); their changes are applied afterwards with
//! [`WorldState::apply`], which records exactly what it overwrote. Undo
//! entries are per slot and per account, so unwinding a block costs what the
//! block changed, not the size of the state.

use std::collections::HashMap;

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
}

impl WorldState {
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
    }

    /// Forgets the hash of block `number` (it was unwound).
    pub fn remove_block_hash(&mut self, number: u64) {
        self.block_hashes.remove(&number);
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
        self.code.entry(hash).or_insert(code);
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
    }

    /// Empties an account's storage, recording the undo entry.
    pub fn clear_storage(&mut self, address: Address, undo: &mut Vec<Undo>) {
        if let Some(account) = self.accounts.get_mut(&address) {
            undo.push(Undo::Storage {
                address,
                previous: std::mem::take(&mut account.storage),
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
                }
                continue;
            }
            if let Some(code) = account.info.code.as_ref() {
                if account.info.code_hash != KECCAK_EMPTY {
                    self.code
                        .entry(account.info.code_hash)
                        .or_insert_with(|| code.original_bytes());
                }
            }
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
            if account.is_created() && !entry.storage.is_empty() {
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
            }
        }
    }

    /// Puts back what `undo` recorded, newest first.
    pub fn revert(&mut self, undo: Vec<Undo>) {
        for entry in undo.into_iter().rev() {
            match entry {
                Undo::Account { address, previous } => match previous {
                    None => {
                        self.accounts.remove(&address);
                    }
                    Some((balance, nonce, code_hash)) => {
                        let account = self.accounts.entry(address).or_default();
                        account.balance = balance;
                        account.nonce = nonce;
                        account.code_hash = code_hash;
                    }
                },
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
}
