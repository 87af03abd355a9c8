//! The one hash Pond's off-chain data is named by: SHA-256, written as
//! `0x` and 64 lowercase hex digits (the form a `bytes32` takes on chain).

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest naming a blob; a tree is named by its manifest's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 bytes, as they go on chain.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits without the `0x` (file and URL names).
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", self.hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not 64 hex digits (with or without `0x`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a content hash: expected 64 hex digits, optionally after 0x")]
pub struct BadHash(pub String);

impl FromStr for ContentHash {
    type Err = BadHash;

    fn from_str(s: &str) -> Result<Self, BadHash> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        if digits.len() != 64 || hex::decode_to_slice(digits, &mut out).is_err() {
            let shown: String = s.chars().take(80).collect();
            return Err(BadHash(shown));
        }
        Ok(Self(out))
    }
}

/// SHA-256 computed while bytes stream past, with their count.
#[derive(Default)]
pub struct StreamHasher {
    hasher: Sha256,
    bytes: u64,
}

impl StreamHasher {
    /// Adds `chunk`.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// How many bytes went in so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing went in yet.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The hash of everything that went in.
    pub fn finish(self) -> ContentHash {
        ContentHash(self.hasher.finalize().into())
    }
}

/// Why [`copy_hashing`] stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the source failed.
    Read(std::io::Error),
    /// Writing the copy failed.
    Write(std::io::Error),
    /// More than the limit arrived (the count so far).
    TooLarge(u64),
}

/// Streams `from` to its end into `to` (when given), hashing every byte,
/// and stops as soon as more than `max` bytes have arrived. Returns the
/// hash and the size.
pub(crate) fn copy_hashing(
    from: &mut impl std::io::Read,
    mut to: Option<&mut dyn std::io::Write>,
    max: u64,
) -> Result<(ContentHash, u64), CopyError> {
    let mut hasher = StreamHasher::default();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        hasher.update(&buffer[..n]);
        if hasher.len() > max {
            return Err(CopyError::TooLarge(hasher.len()));
        }
        if let Some(to) = to.as_mut() {
            to.write_all(&buffer[..n]).map_err(CopyError::Write)?;
        }
    }
    let size = hasher.len();
    Ok((hasher.finish(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_the_on_chain_form() {
        let empty = ContentHash::of(b"");
        assert_eq!(
            empty.to_string(),
            "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(empty.to_string().parse::<ContentHash>(), Ok(empty));
        assert_eq!(empty.hex().parse::<ContentHash>(), Ok(empty));
        for bad in [
            "",
            "0x",
            "0x12",
            &"g".repeat(64),
            &format!("0x{}", "a".repeat(65)),
        ] {
            assert!(bad.parse::<ContentHash>().is_err(), "{bad}");
        }
    }

    #[test]
    fn streaming_gives_the_same_hash() {
        let mut h = StreamHasher::default();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.len(), 11);
        assert_eq!(h.finish(), ContentHash::of(b"hello world"));
    }
}
