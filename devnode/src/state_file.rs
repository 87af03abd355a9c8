//! The `--state` file: a snapshot of the whole chain and, beside it, a
//! journal of what each job changed since, so a node killed at any moment
//! (`kill -9`, the OOM killer, a panic) comes back with everything it had
//! acknowledged to a client.
//!
//! - `FILE` holds a [`ChainDump`] with its generation and a random id. It
//!   is replaced atomically: written to `FILE.tmp`, synced, renamed over
//!   `FILE`, and the directory synced.
//! - `FILE.journal` starts with a header line naming the snapshot it
//!   continues (generation, id and the file's modification time), then
//!   holds one JSON line per job that changed the chain, appended before
//!   the job's answer (or any subscription notice) goes out. Each record
//!   names the head it follows, so a journal that does not continue the
//!   chain is refused rather than replayed onto it.
//! - A journal written for another snapshot (one that was replaced since,
//!   or a copy put over `FILE`) is not replayed: it is moved to
//!   `FILE.journal.stale` with a warning. An unfinished last line (the
//!   process died while writing it) was never acknowledged and is cut off.
//! - The journal is folded into a new snapshot once it outgrows the
//!   snapshot, and at a clean stop, so a restart replays little.
//! - `FILE.lock` keeps a second devnode off the same files.
//!
//! Journal lines are written, not synced: a killed process loses nothing
//! (the kernel holds what was written), while a machine that loses power may
//! lose the last lines since the latest snapshot, as anvil's interval state
//! loses its last interval.

use std::{
    fs::File,
    io::{BufRead, BufReader, Seek, Write},
    path::{Path, PathBuf},
};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::chain::ChainDump;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file is not what devnode wrote.
    #[error(
        "{path}, line {line}: {source} (not a devnode state file, or damaged: \
         move it away to start a new chain)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line (1 for the snapshot).
        line: usize,
        /// Why it does not parse.
        source: serde_json::Error,
    },
    /// A journal record does not follow the chain replayed so far.
    #[error(
        "{path}, line {line}: does not continue the chain in its snapshot \
         (move the journal away to start from the snapshot alone)"
    )]
    Diverged {
        /// The journal.
        path: PathBuf,
        /// The record's line.
        line: usize,
    },
    /// Another process keeps its chain in this file.
    #[error("{path} is in use by another devnode")]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The chain could not be encoded.
    #[error("cannot encode the chain: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The journal's first line: which snapshot it continues.
#[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
struct JournalHeader {
    generation: u64,
    /// The snapshot's random id.
    #[serde(default)]
    snapshot: u64,
    /// The snapshot file's modification time (ns since the epoch), which a
    /// copy put over it changes.
    #[serde(default)]
    modified: u64,
}

/// A journal grows to this many times its snapshot before it is folded in
/// (plus [`JOURNAL_SLACK`]), so the writing stays proportional to the
/// changes.
const JOURNAL_GROWTH: u64 = 4;
/// Journal bytes always allowed before folding, so a small chain is not
/// rewritten after every block.
const JOURNAL_SLACK: u64 = 8 << 20;

/// What a state file held when opened.
pub struct Stored<R> {
    /// The snapshot, if there was one.
    pub dump: Option<ChainDump>,
    /// The journal's records since that snapshot, oldest first.
    pub records: Vec<R>,
}

/// An open state file.
#[derive(Debug)]
pub struct StateFile {
    snapshot: PathBuf,
    journal_path: PathBuf,
    /// Open for appending once a snapshot exists.
    journal: Option<File>,
    /// Which snapshot the journal continues.
    header: JournalHeader,
    snapshot_bytes: u64,
    journal_bytes: u64,
    /// Held (locked) while the file is open.
    _lock: File,
}

impl StateFile {
    /// Opens the state file at `path`: reads its snapshot and the journal
    /// that continues it (cutting off an unfinished last line), and readies
    /// the journal for appending.
    ///
    /// # Errors
    /// A file cannot be read or written, or is not what devnode writes.
    pub fn open<R: DeserializeOwned>(path: &Path) -> Result<(Stored<R>, Self), StateFileError> {
        let lock_path = sibling(path, ".lock");
        let lock = File::create(&lock_path).map_err(io_error(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(StateFileError::InUse { path: lock_path });
        }
        let mut file = Self {
            snapshot: path.to_owned(),
            journal_path: journal_path(path),
            journal: None,
            header: JournalHeader {
                generation: 0,
                snapshot: 0,
                modified: 0,
            },
            snapshot_bytes: 0,
            journal_bytes: 0,
            _lock: lock,
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((
                    Stored {
                        dump: None,
                        records: Vec::new(),
                    },
                    file,
                ))
            }
            Err(e) => return Err(io_error(path)(e)),
        };
        let dump: ChainDump =
            serde_json::from_slice(&bytes).map_err(|source| StateFileError::Corrupt {
                path: path.to_owned(),
                line: 1,
                source,
            })?;
        file.header = JournalHeader {
            generation: dump.generation,
            snapshot: dump.snapshot_id,
            modified: modified(path).map_err(io_error(path))?,
        };
        file.snapshot_bytes = bytes.len() as u64;
        let records = file.read_journal()?;
        Ok((
            Stored {
                dump: Some(dump),
                records,
            },
            file,
        ))
    }

    /// The journal's path.
    #[must_use]
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// Whether there is no snapshot yet (a new chain): the journal needs
    /// one to continue.
    #[must_use]
    pub fn needs_snapshot(&self) -> bool {
        self.journal.is_none()
    }

    /// Whether the journal has outgrown its snapshot.
    #[must_use]
    pub fn journal_is_long(&self) -> bool {
        self.journal_bytes > self.snapshot_bytes * JOURNAL_GROWTH + JOURNAL_SLACK
    }

