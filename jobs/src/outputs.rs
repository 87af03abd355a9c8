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

/// The temporary directory outputs bound for `to` are built in.
pub fn partial_dir(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// Creates the empty temporary directory for `to`, refusing when `to`
/// exists. A leftover temporary directory of an interrupted run is removed.
///
/// # Errors
/// See [`OutputError`].
pub fn begin(to: &Path) -> Result<PathBuf, OutputError> {
    if to.exists() {
        return Err(OutputError::Exists(to.to_owned()));
    }
    let partial = partial_dir(to);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_at(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io_at(&partial))?;
    Ok(partial)
}

/// Renames the finished temporary directory into place.
///
/// # Errors
/// See [`OutputError`].
pub fn finish(to: &Path) -> Result<(), OutputError> {
    let partial = partial_dir(to);
    std::fs::rename(&partial, to).map_err(io_at(to))
}

/// Removes the temporary directory of a failed run.
pub fn abandon(to: &Path) {
    let _ = std::fs::remove_dir_all(partial_dir(to));
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
        let partial = begin(to)?;
        let written = self.files.iter().try_for_each(|(path, content)| {
            let file = partial.join(path);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(io_at(dir))?;
            }
            std::fs::write(&file, content).map_err(io_at(&file))
        });
        if let Err(e) = written.and_then(|()| finish(to)) {
            abandon(to);
            return Err(e);
        }
        Ok(manifest)
    }
}
