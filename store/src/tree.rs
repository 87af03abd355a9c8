//! A tree's canonical manifest and hash (specified in `docs/jobs.md`).
//!
//! A manifest is UTF-8 text: the line `pond-tree-v1`, then one line per
//! regular file, `<sha256 hex> <size> <path>`, sorted by the path's bytes,
//! each ending in `\n`. A tree's hash is the SHA-256 of its manifest, so a
//! tree is stored as one more blob, and every file it lists is a blob too.
//! Only regular files count: no directories of their own, no links, no
//! permissions or times, so the same content always hashes the same.

use crate::hash::ContentHash;
use std::collections::BTreeSet;

/// The first line of every manifest.
pub const MANIFEST_HEADER: &str = "pond-tree-v1";

/// Bounds on what a tree may hold, checked before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files in one tree.
    pub max_files: usize,
    /// Bytes of one file.
    pub max_file_bytes: u64,
    /// Bytes of all files together.
    pub max_total_bytes: u64,
    /// Bytes of one path.
    pub max_path_bytes: usize,
    /// Components of one path.
    pub max_depth: usize,
}

impl Default for Limits {
    /// 100 000 files, 4 GiB per file, 16 GiB in all, 1 KiB paths, 32 levels.
    fn default() -> Self {
        Self {
            max_files: 100_000,
            max_file_bytes: 4 << 30,
            max_total_bytes: 16 << 30,
            max_path_bytes: 1024,
            max_depth: 32,
        }
    }
}

impl Limits {
    /// The largest manifest these limits allow (a bound for fetching one).
    pub fn max_manifest_bytes(&self) -> u64 {
        let line = 64 + 1 + 20 + 1 + self.max_path_bytes as u64 + 1;
        MANIFEST_HEADER.len() as u64 + 1 + line * self.max_files as u64
    }
}

/// Why a tree or a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The blob does not start with the manifest header.
    #[error("not a Pond tree manifest (it does not start with `{MANIFEST_HEADER}`)")]
    NotAManifest,
    /// A line is not `<sha256 hex> <size> <path>` in canonical form.
    #[error("manifest line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A path is not a plain relative path inside the tree.
    #[error("path `{path}` is refused: {reason}")]
    BadPath {
        /// The path, cut to 200 characters.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Paths are not sorted by their bytes, or one repeats.
    #[error("manifest paths are not strictly sorted at `{0}`")]
    Unsorted(String),
    /// A path is both a file and the directory of another file.
    #[error("`{0}` is both a file and a directory")]
    FileIsDirectory(String),
    /// More files than the limit.
    #[error("the tree has more than {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// One file is larger than the limit.
    #[error("`{path}` has {size} bytes, more than the limit of {limit}")]
    FileTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// All files together are larger than the limit.
    #[error("the tree holds more than {limit} bytes")]
    TreeTooLarge {
        /// The limit.
        limit: u64,
    },
}

/// One file of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, checked by [`check_path`].
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub hash: ContentHash,
}

/// A tree's files in canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    entries: Vec<Entry>,
}

impl Manifest {
    /// A manifest of `entries` in any order, checked against `limits`.
    ///
    /// # Errors
    /// A bad path, a repeated path, a file that is also a directory, or a
    /// limit exceeded.
    pub fn new(mut entries: Vec<Entry>, limits: &Limits) -> Result<Self, TreeError> {
        entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        Self::checked(entries, limits)
    }

    /// The one-file tree a module is (`name` is its file name).
    ///
    /// # Errors
    /// `name` is not a valid path.
    pub fn single(name: &str, size: u64, hash: ContentHash) -> Result<Self, TreeError> {
        Self::new(
            vec![Entry {
                path: name.to_owned(),
                size,
                hash,
            }],
            &Limits::default(),
        )
    }

