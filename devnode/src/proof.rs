//! `eth_getProof` (EIP-1186): Merkle-Patricia proofs of an account and
//! some of its storage slots.
//!
//! devnode keeps its state in maps, not in a trie, and its block headers
//! carry the empty state root. A proof is built on request: the account
//! trie (and the account's storage trie) of the asked block's state is
//! hashed with alloy's trie builder, and the nodes on the paths to the
//! asked keys are kept. The proof is sound against the state root it leads
//! to (the hash of its first node), which is the root a real Ethereum node
//! would have for the same accounts; it is not the root in devnode's
//! headers. Building it reads the whole state, so it costs time linear in
//! the number of accounts and their slots, and stops at a call's deadline.

use std::{collections::HashMap, time::Instant};

use alloy_primitives::{keccak256, Address, Bytes, B256, U256, U64};
use alloy_trie::{proof::ProofRetainer, HashBuilder, Nibbles, TrieAccount, EMPTY_ROOT_HASH};
use serde::Serialize;

use crate::{
    chain::{ChainError, CALL_TIMEOUT},
    state::WorldState,
};

/// Most storage keys one `eth_getProof` may ask for.
pub const MAX_KEYS: usize = 1_024;

/// An account and the proof of it, as EIP-1186 answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProof {
    /// The account.
    pub address: Address,
    /// Its balance.
    pub balance: U256,
    /// The hash of its code (`keccak256("")` without code).
    pub code_hash: B256,
    /// Its nonce.
    pub nonce: U64,
    /// The root of its storage trie.
    pub storage_hash: B256,
    /// The account trie's nodes from the root to the account.
    pub account_proof: Vec<Bytes>,
    /// A proof per asked slot, in the order asked.
    pub storage_proof: Vec<StorageProof>,
}

/// A storage slot and the proof of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageProof {
    /// The slot, as asked.
    pub key: B256,
    /// Its value (zero when unset).
    pub value: U256,
    /// The storage trie's nodes from the root to the slot.
    pub proof: Vec<Bytes>,
}

/// The proof of `address` and of its slots `keys` in `state`, built by
/// `deadline`.
///
/// # Errors
/// [`ChainError::Timeout`] when the state is too large to hash by then.
pub fn prove(
    state: &WorldState,
    address: Address,
    keys: &[B256],
    deadline: Instant,
) -> Result<AccountProof, ChainError> {
    let account = state.account(&address);
    let storage = account.map(|a| &a.storage);
    let (storage_hash, storage_nodes) = match storage {
        Some(slots) => storage_trie(slots, keys),
        None => (EMPTY_ROOT_HASH, Vec::new()),
    };
    let storage_proof = keys
        .iter()
        .map(|key| {
            let slot = U256::from_be_bytes(key.0);
            StorageProof {
                key: *key,
                value: storage
                    .and_then(|slots| slots.get(&slot))
                    .copied()
                    .unwrap_or_default(),
                proof: path_to(&storage_nodes, keccak256(key)),
            }
        })
        .collect();
    let account_nodes = account_trie(state, (address, storage_hash), deadline)?;
    Ok(AccountProof {
        address,
        balance: account.map_or(U256::ZERO, |a| a.balance),
        code_hash: account.map_or(alloy_trie::KECCAK_EMPTY, |a| a.code_hash),
        nonce: U64::from(account.map_or(0, |a| a.nonce)),
        storage_hash,
        account_proof: path_to(&account_nodes, keccak256(address)),
        storage_proof,
    })
}

/// Proof nodes kept by a trie build: (path, node).
type Nodes = Vec<(Nibbles, Bytes)>;

/// The nodes on the path to `hashed_key`, root first.
fn path_to(nodes: &Nodes, hashed_key: B256) -> Vec<Bytes> {
    let target = Nibbles::unpack(hashed_key);
    nodes
        .iter()
        .filter(|(path, _)| target.starts_with(path))
        .map(|(_, node)| node.clone())
        .collect()
}

/// Hashes leaves sorted by key, keeping the nodes on the paths to `targets`.
fn build(mut leaves: Vec<(Nibbles, Vec<u8>)>, targets: Vec<Nibbles>) -> (B256, Nodes) {
    leaves.sort_by_key(|(key, _)| *key);
    let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
    for (key, value) in &leaves {
        builder.add_leaf(*key, value);
    }
    let root = builder.root();
    let nodes = builder.take_proof_nodes().into_nodes_sorted();
    (root, nodes)
}

