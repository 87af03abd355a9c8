//! The local store: blobs in files named by their hash, written atomically
//! (temporary file, fsync, rename), stored once, verified on every read.
//!
//! Layout under the root: `blobs/<2 hex>/<64 hex>`, `tmp/` for writes in
//! progress, `pins/<name>` naming what garbage collection keeps.

use crate::hash::{copy_hashing, ContentHash, CopyError, StreamHasher};
use crate::tree::{Limits, Manifest, TreeError};
use crate::walk::{list_files, open_regular, opening, WalkError};
use futures::{Stream, StreamExt};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a store operation failed; nothing half-written stays behind.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
    /// Content did not hash to the hash it was given or fetched as.
    #[error("content does not match its hash: expected {expected}, got {actual}")]
    HashMismatch {
        /// The hash asked for.
        expected: ContentHash,
        /// The hash of what arrived.
        actual: ContentHash,
    },
    /// A blob's size differs from the size its tree's manifest states.
    #[error("{hash} has {actual} bytes but its manifest states {expected}")]
    SizeMismatch {
        /// The blob.
        hash: ContentHash,
        /// The size in the manifest.
        expected: u64,
        /// The size of the content.
        actual: u64,
    },
    /// A stored blob no longer matches its name (disk corruption or
    /// tampering); it was removed so that it can be fetched again.
    #[error("stored blob {0} was corrupt and has been removed; fetch it again")]
    Corrupt(ContentHash),
    /// More bytes than allowed.
    #[error("content is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The store does not hold it.
    #[error("{0} is not in the store")]
    Missing(ContentHash),
    /// A tree breaks a rule or a limit.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A local directory could not be read as a tree.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// Outputs are never written over an existing path.
    #[error("{0} already exists; choose a new directory")]
    DestinationExists(PathBuf),
    /// A pin name that is not a plain file name.
    #[error("pin name `{0}` must be 1-100 letters, digits, `-`, `_` or `.`")]
    BadPinName(String),
    /// The stream of bytes failed (network or peer).
    #[error("the content stream failed: {0}")]
    Stream(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What [`LocalStore::collect_garbage`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcReport {
    /// Blobs kept (reachable from a pin).
    pub kept: usize,
    /// Blobs removed.
    pub removed: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
}

/// A content-addressed store in a local directory.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    next_temporary: AtomicU64,
}

impl LocalStore {
    /// Opens (creating if needed) the store at `root`.
    ///
    /// # Errors
    /// The directories cannot be created.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        for sub in ["blobs", "tmp", "pins"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        Ok(Self {
            root,
            next_temporary: AtomicU64::new(0),
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `hash` lives (whether or not it is there).
    pub fn blob_path(&self, hash: &ContentHash) -> PathBuf {
        let hex = hash.hex();
        self.root.join("blobs").join(&hex[..2]).join(hex)
    }

    /// The size of the blob `hash`, if held.
    pub fn size(&self, hash: &ContentHash) -> Option<u64> {
        std::fs::metadata(self.blob_path(hash))
            .ok()
            .map(|m| m.len())
    }

    /// Whether the blob `hash` is held.
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.size(hash).is_some()
    }

    /// A new, empty temporary file in `tmp/` (created exclusively, so two
    /// writers never share one), removed when dropped unless committed.
    fn temporary(&self) -> Result<(Temporary, std::fs::File), StoreError> {
        loop {
            let n = self.next_temporary.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = self
                .root
                .join("tmp")
                .join(format!("{}-{n}-{nanos}", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((Temporary(Some(path)), file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::Io { path, source: e }),
            }
        }
    }

    /// Moves a finished, fsynced temporary file into place as `hash`. An
    /// existing blob is replaced (atomically, by the same content), so a
    /// copy damaged on disk is healed by the next write of its content.
    fn commit(&self, mut temporary: Temporary, hash: &ContentHash) -> Result<(), StoreError> {
        let target = self.blob_path(hash);
        let dir = target.parent().unwrap_or(&self.root).to_owned();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let from = temporary.0.take().unwrap_or_default();
        if let Err(e) = std::fs::rename(&from, &target) {
            let _ = std::fs::remove_file(&from);
            return Err(StoreError::Io {
                path: target,
                source: e,
            });
        }
        // The rename is durable once the directory is.
        sync_dir(&dir)
    }

    /// Stores `bytes`, returning their hash.
    ///
    /// # Errors
    /// The file system failed.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<ContentHash, StoreError> {
        let hash = ContentHash::of(bytes);
        // Written even when present: the rename replaces a copy that may
        // have been damaged on disk.
        let (temporary, mut file) = self.temporary()?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(io(temporary.path()))?;
        self.commit(temporary, &hash)?;
        Ok(hash)
    }

    /// Copies a local file in, reading it once; refuses more than `max`
    /// bytes. Returns its hash and size.
    ///
    /// # Errors
    /// The file cannot be read, or is larger than `max`.
    pub fn put_file(&self, path: &Path, max: u64) -> Result<(ContentHash, u64), StoreError> {
        let mut from = open_regular(path).map_err(|e| opening(path, e))?;
        let (temporary, mut to) = self.temporary()?;
        let (hash, size) = copy_hashing(&mut from, Some(&mut to), max).map_err(|e| match e {
            CopyError::Read(e) => io(path)(e),
            CopyError::Write(e) => io(temporary.path())(e),
            CopyError::TooLarge(_) => StoreError::TooLarge { limit: max },
        })?;
        to.sync_all().map_err(io(temporary.path()))?;
        self.commit(temporary, &hash)?;
        Ok((hash, size))
    }

    /// Stores a stream of bytes that must hash to `expected` and hold at
    /// most `max` bytes; on any failure nothing is kept. Returns the size.
    ///
    /// # Errors
    /// The stream failed, was too long, or did not match `expected`.
    pub async fn put_stream<S, E>(
        &self,
        expected: ContentHash,
        max: u64,
        mut stream: S,
    ) -> Result<u64, StoreError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use tokio::io::AsyncWriteExt;
        // Dropped with the future if the caller gives up: the file goes too.
        let (temporary, file) = self.temporary()?;
        let path = temporary.path().to_owned();
        let result = async {
            let mut to = tokio::fs::File::from_std(file);
            let mut hasher = StreamHasher::default();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| StoreError::Stream(e.to_string()))?;
                hasher.update(&chunk);
                if hasher.len() > max {
                    return Err(StoreError::TooLarge { limit: max });
                }
                to.write_all(&chunk).await.map_err(io(&path))?;
            }
            to.sync_all().await.map_err(io(&path))?;
            let size = hasher.len();
            let actual = hasher.finish();
            if actual != expected {
                return Err(StoreError::HashMismatch { expected, actual });
            }
            Ok(size)
        }
        .await;
        let size = result?;
        self.commit(temporary, &expected)?;
        Ok(size)
    }

    /// Reads the blob `hash` whole, verified, refusing more than `max` bytes.
    ///
    /// # Errors
    /// Missing, larger than `max`, or corrupt (then removed).
    pub fn read(&self, hash: &ContentHash, max: u64) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(hash);
        let size = self.size(hash).ok_or(StoreError::Missing(*hash))?;
        if size > max {
            return Err(StoreError::TooLarge { limit: max });
        }
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if ContentHash::of(&bytes) != *hash {
            let _ = std::fs::remove_file(&path);
            return Err(StoreError::Corrupt(*hash));
        }
        Ok(bytes)
    }

    /// Copies the blob `hash` to the new file `to`, verifying as it goes;
    /// a corrupt blob leaves no file at `to`.
    ///
    /// # Errors
    /// Missing, corrupt (then removed), or the file system failed.
    pub fn copy_out(&self, hash: &ContentHash, to: &Path) -> Result<(), StoreError> {
        let path = self.blob_path(hash);
        let mut from = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::Missing(*hash),
            _ => StoreError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        let result = (|| {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(to)
                .map_err(io(to))?;
            let (actual, _) =
                copy_hashing(&mut from, Some(&mut out), u64::MAX).map_err(|e| match e {
                    CopyError::Read(e) => io(&path)(e),
                    CopyError::Write(e) => io(to)(e),
                    CopyError::TooLarge(_) => StoreError::TooLarge { limit: u64::MAX },
                })?;
            if actual != *hash {
                let _ = std::fs::remove_file(&path);
                return Err(StoreError::Corrupt(*hash));
            }
            out.sync_all().map_err(io(to))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(to);
        }
        result
    }

    /// Stores every file under `dir` and the tree's manifest; returns the
    /// manifest (its hash names the tree).
    ///
    /// # Errors
    /// The directory breaks a tree rule or limit, or cannot be read.
    pub fn put_dir(&self, dir: &Path, limits: &Limits) -> Result<Manifest, StoreError> {
        let mut entries = Vec::new();
        for file in list_files(dir, limits)? {
            let (hash, size) = self.put_file(&file.source, limits.max_file_bytes)?;
            entries.push(crate::tree::Entry {
                path: file.path,
                size,
                hash,
            });
        }
        let manifest = Manifest::new(entries, limits)?;
        self.put_bytes(&manifest.encode())?;
        Ok(manifest)
    }

    /// The manifest of the stored tree `hash`, verified and parsed.
    ///
    /// # Errors
    /// Missing, corrupt, or not a manifest within `limits`.
    pub fn manifest(&self, hash: &ContentHash, limits: &Limits) -> Result<Manifest, StoreError> {
        let bytes = self.read(hash, limits.max_manifest_bytes())?;
        Ok(Manifest::parse(&bytes, limits)?)
    }

    /// Writes the stored tree `hash` out as the new directory `to`: built
    /// beside it under a temporary name and renamed into place only when
    /// every file is written and verified.
    ///
    /// # Errors
    /// `to` exists, a blob is missing or corrupt, or the file system failed.
    pub fn materialize(
        &self,
        hash: &ContentHash,
        to: &Path,
        limits: &Limits,
    ) -> Result<Manifest, StoreError> {
        if to.exists() {
            return Err(StoreError::DestinationExists(to.to_owned()));
        }
        let manifest = self.manifest(hash, limits)?;
        let name = to
            .file_name()
            .map_or_else(|| "tree".into(), |n| n.to_string_lossy().into_owned());
        let parent = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let building = parent.join(format!(
            ".{name}.partial-{}-{}",
            std::process::id(),
            self.next_temporary.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            std::fs::create_dir(&building).map_err(io(&building))?;
            for entry in manifest.entries() {
                let file = building.join(&entry.path);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(io(dir))?;
                }
                let actual = self
                    .size(&entry.hash)
                    .ok_or(StoreError::Missing(entry.hash))?;
                if actual != entry.size {
                    return Err(StoreError::SizeMismatch {
                        hash: entry.hash,
                        expected: entry.size,
                        actual,
                    });
                }
                self.copy_out(&entry.hash, &file)?;
            }
            std::fs::rename(&building, to).map_err(io(to))
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&building);
        }
        result.map(|()| manifest)
    }

    /// Keeps `hash` (and, for a tree, its files) through garbage collection
    /// under `name`.
    ///
    /// # Errors
    /// A bad name, or the file system failed.
    pub fn pin(&self, name: &str, hash: &ContentHash) -> Result<(), StoreError> {
        let path = self.pin_path(name)?;
        let (mut temporary, mut file) = self.temporary()?;
        file.write_all(hash.to_string().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io(&path))?;
        let from = temporary.0.take().unwrap_or_default();
        if let Err(e) = std::fs::rename(&from, &path) {
            let _ = std::fs::remove_file(&from);
            return Err(StoreError::Io { path, source: e });
        }
        sync_dir(&self.root.join("pins"))
    }

    /// Drops the pin `name` (its content goes at the next collection unless
    /// another pin reaches it).
    ///
    /// # Errors
    /// A bad name, or the file system failed.
    pub fn unpin(&self, name: &str) -> Result<(), StoreError> {
        let path = self.pin_path(name)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }

    fn pin_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        let plain = !name.is_empty()
            && name.len() <= 100
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain {
            return Err(StoreError::BadPinName(name.chars().take(100).collect()));
        }
        Ok(self.root.join("pins").join(name))
    }

    /// The pinned hashes by name.
    ///
    /// # Errors
    /// The pins directory cannot be read.
    pub fn pins(&self) -> Result<Vec<(String, ContentHash)>, StoreError> {
        let dir = self.root.join("pins");
        let mut out = Vec::new();
        for item in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let item = item.map_err(io(&dir))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(item.path()).unwrap_or_default();
            if let Ok(hash) = text.trim().parse() {
                out.push((name, hash));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes every blob no pin reaches (a pinned tree reaches its files)
    /// that is older than `grace`, and temporary files older than an hour.
    /// The grace period protects writes in progress: `put_dir` stores a
    /// tree's files before its manifest, and the caller pins it after.
    ///
    /// # Errors
    /// The file system failed, or a pinned tree's manifest cannot be read
    /// (then nothing is removed: its files cannot be told apart).
    pub fn collect_garbage(
        &self,
        limits: &Limits,
        grace: std::time::Duration,
    ) -> Result<GcReport, StoreError> {
        let mut keep = BTreeSet::new();
        for (_, hash) in self.pins()? {
            keep.insert(hash);
            match self.manifest(&hash, limits) {
                Ok(manifest) => keep.extend(manifest.entries().iter().map(|e| e.hash)),
                // A pinned blob that is not a tree, or is not here.
                Err(StoreError::Tree(_) | StoreError::Missing(_) | StoreError::TooLarge { .. }) => {
                }
                Err(e) => return Err(e),
            }
        }
        let mut report = GcReport::default();
        let blobs = self.root.join("blobs");
        for shard in std::fs::read_dir(&blobs).map_err(io(&blobs))? {
            let shard = shard.map_err(io(&blobs))?.path();
            let Ok(items) = std::fs::read_dir(&shard) else {
                continue;
            };
            for item in items.flatten() {
                let name = item.file_name().to_string_lossy().into_owned();
                let young = item
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_none_or(|age| age < grace);
                match name.parse::<ContentHash>() {
                    Ok(hash) if keep.contains(&hash) || young => report.kept += 1,
                    _ => {
                        let size = item.metadata().map_or(0, |m| m.len());
                        if std::fs::remove_file(item.path()).is_ok() {
                            report.removed += 1;
                            report.bytes_freed += size;
                        }
                    }
                }
            }
        }
        let tmp = self.root.join("tmp");
        let hour = std::time::Duration::from_secs(3600);
        for item in std::fs::read_dir(&tmp).map_err(io(&tmp))?.flatten() {
            let old = item
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > hour);
            if old {
                let _ = std::fs::remove_file(item.path());
            }
        }
        Ok(report)
    }
}

/// A temporary file of the store, removed when dropped unless committed
/// (a failed or abandoned write leaves nothing behind).
struct Temporary(Option<PathBuf>);

impl Temporary {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Makes renames into `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}
