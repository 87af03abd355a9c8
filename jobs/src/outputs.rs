//! A run's output directory: built under a temporary name beside its
//! destination and renamed into place only when the run succeeded, so a
//! failed run leaves nothing behind and a finished one is never partial.

use pond_store::tree::{Entry, Limits, TreeError};
use pond_store::{ContentHash, Manifest};
use std::path::{Path, PathBuf};

/// Why an output directory could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination already exists (outputs never overwrite anything).
    #[error("{0} already exists: give a new directory for the outputs")]
    Exists(PathBuf),
    /// The outputs do not form a valid tree.
    #[error("the outputs are not a valid tree: {0}")]
    Tree(#[from] TreeError),
    /// Reading what a container wrote failed (a link, a special file…).
    #[error("the outputs: {0}")]
    Walk(#[from] pond_store::walk::WalkError),
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
}

pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An output directory being built: a fresh temporary directory beside
/// its destination, renamed into place by [`Partial::finish`] and removed
/// if dropped before that (a failed run leaves nothing).
#[derive(Debug)]
pub struct Partial {
    dir: Option<PathBuf>,
    to: PathBuf,
}

impl Partial {
    /// Creates the temporary directory for `to`; refuses when `to` exists.
    /// Each call gets a directory of its own, so two runs bound for the
    /// same destination never share or remove each other's.
    ///
    /// # Errors
    /// See [`OutputError`].
    pub fn begin(to: &Path) -> Result<Self, OutputError> {
        if to.exists() {
            return Err(OutputError::Exists(to.to_owned()));
        }
        let name = to.file_name().unwrap_or_default().to_string_lossy();
        let parent = match to.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io_at(&parent))?;
        let dir = tempfile_in(&parent, &format!(".{name}.partial-"))?;
        Ok(Self {
            dir: Some(dir),
            to: to.to_owned(),
        })
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the finished directory into place, never over anything
    /// (`RENAME_NOREPLACE`: a destination created meanwhile wins, and this
    /// one is removed).
    ///
    /// # Errors
    /// See [`OutputError`].
    pub fn finish(mut self) -> Result<(), OutputError> {
        let dir = self.dir.take().unwrap_or_default();
        let result = rename_no_replace(&dir, &self.to);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A new empty directory in `parent` named `prefix` and a unique suffix.
fn tempfile_in(parent: &Path, prefix: &str) -> Result<PathBuf, OutputError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!("{prefix}{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_at(&dir)(e)),
        }
    }
}

fn rename_no_replace(from: &Path, to: &Path) -> Result<(), OutputError> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| OutputError::Io {
            path: p.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path"),
        })
    };
    let (source, target) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths for the call's duration.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::AlreadyExists {
        return Err(OutputError::Exists(to.to_owned()));
    }
    Err(io_at(to)(error))
}

/// Output files held in memory, sorted by path: what a WASM job wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    files: Vec<(String, Vec<u8>)>,
}

impl Outputs {
    /// The files given, in any order.
    pub fn new(mut files: Vec<(String, Vec<u8>)>) -> Self {
        files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Self { files }
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// The content of `path`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.as_slice())
    }

    /// Their tree.
    ///
    /// # Errors
    /// A path that is not a valid tree path, or too many files.
    pub fn manifest(&self) -> Result<Manifest, TreeError> {
        let entries = self
            .files
            .iter()
            .map(|(path, content)| Entry {
                path: path.clone(),
                size: content.len() as u64,
                hash: ContentHash::of(content),
            })
            .collect();
        Manifest::new(entries, &Limits::default())
    }

    /// Writes them to the new directory `to` (atomically, see the module).
    ///
    /// # Errors
    /// See [`OutputError`]; nothing is left at `to` on error.
    pub fn write_to(&self, to: &Path) -> Result<Manifest, OutputError> {
        let manifest = self.manifest()?;
        let partial = Partial::begin(to)?;
        for (path, content) in &self.files {
            let file = partial.path().join(path);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(io_at(dir))?;
            }
            std::fs::write(&file, content).map_err(io_at(&file))?;
        }
        partial.finish()?;
        Ok(manifest)
    }
}