fn storage_leaves(slots: &HashMap<U256, U256>) -> Vec<(Nibbles, Vec<u8>)> {
    slots
        .iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| {
            (
                Nibbles::unpack(keccak256(slot.to_be_bytes::<32>())),
                alloy_rlp::encode(value),
            )
        })
        .collect()
}

fn storage_trie(slots: &HashMap<U256, U256>, keys: &[B256]) -> (B256, Nodes) {
    let targets = keys.iter().map(|k| Nibbles::unpack(keccak256(k))).collect();
    build(storage_leaves(slots), targets)
}

/// The root of an account's storage trie.
fn storage_root(slots: &HashMap<U256, U256>) -> B256 {
    if slots.values().all(U256::is_zero) {
        return EMPTY_ROOT_HASH;
    }
    build(storage_leaves(slots), Vec::new()).0
}

/// The account trie's nodes on the path to `proven`, whose storage root is
/// already known (it is not hashed twice).
fn account_trie(
    state: &WorldState,
    proven: (Address, B256),
    deadline: Instant,
) -> Result<Nodes, ChainError> {
    let mut leaves = Vec::new();
    for (address, account) in state.accounts() {
        if Instant::now() >= deadline {
            return Err(ChainError::Timeout(CALL_TIMEOUT));
        }
        let storage_root = if *address == proven.0 {
            proven.1
        } else {
            storage_root(&account.storage)
        };
        let leaf = TrieAccount {
            nonce: account.nonce,
            balance: account.balance,
            storage_root,
            code_hash: account.code_hash,
        };
        leaves.push((Nibbles::unpack(keccak256(address)), alloy_rlp::encode(leaf)));
    }
    Ok(build(leaves, vec![Nibbles::unpack(keccak256(proven.0))]).1)
}

#[cfg(test)]
mod tests {
    use alloy_trie::proof::verify_proof;

    use super::*;

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    /// Proofs of present and absent accounts and slots verify against the
    /// root their first node hashes to, with alloy's own verifier.
    #[test]
    fn proofs_verify_for_present_and_absent_keys() {
        let mut state = WorldState::default();
        let mut undo = Vec::new();
        for i in 1..=40u8 {
            let address = Address::repeat_byte(i);
            state.set_balance(address, U256::from(i), &mut undo);
            state.set_nonce(address, u64::from(i), &mut undo);
        }
        let contract = Address::repeat_byte(7);
        for slot in 0..20u64 {
            state.set_storage(
                contract,
                U256::from(slot),
                U256::from(slot * 3 + 1),
                &mut undo,
            );
        }
        let keys = [B256::with_last_byte(4), B256::with_last_byte(200)];
        for address in [contract, Address::repeat_byte(0xee)] {
            let proof = prove(&state, address, &keys, far()).expect("in time");
            let root = keccak256(&proof.account_proof[0]);
            let expected = state.account(&address).map(|a| {
                alloy_rlp::encode(TrieAccount {
                    nonce: a.nonce,
                    balance: a.balance,
                    storage_root: proof.storage_hash,
                    code_hash: a.code_hash,
                })
            });
            verify_proof(
                root,
                Nibbles::unpack(keccak256(address)),
                expected,
                &proof.account_proof,
            )
            .unwrap_or_else(|e| panic!("{address}: {e}"));
        }
        let proof = prove(&state, contract, &keys, far()).expect("in time");
        assert_eq!(proof.storage_proof[0].value, U256::from(13));
        assert_eq!(proof.storage_proof[1].value, U256::ZERO);
        for slot in &proof.storage_proof {
            let expected = (!slot.value.is_zero()).then(|| alloy_rlp::encode(slot.value));
            verify_proof(
                proof.storage_hash,
                Nibbles::unpack(keccak256(slot.key)),
                expected,
                &slot.proof,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", slot.key));
        }
        // A wrong value does not verify.
        assert!(verify_proof(
            proof.storage_hash,
            Nibbles::unpack(keccak256(keys[0])),
            Some(alloy_rlp::encode(U256::from(14))),
            &proof.storage_proof[0].proof,
        )
        .is_err());
    }
}
