//! Keeping a chain in its state file: after every job, what the job changed
//! is appended to the file's journal ([`crate::state_file`]) before the
//! job's answer and its subscription notices go out, so nothing a client
//! heard of is lost when the process is killed. A change that cannot be
//! written stops the chain instead of being acknowledged.

use std::sync::Arc;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use super::{Chain, ChainEvent, DevControls, MinedBlock, PendingTx};
use crate::{
    state::{StateDelta, Undo},
    state_file::{StateFile, StateFileError},
};

/// What one job changed in the persistent part of a chain. Lists that only
/// grow between blocks (the pending pool, the dev changes' undo log) are
/// recorded as the part kept and what was added, so a record costs what
/// changed.
#[derive(Serialize, Deserialize)]
pub struct ChainRecord {
    /// The head the record follows (checked on replay).
    parent: B256,
    state: StateDelta,
    /// How many blocks were kept from before (the rest were unwound).
    kept_blocks: u64,
    /// The blocks mined since, oldest first.
    mined: Vec<MinedBlock>,
    time_offset: i64,
    reorgs: u64,
    base_fee: u64,
    pending_kept: u64,
    pending_added: Vec<PendingTx>,
    pre_undo_kept: u64,
    pre_undo_added: Vec<Undo>,
    /// The dev controls, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev: Option<DevControls>,
}

/// A journal record that does not follow the chain it is replayed onto.
#[derive(Debug, thiserror::Error)]
#[error("the record follows block {expected}, the chain's head is {head}")]
pub struct Diverged {
    /// The head the record follows.
    pub expected: B256,
    /// The chain's head.
    pub head: B256,
}

/// A chain's state file and what it holds so far.
pub(super) struct Durable {
    file: StateFile,
    written: Written,
    /// Notices held until what they announce is written.
    held: Vec<ChainEvent>,
}

/// What the state file holds of the chain, to tell what changed since.
#[derive(Default)]
struct Written {
    blocks: Vec<B256>,
    pending: Vec<B256>,
    pre_undo: Vec<Undo>,
    time_offset: i64,
    reorgs: u64,
    base_fee: u64,
    dev: DevControls,
}

impl Chain {
    /// Replays a record of the state file's journal (at start).
    ///
    /// # Errors
    /// The record follows another head than this chain's.
    pub fn apply_record(&mut self, record: ChainRecord) -> Result<(), Diverged> {
        let head = self.head().hash;
        if record.parent != head {
            return Err(Diverged {
                expected: record.parent,
                head,
            });
        }
        while self.blocks.len() as u64 > record.kept_blocks.max(1) {
            let Some(block) = self.blocks.pop() else {
                break;
            };
            self.by_hash.remove(&block.hash);
            for tx in &block.txs {
                self.tx_index.remove(&tx.hash);
            }
        }
        for block in record.mined {
            self.push_block(block);
        }
        // After the blocks: the delta holds the final block hashes too.
        Arc::make_mut(&mut self.state).apply_delta(record.state);
        self.time_offset = record.time_offset;
        self.reorgs = record.reorgs;
        self.base_fee = record.base_fee;
        self.pending
            .truncate(usize::try_from(record.pending_kept).unwrap_or(usize::MAX));
        self.pending.extend(record.pending_added);
        self.pre_undo
            .truncate(usize::try_from(record.pre_undo_kept).unwrap_or(usize::MAX));
        self.pre_undo.extend(record.pre_undo_added);
        if let Some(dev) = record.dev {
            self.set_dev_controls(dev);
        }
        Ok(())
    }

    /// Keeps this chain in `file` from now on: [`Chain::commit`] writes
    /// down each job's changes.
    ///
    /// # Errors
    /// `file` has no snapshot yet and one cannot be written.
    pub fn keep_in(&mut self, file: StateFile) -> Result<(), StateFileError> {
        let mut durable = Durable {
            file,
            written: Written::default(),
            held: Vec::new(),
        };
        if durable.file.needs_snapshot() {
            self.write_snapshot(&mut durable.file)?;
        } else {
            Arc::make_mut(&mut self.state).track_changes();
        }
        durable.written.catch_up(self);
        self.durable = Some(durable);
        Ok(())
    }

