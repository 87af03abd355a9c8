//! Keeping a chain in its state file: after every job, what the job changed
//! is appended to the file's journal ([`crate::state_file`]) before the
//! job's answer and its subscription notices go out, so nothing a client
//! heard of is lost when the process is killed.

use std::sync::Arc;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use super::{Chain, ChainEvent, MinedBlock, PendingTx};
use crate::{
    state::StateDelta,
    state_file::{StateFile, StateFileError},
};

/// What one job changed in the persistent part of a chain.
#[derive(Serialize, Deserialize)]
pub struct ChainRecord {
    state: StateDelta,
    /// How many blocks were kept from before (the rest were unwound).
    kept_blocks: u64,
    /// The blocks mined since, oldest first.
    mined: Vec<MinedBlock>,
    time_offset: i64,
    reorgs: u64,
    base_fee: u64,
    /// The transactions waiting for a block, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Vec<PendingTx>>,
}

/// A chain's state file and what it holds so far.
pub(super) struct Durable {
    file: StateFile,
    written: Written,
    /// Notices held until what they announce is written.
    held: Vec<ChainEvent>,
    /// The last write failed (said once, until one succeeds).
    failing: bool,
}

/// What the state file holds of the chain, to tell what changed since.
#[derive(Default)]
struct Written {
    blocks: Vec<B256>,
    pending: Vec<B256>,
    time_offset: i64,
    reorgs: u64,
    base_fee: u64,
}

impl Chain {
    /// Replays a record of the state file's journal (at start).
    pub fn apply_record(&mut self, record: ChainRecord) {
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
        if let Some(pending) = record.pending {
            self.pending = pending;
        }
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
            failing: false,
        };
        let written = if durable.file.needs_snapshot() {
            self.write_snapshot(&mut durable.file)
        } else {
            Arc::make_mut(&mut self.state).track_changes();
            Ok(())
        };
        durable.written.catch_up(self);
        self.durable = Some(durable);
        written
    }

    /// Writes down what the last job changed, then sends the notices it
    /// held back. Called after every job, before its answer goes out.
    pub fn commit(&mut self) {
        let Some(mut durable) = self.durable.take() else {
            return;
        };
        let outcome = if !self.state.tracks_changes() || durable.file.journal_is_long() {
            // The state was replaced as a whole (a failed reorg put a
            // backup back), or the journal has grown: fold it in.
            self.write_snapshot(&mut durable.file)
        } else if let Some(record) = self.take_record(&durable.written) {
            durable.file.append(&record)
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {
                if durable.failing {
                    eprintln!("devnode: the state file is written again");
                }
                durable.failing = false;
                durable.written.catch_up(self);
            }
            Err(error) => {
                if !durable.failing {
                    eprintln!(
                        "devnode: cannot write the state file ({error}); changes from now on \
                         are not durable until it can be written again"
                    );
                }
                durable.failing = true;
                // Retry with a whole snapshot at the next job.
                Arc::make_mut(&mut self.state).stop_tracking();
            }
        }
        for event in durable.held.drain(..) {
            let _ = self.events.send(event);
        }
        self.durable = Some(durable);
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
        durable.written.catch_up(self);
        self.durable = Some(durable);
        saved
    }

    /// Sends `event` to subscribers, or holds it until [`Chain::commit`]
    /// has written down what it announces.
    pub(super) fn announce(&mut self, event: ChainEvent) {
        match self.durable.as_mut() {
            Some(durable) => durable.held.push(event),
            None => {
                let _ = self.events.send(event);
            }
        }
    }

    fn write_snapshot(&mut self, file: &mut StateFile) -> Result<(), StateFileError> {
        let mut dump = self.dump();
        let written = file.write_snapshot(&mut dump);
        if written.is_ok() {
            let state = Arc::make_mut(&mut self.state);
            state.stop_tracking();
            state.track_changes();
        }
        written
    }

    /// What changed since `written`, or `None` when nothing did.
    fn take_record(&mut self, written: &Written) -> Option<ChainRecord> {
        let kept = written.kept(self);
        let blocks_same = kept == written.blocks.len() && kept == self.blocks.len();
        let pending_same = written
            .pending
            .iter()
            .eq(self.pending.iter().map(|p| &p.hash));
        if blocks_same
            && pending_same
            && !self.state.has_changes()
            && written.time_offset == self.time_offset
            && written.reorgs == self.reorgs
            && written.base_fee == self.base_fee
        {
            return None;
        }
        let state = Arc::make_mut(&mut self.state)
            .take_delta()
            .unwrap_or_default();
        Some(ChainRecord {
            state,
            kept_blocks: kept as u64,
            mined: self.blocks[kept..].iter().map(|b| (**b).clone()).collect(),
            time_offset: self.time_offset,
            reorgs: self.reorgs,
            base_fee: self.base_fee,
            pending: (!pending_same).then(|| self.pending.clone()),
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
        self.time_offset = chain.time_offset;
        self.reorgs = chain.reorgs;
        self.base_fee = chain.base_fee;
    }
}
