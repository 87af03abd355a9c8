//! Commit-reveal salts, kept on disk before the commitment is sent, so a
//! provider (or validator) that crashes between commit and reveal still
//! reveals: one file per deal result or per case round's vote (mode 0600,
//! directory 0700), written once and reused. A vote's salt is per round:
//! reusing a revealed salt would let others recognise a repeated vote
//! before it is revealed.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use rand::RngCore;

use crate::private_file::set_mode;

/// A salt that cannot be stored or found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaltError {
    /// Reading or writing the salt file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No salt was stored for this commitment.
    #[error("no salt stored for {what} in {}: reveal with --salt", dir.display())]
    Missing {
        /// The commitment (`deal 3`, `case 2 round 1`).
        what: String,
        /// The salt directory.
        dir: PathBuf,
    },
    /// The file does not hold a salt.
    #[error("{} does not hold a 32-byte hex salt", .0.display())]
    Malformed(PathBuf),
}

/// What a salt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaltFor {
    /// A provider's result in a deal.
    Result {
        /// The deal.
        deal: U256,
    },
    /// A validator's vote in a case's round.
    Vote {
        /// The case.
        case: U256,
        /// The round.
        round: u8,
    },
}

impl SaltFor {
    fn describe(self) -> String {
        match self {
            Self::Result { deal } => format!("deal {deal}"),
            Self::Vote { case, round } => format!("case {case} round {round}"),
        }
    }

    fn file_name(self) -> String {
        match self {
            Self::Result { deal } => format!("deal-{deal}"),
            Self::Vote { case, round } => format!("case-{case}-round-{round}"),
        }
    }
}

/// Salts by commitment, for one deployment.
#[derive(Clone, Debug)]
pub struct SaltStore {
    dir: PathBuf,
    scope: String,
}

impl SaltStore {
    /// Salts in `dir` for the deal book at `deals` on chain `chain_id`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>, chain_id: u64, deals: Address) -> Self {
        Self {
            dir: dir.into(),
            scope: format!("{chain_id}-{deals:#x}"),
        }
    }

    /// `$HOME/.pond/salts`.
    #[must_use]
    pub fn default_dir() -> PathBuf {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".pond/salts")
    }

    fn file(&self, what: SaltFor) -> PathBuf {
        self.dir
            .join(format!("{}-{}", self.scope, what.file_name()))
    }

    /// The salt for `what`: the stored one, or a new random one stored
    /// (durably) before it is returned.
    ///
    /// # Errors
    /// The file cannot be read or written.
    pub fn salt_for_commit(&self, what: SaltFor) -> Result<B256, SaltError> {
        if let Some(salt) = self.read(what)? {
            return Ok(salt);
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SaltError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        set_mode(&self.dir, 0o700).map_err(io(&self.dir))?;
        let mut salt = B256::ZERO;
        rand::thread_rng().fill_bytes(salt.as_mut_slice());
        let path = self.file(what);
        let temporary = path.with_extension("partial");
        std::fs::write(&temporary, format!("{salt}\n")).map_err(io(&temporary))?;
        set_mode(&temporary, 0o600).map_err(io(&temporary))?;
        std::fs::File::open(&temporary)
            .and_then(|f| f.sync_all())
            .map_err(io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        Ok(salt)
    }

    /// The stored salt for `what`.
    ///
    /// # Errors
    /// None stored, or the file cannot be read.
    pub fn salt(&self, what: SaltFor) -> Result<B256, SaltError> {
        self.read(what)?.ok_or_else(|| SaltError::Missing {
            what: what.describe(),
            dir: self.dir.clone(),
        })
    }

    fn read(&self, what: SaltFor) -> Result<Option<B256>, SaltError> {
        let path = self.file(what);
        match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| SaltError::Malformed(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SaltError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deal_keeps_one_salt_and_other_deals_and_chains_get_their_own() {
        let dir = std::env::temp_dir().join(format!("pond-salts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SaltStore::new(&dir, 1, Address::repeat_byte(1));
        let deal = SaltFor::Result {
            deal: U256::from(7),
        };
        assert!(matches!(store.salt(deal), Err(SaltError::Missing { .. })));
        let first = store.salt_for_commit(deal).expect("stored");
        assert_eq!(store.salt_for_commit(deal).expect("again"), first);
        assert_eq!(store.salt(deal).expect("read"), first);
        let other = SaltFor::Result {
            deal: U256::from(8),
        };
        assert_ne!(store.salt_for_commit(other).expect("other"), first);
        let vote = |round| SaltFor::Vote {
            case: U256::from(7),
            round,
        };
        let round_one = store.salt_for_commit(vote(1)).expect("vote");
        assert_ne!(round_one, first);
        assert_ne!(
            store.salt_for_commit(vote(2)).expect("round two"),
            round_one
        );
        let other_chain = SaltStore::new(&dir, 2, Address::repeat_byte(1));
        assert_ne!(
            other_chain.salt_for_commit(deal).expect("other chain"),
            first
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.file(deal))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(store.file(deal), "junk").expect("written");
        assert!(matches!(store.salt(deal), Err(SaltError::Malformed(_))));
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
