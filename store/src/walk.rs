//! Reading a local directory as a tree: only regular files, no links, no
//! special files, names that are valid tree paths, within the limits.

use crate::hash::{copy_hashing, ContentHash, CopyError};
use crate::tree::{check_path, Entry, Limits, Manifest, TreeError};
use std::path::{Path, PathBuf};

/// Why a directory could not be read as a tree.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// The tree breaks a rule or a limit.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A symbolic link: it could point out of the tree, so none is followed.
    #[error("{0} is a symbolic link; trees hold regular files only (copy the file in instead)")]
    SymbolicLink(PathBuf),
    /// A device, socket or pipe.
    #[error("{0} is not a regular file or directory")]
    SpecialFile(PathBuf),
    /// A name that is not UTF-8.
    #[error("{0} has a name that is not UTF-8")]
    NotUtf8(PathBuf),
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        source: std::io::Error,
    },
}

pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> WalkError + '_ {
    move |source| WalkError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One regular file found under the directory.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Its tree path.
    pub path: String,
    /// Where it is on disk.
    pub source: PathBuf,
    /// Its size when listed.
    pub size: u64,
}

/// Lists the regular files under `dir`, sorted by tree path, refusing links,
/// special files and anything over `limits` before reading any content.
///
/// # Errors
/// See [`WalkError`].
pub fn list_files(dir: &Path, limits: &Limits) -> Result<Vec<FoundFile>, WalkError> {
    let mut found = Vec::new();
    let mut total: u64 = 0;
    let mut pending = vec![(dir.to_owned(), String::new(), 0usize)];
    while let Some((at, prefix, depth)) = pending.pop() {
        for item in std::fs::read_dir(&at).map_err(io_at(&at))? {
            let item = item.map_err(io_at(&at))?;
            let source = item.path();
            let name = item
                .file_name()
                .into_string()
                .map_err(|_| WalkError::NotUtf8(source.clone()))?;
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // A directory entry's type is the link's own, never its
            // target's: a link is seen as what it is.
            let kind = item.file_type().map_err(io_at(&source))?;
            if kind.is_symlink() {
                return Err(WalkError::SymbolicLink(source));
            }
            if kind.is_dir() {
                if depth + 1 >= limits.max_depth {
                    check_path(&format!("{path}/x"), limits)?;
                }
                pending.push((source, path, depth + 1));
                continue;
            }
            if !kind.is_file() {
                return Err(WalkError::SpecialFile(source));
            }
            check_path(&path, limits)?;
            let size = std::fs::symlink_metadata(&source)
                .map_err(io_at(&source))?
                .len();
            if found.len() >= limits.max_files {
                return Err(TreeError::TooManyFiles {
                    limit: limits.max_files,
                }
                .into());
            }
            if size > limits.max_file_bytes {
                return Err(TreeError::FileTooLarge {
                    path,
                    size,
                    limit: limits.max_file_bytes,
                }
                .into());
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                return Err(TreeError::TreeTooLarge {
                    limit: limits.max_total_bytes,
                }
                .into());
            }
            found.push(FoundFile { path, source, size });
        }
    }
    found.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(found)
}

/// Hashes a file by streaming it, refusing more than `max` bytes (a file
/// that grows while it is read).
///
/// # Errors
/// The file cannot be read or grew past `max`.
pub fn hash_file(path: &Path, max: u64) -> Result<(ContentHash, u64), WalkError> {
    let mut file = open_regular(path).map_err(|e| opening(path, e))?;
    copy_hashing(&mut file, None, max).map_err(|e| match e {
        CopyError::Read(e) | CopyError::Write(e) => io_at(path)(e),
        CopyError::TooLarge(size) => TreeError::FileTooLarge {
            path: path.display().to_string(),
            size,
            limit: max,
        }
        .into(),
    })
}

/// The error of [`open_regular`] as a [`WalkError`]: a link is named so.
pub(crate) fn opening(path: &Path, e: std::io::Error) -> WalkError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => WalkError::SymbolicLink(path.to_owned()),
        _ if e.kind() == std::io::ErrorKind::InvalidInput => {
            WalkError::SpecialFile(path.to_owned())
        }
        _ => io_at(path)(e),
    }
}

/// Opens `path` for reading only if it is a regular file, without following
/// a symbolic link in its last component (one swapped in after the tree was
/// listed is refused, and a pipe cannot block the read).
///
/// # Errors
/// `ELOOP` for a link, `InvalidInput` for anything but a regular file.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// The manifest of the directory `dir` (what `pond job pack` prints),
/// reading every file once.
///
/// # Errors
/// See [`WalkError`].
pub fn manifest_of_dir(dir: &Path, limits: &Limits) -> Result<Manifest, WalkError> {
    let mut entries = Vec::new();
    for file in list_files(dir, limits)? {
        let (hash, size) = hash_file(&file.source, limits.max_file_bytes)?;
        entries.push(Entry {
            path: file.path,
            size,
            hash,
        });
    }
    Ok(Manifest::new(entries, limits)?)
}