    /// Writes down what the last job changed, then sends the notices it
    /// held back. Called after every job, before its answer goes out.
    ///
    /// # Errors
    /// The change cannot be written: the chain must stop, unacknowledged
    /// (the notices are dropped; the journal holds everything acknowledged
    /// before).
    pub fn commit(&mut self) -> Result<(), StateFileError> {
        let Some(mut durable) = self.durable.take() else {
            return Ok(());
        };
        let outcome = if !self.state.tracks_changes() {
            // The state was replaced as a whole: write it so.
            self.write_snapshot(&mut durable.file).map(|()| true)
        } else if let Some(record) = self.take_record(&durable.written) {
            let appended = durable.file.append(&record);
            match appended {
                // A long journal is folded into a new snapshot.
                Ok(()) if durable.file.journal_is_long() => {
                    self.write_snapshot(&mut durable.file).map(|()| true)
                }
                other => other.map(|()| true),
            }
        } else {
            Ok(false)
        };
        let wrote = match outcome {
            Ok(wrote) => wrote,
            Err(error) => {
                self.durable = Some(durable);
                return Err(error);
            }
        };
        if wrote {
            durable.written.catch_up(self);
        }
        for event in durable.held.drain(..) {
            self.publish(event);
        }
        self.durable = Some(durable);
        Ok(())
    }

    /// Writes a whole snapshot to the state file (at a clean stop).
    ///
    /// # Errors
    /// It cannot be written.
    pub fn save_snapshot(&mut self) -> Result<(), StateFileError> {
        let Some(mut durable) = self.durable.take() else {
            return Ok(());
        };
        let saved = self.write_snapshot(&mut durable.file);
        if saved.is_ok() {
            durable.written.catch_up(self);
        }
        self.durable = Some(durable);
        saved
    }

    /// Writes a whole snapshot and lets go of the state file (at a clean
    /// stop: another node may open it then).
    ///
    /// # Errors
    /// The snapshot cannot be written; the file stays in use.
    pub fn close_state_file(&mut self) -> Result<(), StateFileError> {
        self.save_snapshot()?;
        self.durable = None;
        Ok(())
    }

    /// Sends `event` to subscribers, or holds it until [`Chain::commit`]
    /// has written down what it announces.
    pub(super) fn announce(&mut self, event: ChainEvent) {
        match self.durable.as_mut() {
            Some(durable) => durable.held.push(event),
            None => self.publish(event),
        }
    }

    fn write_snapshot(&mut self, file: &mut StateFile) -> Result<(), StateFileError> {
        let mut dump = self.dump();
        file.write_snapshot(&mut dump)?;
        let state = Arc::make_mut(&mut self.state);
        state.stop_tracking();
        state.track_changes();
        Ok(())
    }

    /// What changed since `written`, or `None` when nothing did.
    fn take_record(&mut self, written: &Written) -> Option<ChainRecord> {
        let kept = written.kept(self);
        let pending_kept = written
            .pending
            .iter()
            .zip(&self.pending)
            .take_while(|(hash, p)| **hash == p.hash)
            .count();
        let pre_undo_kept = common_prefix(&written.pre_undo, &self.pre_undo);
        let dev = self.dev_controls();
        let unchanged = kept == written.blocks.len()
            && kept == self.blocks.len()
            && pending_kept == written.pending.len()
            && pending_kept == self.pending.len()
            && pre_undo_kept == written.pre_undo.len()
            && pre_undo_kept == self.pre_undo.len()
            && written.time_offset == self.time_offset
            && written.reorgs == self.reorgs
            && written.base_fee == self.base_fee
            && written.dev == dev;
        if unchanged && !self.state.has_changes() {
            return None;
        }
        // Only a job that changed the state pays for a copy of it that a
        // call running off the chain's thread may hold.
        let state = if self.state.has_changes() {
            Arc::make_mut(&mut self.state)
                .take_delta()
                .unwrap_or_default()
        } else {
            StateDelta::default()
        };
        Some(ChainRecord {
            parent: written.blocks.last().copied().unwrap_or_default(),
            state,
            kept_blocks: kept as u64,
            mined: self.blocks[kept..].iter().map(|b| (**b).clone()).collect(),
            time_offset: self.time_offset,
            reorgs: self.reorgs,
            base_fee: self.base_fee,
            pending_kept: pending_kept as u64,
            pending_added: self.pending[pending_kept..].to_vec(),
            pre_undo_kept: pre_undo_kept as u64,
            pre_undo_added: self.pre_undo[pre_undo_kept..].to_vec(),
            dev: (written.dev != dev).then_some(dev),
        })
    }
}

