//! The `--state` file: a snapshot of the whole chain and, beside it, a
//! journal of what each job changed since, so a node killed at any moment
//! (`kill -9`, the OOM killer, a panic) comes back with everything it had
//! acknowledged to a client.
//!
//! - `FILE` holds a [`ChainDump`] and its generation. It is replaced
//!   atomically: written to `FILE.tmp`, synced, renamed over `FILE`, and the
//!   directory synced.
//! - `FILE.journal` starts with a header line naming the generation of the
//!   snapshot it continues, then holds one JSON line per job that changed
//!   the chain, appended before the job's answer (or any subscription
//!   notice) goes out.
//! - A journal of another generation was written before the snapshot that
//!   replaced it and is ignored. An unfinished last line (the process died
//!   while writing it) was never acknowledged and is cut off.
//! - The journal is folded into a new snapshot once it outgrows the
//!   snapshot, and at a clean stop, so a restart replays little.
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
    /// The chain could not be encoded.
    #[error("cannot encode the chain: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The journal's first line.
#[derive(Serialize, Deserialize)]
struct JournalHeader {
    /// The snapshot generation the journal continues.
    generation: u64,
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
    generation: u64,
    snapshot_bytes: u64,
    journal_bytes: u64,
}

impl StateFile {
    /// Opens the state file at `path`: reads its snapshot and the journal
    /// that continues it (cutting off an unfinished last line), and readies
    /// the journal for appending.
    ///
    /// # Errors
    /// A file cannot be read or written, or is not what devnode writes.
    pub fn open<R: DeserializeOwned>(path: &Path) -> Result<(Stored<R>, Self), StateFileError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StateFileError::Io { path, source }
        };
        let mut file = Self {
            snapshot: path.to_owned(),
            journal_path: journal_path(path),
            journal: None,
            generation: 0,
            snapshot_bytes: 0,
            journal_bytes: 0,
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
            Err(e) => return Err(io(path)(e)),
        };
        let dump: ChainDump =
            serde_json::from_slice(&bytes).map_err(|source| StateFileError::Corrupt {
                path: path.to_owned(),
                line: 1,
                source,
            })?;
        file.generation = dump.generation;
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
            .map_err(|source| StateFileError::Io {
                path: self.journal_path.clone(),
                source,
            })?;
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
        dump.generation = self.generation + 1;
        let bytes = serde_json::to_vec(dump)?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StateFileError::Io { path, source }
        };
        let temporary = self.snapshot.with_extension("tmp");
        {
            let mut out = File::create(&temporary).map_err(io(&temporary))?;
            out.write_all(&bytes).map_err(io(&temporary))?;
            out.sync_all().map_err(io(&temporary))?;
        }
        std::fs::rename(&temporary, &self.snapshot).map_err(io(&self.snapshot))?;
        sync_directory(&self.snapshot).map_err(io(&self.snapshot))?;
        // From here the old journal is stale (its generation is the old
        // one) whatever happens to the rest of this function.
        self.generation = dump.generation;
        self.snapshot_bytes = bytes.len() as u64;
        self.journal = None;
        self.start_journal()
    }

    /// Reads the journal if it continues the snapshot, cutting off an
    /// unfinished last line; starts a new one otherwise.
    fn read_journal<R: DeserializeOwned>(&mut self) -> Result<Vec<R>, StateFileError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StateFileError::Io { path, source }
        };
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
            Err(e) => return Err(io(&path)(e)),
        };
        let mut reader = BufReader::new(opened);
        let mut line = Vec::new();
        let mut complete = 0_u64;
        let mut records = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(io(&path))?;
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
                if header.generation != self.generation {
                    // Written before the snapshot that replaced it.
                    self.start_journal()?;
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
        journal.set_len(complete).map_err(io(&path))?;
        journal
            .seek(std::io::SeekFrom::Start(complete))
            .map_err(io(&path))?;
        self.journal = Some(journal);
        self.journal_bytes = complete;
        Ok(records)
    }

    /// Replaces the journal with one that holds only its header.
    fn start_journal(&mut self) -> Result<(), StateFileError> {
        let path = &self.journal_path;
        let io = |source| StateFileError::Io {
            path: path.clone(),
            source,
        };
        let mut header = serde_json::to_vec(&JournalHeader {
            generation: self.generation,
        })?;
        header.push(b'\n');
        let mut journal = File::create(path).map_err(io)?;
        journal.write_all(&header).map_err(io)?;
        self.journal_bytes = header.len() as u64;
        self.journal = Some(journal);
        Ok(())
    }
}

/// `FILE.journal` beside the snapshot `FILE`.
#[must_use]
pub fn journal_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// Makes a rename in the file's directory durable.
fn sync_directory(file: &Path) -> std::io::Result<()> {
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}