    fn checked(entries: Vec<Entry>, limits: &Limits) -> Result<Self, TreeError> {
        if entries.len() > limits.max_files {
            return Err(TreeError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        let mut total: u64 = 0;
        let mut directories = BTreeSet::new();
        for (i, entry) in entries.iter().enumerate() {
            check_path(&entry.path, limits)?;
            if i > 0 && entries[i - 1].path.as_bytes() >= entry.path.as_bytes() {
                return Err(TreeError::Unsorted(cut(&entry.path)));
            }
            if entry.size > limits.max_file_bytes {
                return Err(TreeError::FileTooLarge {
                    path: cut(&entry.path),
                    size: entry.size,
                    limit: limits.max_file_bytes,
                });
            }
            total = total.saturating_add(entry.size);
            if total > limits.max_total_bytes {
                return Err(TreeError::TreeTooLarge {
                    limit: limits.max_total_bytes,
                });
            }
            let mut end = 0;
            while let Some(slash) = entry.path[end..].find('/') {
                end += slash;
                directories.insert(&entry.path[..end]);
                end += 1;
            }
        }
        if let Some(both) = entries
            .iter()
            .find(|e| directories.contains(e.path.as_str()))
        {
            return Err(TreeError::FileIsDirectory(cut(&both.path)));
        }
        Ok(Self { entries })
    }

    /// Parses a manifest, accepting only its canonical form (so one tree
    /// has one hash) within `limits`.
    ///
    /// # Errors
    /// Anything but a canonical manifest within the limits.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, TreeError> {
        let Some(body) = bytes
            .strip_prefix(MANIFEST_HEADER.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"\n"))
        else {
            return Err(TreeError::NotAManifest);
        };
        let text = std::str::from_utf8(body).map_err(|_| TreeError::BadLine {
            line: 0,
            reason: "not UTF-8".into(),
        })?;
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(TreeError::BadLine {
                line: text.lines().count() + 1,
                reason: "the last line does not end in a newline".into(),
            });
        }
        let mut entries = Vec::new();
        for (i, line) in text.split_terminator('\n').enumerate() {
            if entries.len() >= limits.max_files {
                return Err(TreeError::TooManyFiles {
                    limit: limits.max_files,
                });
            }
            entries.push(parse_line(line).map_err(|reason| TreeError::BadLine {
                line: i + 2,
                reason: reason.into(),
            })?);
        }
        let manifest = Self::checked(entries, limits)?;
        // One tree, one hash: whatever slipped past the line rules above,
        // only bytes that encode back identically are a manifest.
        if manifest.encode() != bytes {
            return Err(TreeError::BadLine {
                line: 0,
                reason: "not in canonical form".into(),
            });
        }
        Ok(manifest)
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(16 + self.entries.len() * 100);
        out.push_str(MANIFEST_HEADER);
        out.push('\n');
        for e in &self.entries {
            out.push_str(&e.hash.hex());
            out.push(' ');
            out.push_str(&e.size.to_string());
            out.push(' ');
            out.push_str(&e.path);
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The tree's hash: SHA-256 of [`Self::encode`].
    pub fn hash(&self) -> ContentHash {
        ContentHash::of(&self.encode())
    }

    /// The files, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The file at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_bytes().cmp(path.as_bytes()))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Bytes of all files together.
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

fn parse_line(line: &str) -> Result<Entry, &'static str> {
    let (hash, rest) = line
        .split_once(' ')
        .ok_or("expected `<sha256> <size> <path>`")?;
    let (size, path) = rest
        .split_once(' ')
        .ok_or("expected `<sha256> <size> <path>`")?;
    if hash.len() != 64
        || hash
            .bytes()
            .any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err("the hash is not 64 lowercase hex digits");
    }
    let canonical_size = (size == "0" || (!size.starts_with('0') && size.len() <= 20))
        && size.bytes().all(|b| b.is_ascii_digit());
    let size: u64 = match size.parse() {
        Ok(n) if canonical_size => n,
        _ => return Err("the size is not a decimal number without leading zeros"),
    };
    let hash = hash.parse().map_err(|_| "the hash is not hex")?;
    Ok(Entry {
        path: path.to_owned(),
        size,
        hash,
    })
}

/// Checks that `path` names a file inside a tree: relative, `/`-separated,
/// no empty, `.` or `..` component, no control character or backslash,
/// within the length and depth limits.
///
/// # Errors
/// [`TreeError::BadPath`] saying which rule failed.
pub fn check_path(path: &str, limits: &Limits) -> Result<(), TreeError> {
    let bad = |reason| {
        Err(TreeError::BadPath {
            path: cut(path),
            reason,
        })
    };
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.len() > limits.max_path_bytes {
        return bad("it is longer than the limit");
    }
    if path.starts_with('/') {
        return bad("it is absolute");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return bad("it holds a control character or a backslash");
    }
    let mut depth = 0;
    for component in path.split('/') {
        depth += 1;
        match component {
            "" => return bad("it has an empty component"),
            "." | ".." => return bad("it has a `.` or `..` component"),
            _ => {}
        }
    }
    if depth > limits.max_depth {
        return bad("it is nested deeper than the limit");
    }
    Ok(())
}