impl Written {
    /// How many of the chain's blocks, from genesis, are the ones
    /// written (the rest were unwound or are new); the head alone is
    /// compared when nothing was unwound.
    fn kept(&self, chain: &Chain) -> usize {
        let mut kept = self.blocks.len().min(chain.blocks.len());
        while kept > 0 && self.blocks[kept - 1] != chain.blocks[kept - 1].hash {
            kept -= 1;
        }
        kept
    }

    /// Now holds what `chain` holds (costs what changed).
    fn catch_up(&mut self, chain: &Chain) {
        let kept = self.kept(chain);
        self.blocks.truncate(kept);
        self.blocks
            .extend(chain.blocks[kept..].iter().map(|b| b.hash));
        self.pending.clear();
        self.pending.extend(chain.pending.iter().map(|p| p.hash));
        let pre_undo_kept = common_prefix(&self.pre_undo, &chain.pre_undo);
        self.pre_undo.truncate(pre_undo_kept);
        self.pre_undo
            .extend_from_slice(&chain.pre_undo[pre_undo_kept..]);
        self.time_offset = chain.time_offset;
        self.reorgs = chain.reorgs;
        self.base_fee = chain.base_fee;
        self.dev = chain.dev_controls();
    }
}

/// How many leading items `a` and `b` share.
fn common_prefix<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Address, Bytes, U256};
    use alloy_rpc_types_eth::TransactionRequest;

    use super::*;
    use crate::chain::ChainConfig;

    fn chain(genesis_timestamp: u64) -> Chain {
        Chain::new(
            ChainConfig {
                chain_id: 412_346,
                allocation: vec![(Address::repeat_byte(1), U256::from(10).pow(U256::from(21)))],
                genesis_timestamp,
            },
            Vec::new(),
        )
    }

    /// The chain as JSON (maps ordered), to compare two of them.
    fn encoded(chain: &Chain) -> serde_json::Value {
        let mut dump = serde_json::to_value(chain.dump()).expect("encodes");
        // What a restart does not restore by design (the first is a
        // per-snapshot id).
        dump["snapshot_id"] = serde_json::Value::Null;
        dump
    }

    fn temporary_state_file(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("devnode-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir.join("chain.json")
    }

    #[test]
    fn a_replayed_journal_gives_the_same_chain_and_refuses_another() {
        let path = temporary_state_file("replay");
        let (_, file) = StateFile::open::<ChainRecord>(&path).expect("opens");
        let mut live = chain(1);
        live.keep_in(file).expect("kept");
        let (sender, other) = (Address::repeat_byte(1), Address::repeat_byte(2));
        live.impersonate(sender, true);
        live.commit().expect("written");
        type Job = Box<dyn Fn(&mut Chain)>;
        let mut jobs: Vec<Job> = vec![
            Box::new(move |c| {
                c.send(
                    TransactionRequest::default()
                        .from(sender)
                        .to(other)
                        .value(U256::from(7)),
                )
                .expect("sent");
            }),
            Box::new(move |c| c.set_storage(other, U256::from(1), U256::from(11))),
            Box::new(move |c| c.set_code(other, Bytes::from_static(&[0x00]))),
            Box::new(|c| {
                c.snapshot();
            }),
            Box::new(|c| {
                c.mine(None).expect("mined");
            }),
            Box::new(move |c| c.set_storage(other, U256::from(1), U256::ZERO)),
            Box::new(|c| {
                c.mine(None).expect("mined");
            }),
            Box::new(|c| assert!(c.revert_to(1))),
            Box::new(move |c| c.set_storage(other, U256::from(2), U256::from(22))),
            Box::new(|c| {
                c.set_automine(false).expect("off");
            }),
            Box::new(move |c| {
                c.send(
                    TransactionRequest::default()
                        .from(sender)
                        .to(other)
                        .value(U256::from(9)),
                )
                .expect("queued");
            }),
        ];
        for job in jobs.drain(..) {
            job(&mut live);
            live.commit().expect("written");
        }
        let expected = encoded(&live);
        drop(live);

        let (stored, file) = StateFile::open::<ChainRecord>(&path).expect("reopens");
        let mut replayed = Chain::restore(stored.dump.expect("a snapshot"), Vec::new());
        assert!(stored.records.len() >= 8, "one record per changing job");
        for record in stored.records {
            replayed.apply_record(record).expect("continues");
        }
        assert_eq!(encoded(&replayed), expected);
        drop(file);

        // The same records onto another chain are refused, not applied.
        let (stored, _file) = StateFile::open::<ChainRecord>(&path).expect("reopens");
        let mut another = chain(2);
        let first = stored.records.into_iter().next().expect("a record");
        assert!(another.apply_record(first).is_err());
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