    /// Appends one record to the journal, as one line.
    ///
    /// # Errors
    /// There is no snapshot yet, or the line cannot be written.
    pub fn append(&mut self, record: &impl Serialize) -> Result<(), StateFileError> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let Some(journal) = self.journal.as_mut() else {
            return Err(StateFileError::Io {
                path: self.journal_path.clone(),
                source: std::io::Error::other("no snapshot to continue yet"),
            });
        };
        // One write of the whole line: a process killed in the middle of it
        // leaves at most an unfinished last line, which a restart cuts off.
        journal
            .write_all(&line)
            .map_err(io_error(&self.journal_path))?;
        self.journal_bytes += line.len() as u64;
        Ok(())
    }

    /// Replaces the snapshot with `dump` (as the next generation) and
    /// starts an empty journal after it.
    ///
    /// # Errors
    /// A file cannot be written; the previous snapshot and journal are then
    /// still whole.
    pub fn write_snapshot(&mut self, dump: &mut ChainDump) -> Result<(), StateFileError> {
        dump.generation = self.header.generation + 1;
        dump.snapshot_id = random_id();
        let bytes = serde_json::to_vec(dump)?;
        let temporary = sibling(&self.snapshot, ".tmp");
        {
            let mut out = File::create(&temporary).map_err(io_error(&temporary))?;
            out.write_all(&bytes).map_err(io_error(&temporary))?;
            out.sync_all().map_err(io_error(&temporary))?;
        }
        std::fs::rename(&temporary, &self.snapshot).map_err(io_error(&self.snapshot))?;
        // From here the old journal is stale (it names the old snapshot)
        // whatever happens to the rest of this function.
        self.journal = None;
        self.header = JournalHeader {
            generation: dump.generation,
            snapshot: dump.snapshot_id,
            modified: modified(&self.snapshot).map_err(io_error(&self.snapshot))?,
        };
        self.snapshot_bytes = bytes.len() as u64;
        // Best effort: some file systems cannot sync a directory, and the
        // rename is atomic either way (only its durability across a power
        // loss depends on it).
        let _ = sync_directory(&self.snapshot);
        self.start_journal()
    }

    /// Reads the journal if it continues the snapshot, cutting off an
    /// unfinished last line; starts a new one otherwise.
    fn read_journal<R: DeserializeOwned>(&mut self) -> Result<Vec<R>, StateFileError> {
        let path = self.journal_path.clone();
        let opened = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        {
            Ok(opened) => opened,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.start_journal()?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        let mut reader = BufReader::new(opened);
        let stale = |file: &mut Self, why: &str| {
            let aside = sibling(&file.journal_path, ".stale");
            eprintln!(
                "devnode: {} {why}; not replayed, moved to {}",
                file.journal_path.display(),
                aside.display()
            );
            std::fs::rename(&file.journal_path, &aside).map_err(io_error(&file.journal_path))?;
            file.start_journal()
        };
        let mut line = Vec::new();
        let mut complete = 0_u64;
        let mut records = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(io_error(&path))?;
            if read == 0 || line.last() != Some(&b'\n') {
                // The end, or a line the process died while writing.
                break;
            }
            number += 1;
            if number == 1 {
                let header: JournalHeader =
                    serde_json::from_slice(&line).map_err(|source| StateFileError::Corrupt {
                        path: path.clone(),
                        line: number,
                        source,
                    })?;
                if header.generation + 1 == self.header.generation {
                    // Written before the snapshot that replaced it: a
                    // process killed between the two.
                    self.start_journal()?;
                    return Ok(Vec::new());
                }
                if header != self.header {
                    stale(self, "was written for another copy of the snapshot")?;
                    return Ok(Vec::new());
                }
            } else {
                records.push(serde_json::from_slice(&line).map_err(|source| {
                    StateFileError::Corrupt {
                        path: path.clone(),
                        line: number,
                        source,
                    }
                })?);
            }
            complete += read as u64;
        }
        if number == 0 {
            // Not even a whole header: nothing was acknowledged after the
            // snapshot.
            self.start_journal()?;
            return Ok(Vec::new());
        }
        let mut journal = reader.into_inner();
        journal.set_len(complete).map_err(io_error(&path))?;
        journal
            .seek(std::io::SeekFrom::Start(complete))
            .map_err(io_error(&path))?;
        self.journal = Some(journal);
        self.journal_bytes = complete;
        Ok(records)
    }

    /// Replaces the journal with one that holds only its header.
    fn start_journal(&mut self) -> Result<(), StateFileError> {
        let path = &self.journal_path;
        let mut header = serde_json::to_vec(&self.header)?;
        header.push(b'\n');
        let mut journal = File::create(path).map_err(io_error(path))?;
        journal.write_all(&header).map_err(io_error(path))?;
        self.journal_bytes = header.len() as u64;
        self.journal = Some(journal);
        Ok(())
    }
}

/// Turns an I/O error on `path` into a [`StateFileError`].
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StateFileError {
    let path = path.to_owned();
    move |source| StateFileError::Io { path, source }
}

/// `FILE.journal` beside the snapshot `FILE`.
#[must_use]
pub fn journal_path(snapshot: &Path) -> PathBuf {
    sibling(snapshot, ".journal")
}

/// `path` with `suffix` added to its whole name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A file's modification time, ns since the epoch.
fn modified(path: &Path) -> std::io::Result<u64> {
    let since = std::fs::metadata(path)?
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// An id no other snapshot has (the standard library's per-process random
/// keys, mixed with the time).
fn random_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// Makes a rename in the file's directory durable.
fn sync_directory(file: &Path) -> std::io::Result<()> {
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}