fn cut(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, content: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            size: content.len() as u64,
            hash: ContentHash::of(content),
        }
    }

    #[test]
    fn encoding_is_sorted_and_parses_back_to_the_same_hash() {
        let limits = Limits::default();
        let m = Manifest::new(
            vec![entry("b.txt", b"b"), entry("a/x", b"x"), entry("a-b", b"")],
            &limits,
        )
        .expect("manifest");
        let paths: Vec<_> = m.entries().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a-b", "a/x", "b.txt"], "byte order: '-' < '/'");
        let parsed = Manifest::parse(&m.encode(), &limits).expect("parses");
        assert_eq!(parsed.hash(), m.hash());
        assert_eq!(m.get("a/x").map(|e| e.size), Some(1));
        assert_eq!(m.get("a"), None);
    }

    #[test]
    fn only_the_canonical_form_parses() {
        let limits = Limits::default();
        let good = Manifest::new(vec![entry("a", b"1"), entry("b", b"2")], &limits)
            .expect("manifest")
            .encode();
        let text = String::from_utf8(good.clone()).expect("utf8");
        let h = ContentHash::of(b"1").hex();
        let variants = [
            text.replace("\nb", "\nB").replace(&h, &h.to_uppercase()),
            text.replace(" 1 a", " 01 a"),
            text.replace(" 1 a", " +1 a"),
            text.trim_end().to_owned(),
            text.replace("pond-tree-v1", "pond-tree-v2"),
            format!("{text}{h} 1 a\n"),
            text.replace(" 1 a\n", " 1 a\r\n"),
        ];
        for bad in variants {
            assert!(Manifest::parse(bad.as_bytes(), &limits).is_err(), "{bad:?}");
        }
        // Reordered lines are refused rather than sorted.
        let lines: Vec<&str> = text.lines().collect();
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        assert!(matches!(
            Manifest::parse(swapped.as_bytes(), &limits),
            Err(TreeError::Unsorted(_))
        ));
    }

    #[test]
    fn paths_that_escape_or_confuse_are_refused() {
        let limits = Limits::default();
        for path in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            ".",
            "a\\b",
            "a\nb",
            "a\0b",
        ] {
            assert!(check_path(path, &limits).is_err(), "{path:?}");
        }
        assert!(check_path("a/".repeat(40).trim_end_matches('/'), &limits).is_err());
        assert!(check_path(&"x".repeat(1025), &limits).is_err());
        for path in ["a", "a/b/c.txt", "..a", "a..", ".hidden", "ü/名"] {
            assert!(check_path(path, &limits).is_ok(), "{path:?}");
        }
        assert!(matches!(
            Manifest::new(vec![entry("a", b""), entry("a/b", b"")], &limits),
            Err(TreeError::FileIsDirectory(p)) if p == "a"
        ));
        assert!(matches!(
            Manifest::new(vec![entry("a", b""), entry("a", b"x")], &limits),
            Err(TreeError::Unsorted(_))
        ));
    }

    #[test]
    fn limits_bound_files_and_bytes() {
        let tight = Limits {
            max_files: 2,
            max_file_bytes: 3,
            max_total_bytes: 4,
            ..Limits::default()
        };
        let three = vec![entry("a", b""), entry("b", b""), entry("c", b"")];
        assert!(matches!(
            Manifest::new(three, &tight),
            Err(TreeError::TooManyFiles { limit: 2 })
        ));
        assert!(matches!(
            Manifest::new(vec![entry("a", b"1234")], &tight),
            Err(TreeError::FileTooLarge { .. })
        ));
        assert!(matches!(
            Manifest::new(vec![entry("a", b"123"), entry("b", b"45")], &tight),
            Err(TreeError::TreeTooLarge { limit: 4 })
        ));
        // A parsed manifest is bounded while it is read, not after.
        let many = Manifest::new(vec![entry("a", b""), entry("b", b"")], &Limits::default())
            .expect("manifest");
        let one_file = Limits {
            max_files: 1,
            ..Limits::default()
        };
        assert!(matches!(
            Manifest::parse(&many.encode(), &one_file),
            Err(TreeError::TooManyFiles { limit: 1 })
        ));
    }
}
