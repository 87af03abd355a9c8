//! Signing keys: from an environment variable, a file, an encrypted JSON
//! keystore (Web3 secret storage, scrypt) or a BIP-39 mnemonic; and the
//! keystore directory that `pond wallet` manages (`~/.pond/keystores`).
//!
//! Key material never reaches a log, an error message or standard output;
//! keystore files are written with mode 0600 in a directory with mode 0700.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};

use crate::private_file::set_mode;
use alloy_signer_local::{
    coins_bip39::English, LocalSignerError, MnemonicBuilder, PrivateKeySigner,
};

/// Why a key could not be loaded or stored. Never holds key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The environment variable that should hold the key is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// A key file or keystore cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a 32-byte hex private key.
    #[error("the private key from {0} is not 32 bytes of hex")]
    InvalidKey(String),
    /// The mnemonic or derivation index is not valid.
    #[error("the mnemonic from {0} is not a valid BIP-39 phrase, or the index is out of range")]
    InvalidMnemonic(String),
    /// No keystore of that name.
    #[error("no keystore named {name:?} in {}; `pond wallet list` shows the ones there", dir.display())]
    NoSuchKeystore {
        /// The name asked for.
        name: String,
        /// The keystore directory.
        dir: PathBuf,
    },
    /// A keystore of that name exists already.
    #[error("a keystore named {name:?} already exists in {}", dir.display())]
    KeystoreExists {
        /// The name.
        name: String,
        /// The keystore directory.
        dir: PathBuf,
    },
    /// A keystore name that is not a plain file name.
    #[error("{0:?} is not a keystore name: use letters, digits, '-', '_' and '.'")]
    BadName(String),
    /// The password does not open the keystore.
    #[error("wrong password for keystore {}", .0.display())]
    WrongPassword(PathBuf),
    /// The keystore file is not a valid keystore.
    #[error("{} is not a valid keystore: {reason}", path.display())]
    BadKeystore {
        /// The file.
        path: PathBuf,
        /// What is wrong (no key material).
        reason: String,
    },
}

/// Where a signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A hex private key in this environment variable.
    Env(String),
    /// A hex private key in this file (first line).
    File(PathBuf),
    /// An encrypted JSON keystore file.
    Keystore(PathBuf),
    /// A BIP-39 mnemonic in this file, and the derivation index
    /// (`m/44'/60'/0'/0/index`).
    Mnemonic {
        /// The file holding the phrase.
        file: PathBuf,
        /// The account index.
        index: u32,
    },
}

impl KeySource {
    /// Whether loading this key needs a password.
    #[must_use]
    pub fn needs_password(&self) -> bool {
        matches!(self, Self::Keystore(_))
    }

    /// Loads the signer; `password` opens a keystore (ignored otherwise).
    ///
    /// # Errors
    /// The key cannot be read, is malformed, or the password is wrong.
    pub fn load(&self, password: Option<&str>) -> Result<PrivateKeySigner, KeyError> {
        match self {
            Self::Env(var) => {
                let text = std::env::var(var).map_err(|_| KeyError::MissingEnv(var.clone()))?;
                parse_private_key(&text, &format!("${var}"))
            }
            Self::File(path) => {
                let text = read(path)?;
                parse_private_key(&text, &path.display().to_string())
            }
            Self::Keystore(path) => decrypt(path, password.unwrap_or_default()),
            Self::Mnemonic { file, index } => {
                let phrase = read(file)?;
                let invalid = || KeyError::InvalidMnemonic(file.display().to_string());
                MnemonicBuilder::<English>::default()
                    .phrase(phrase.trim())
                    .index(*index)
                    .map_err(|_| invalid())?
                    .build()
                    .map_err(|_| invalid())
            }
        }
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Parses a hex private key (with or without `0x`, surrounding
/// whitespace ignored); `origin` names where it came from in errors.
///
/// # Errors
/// Not 32 bytes of hex, or not a valid secp256k1 scalar.
pub fn parse_private_key(text: &str, origin: &str) -> Result<PrivateKeySigner, KeyError> {
    let line = text.lines().next().unwrap_or_default().trim();
    let hex = line.strip_prefix("0x").unwrap_or(line);
    let invalid = || KeyError::InvalidKey(origin.to_owned());
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let bytes: B256 = hex.parse().map_err(|_| invalid())?;
    PrivateKeySigner::from_bytes(&bytes).map_err(|_| invalid())
}

fn decrypt(path: &Path, password: &str) -> Result<PrivateKeySigner, KeyError> {
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|error| match error {
        LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::MacMismatch) => {
            KeyError::WrongPassword(path.to_owned())
        }
        LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::StdIo(e)) => KeyError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e),
        },
        _ => KeyError::BadKeystore {
            path: path.to_owned(),
            reason: "cannot be decoded as Web3 secret storage".to_owned(),
        },
    })
}

/// The directory of named keystores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreDir {
    dir: PathBuf,
}

/// One keystore in a [`KeystoreDir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreEntry {
    /// Its name (the file name).
    pub name: String,
    /// Its address, read from the file without decrypting it.
    pub address: Option<Address>,
    /// The file.
    pub path: PathBuf,
}

impl KeystoreDir {
    /// The keystores in `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default directory: `$POND_KEYSTORE_DIR`, else
    /// `$HOME/.pond/keystores`.
    #[must_use]
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("POND_KEYSTORE_DIR") {
            return dir.into();
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".pond/keystores")
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The file of keystore `name`.
    ///
    /// # Errors
    /// `name` is not a plain file name.
    pub fn file(&self, name: &str) -> Result<PathBuf, KeyError> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain {
            return Err(KeyError::BadName(name.to_owned()));
        }
        Ok(self.dir.join(name))
    }

    /// The keystore source of `name`, which must exist.
    ///
    /// # Errors
    /// A bad name, or no such keystore.
    pub fn source(&self, name: &str) -> Result<KeySource, KeyError> {
        let path = self.file(name)?;
        if !path.is_file() {
            return Err(KeyError::NoSuchKeystore {
                name: name.to_owned(),
                dir: self.dir.clone(),
            });
        }
        Ok(KeySource::Keystore(path))
    }

    /// Encrypts `signer` with `password` into a new keystore `name`.
    ///
    /// # Errors
    /// A bad or taken name, or the file cannot be written.
    pub fn store(
        &self,
        name: &str,
        signer: &PrivateKeySigner,
        password: &str,
    ) -> Result<PathBuf, KeyError> {
        let path = self.file(name)?;
        if path.exists() {
            return Err(KeyError::KeystoreExists {
                name: name.to_owned(),
                dir: self.dir.clone(),
            });
        }
        self.create_private_dir()?;
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        PrivateKeySigner::encrypt_keystore(
            &self.dir,
            &mut rand::thread_rng(),
            signer.to_bytes(),
            password,
            Some(name),
        )
        .map_err(|error| match error {
            LocalSignerError::IoError(e) => io(e),
            LocalSignerError::EthKeystoreError(eth_keystore::KeystoreError::StdIo(e)) => {
                io(std::io::Error::other(e))
            }
            _ => KeyError::BadKeystore {
                path: path.clone(),
                reason: "cannot be encrypted".to_owned(),
            },
        })?;
        set_mode(&path, 0o600).map_err(io)?;
        Ok(path)
    }

    /// Every keystore, by name.
    ///
    /// # Errors
    /// The directory exists but cannot be read.
    pub fn list(&self) -> Result<Vec<KeystoreEntry>, KeyError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut found: Vec<KeystoreEntry> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .map(|e| KeystoreEntry {
                name: e.file_name().to_string_lossy().into_owned(),
                address: keystore_address(&e.path()),
                path: e.path(),
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    fn create_private_dir(&self) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: self.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        set_mode(&self.dir, 0o700).map_err(io)
    }
}

/// The address a keystore file records, if it records one (read without
/// decrypting; trusted only for display).
fn keystore_address(path: &Path) -> Option<Address> {
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find("\"address\"")?;
    let rest = &text[at + "\"address\"".len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    let hex = &rest[start..end];
    hex.strip_prefix("0x").unwrap_or(hex).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Foundry's and Hardhat's test mnemonic and its first two accounts.
    const MNEMONIC: &str = "test test test test test test test test test test test junk";

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pond-keys-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_mnemonic_derives_the_well_known_accounts() {
        let dir = temp_dir("mnemonic");
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("phrase");
        std::fs::write(&file, format!("{MNEMONIC}\n")).expect("written");
        let at = |index| {
            KeySource::Mnemonic {
                file: file.clone(),
                index,
            }
            .load(None)
            .expect("derives")
            .address()
        };
        assert_eq!(
            at(0),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .expect("address")
        );
        assert_eq!(
            at(1),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                .parse::<Address>()
                .expect("address")
        );
        std::fs::write(&file, "not a mnemonic at all").expect("written");
        let bad = KeySource::Mnemonic { file, index: 0 }
            .load(None)
            .unwrap_err();
        assert!(matches!(bad, KeyError::InvalidMnemonic(_)), "{bad}");
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }

    #[test]
    fn private_keys_parse_with_or_without_0x_and_errors_hold_no_key() {
        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let signer = parse_private_key(&format!("0x{key}\n"), "test").expect("parses");
        assert_eq!(
            signer.address(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .expect("address")
        );
        assert_eq!(
            parse_private_key(key, "t").expect("parses").address(),
            signer.address()
        );
        let short = &key[..63];
        let error = parse_private_key(short, "$KEY").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the private key from $KEY is not 32 bytes of hex"
        );
        assert!(!format!("{error:?}").contains(short));
        assert!(parse_private_key(&"0".repeat(64), "zero").is_err());
        let missing = KeySource::Env("POND_TEST_NO_SUCH_VARIABLE".into()).load(None);
        assert!(matches!(missing, Err(KeyError::MissingEnv(_))));
    }

    #[test]
    fn keystores_round_trip_are_private_and_refuse_a_wrong_password() {
        let dir = temp_dir("store");
        let keystores = KeystoreDir::new(&dir);
        assert_eq!(keystores.list().expect("empty"), Vec::new());
        let signer = PrivateKeySigner::random();
        let path = keystores
            .store("alice", &signer, "correct horse")
            .expect("stored");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        let text = std::fs::read_to_string(&path).expect("keystore");
        assert!(
            !text.contains(&signer.to_bytes().to_string()[2..]),
            "plaintext key in file"
        );
        let source = keystores.source("alice").expect("exists");
        let loaded = source.load(Some("correct horse")).expect("opens");
        assert_eq!(loaded.address(), signer.address());
        assert!(matches!(
            source.load(Some("wrong")),
            Err(KeyError::WrongPassword(_))
        ));
        let listed = keystores.list().expect("listed");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "alice");
        assert_eq!(listed[0].address, Some(signer.address()));
        assert!(matches!(
            keystores.store("alice", &signer, "x"),
            Err(KeyError::KeystoreExists { .. })
        ));
        for bad in ["", "../evil", ".hidden", "a/b", "x y"] {
            assert!(
                matches!(keystores.file(bad), Err(KeyError::BadName(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            keystores.source("bob"),
            Err(KeyError::NoSuchKeystore { .. })
        ));
        std::fs::write(dir.join("junk"), "{}").expect("junk");
        assert!(matches!(
            KeySource::Keystore(dir.join("junk")).load(Some("x")),
            Err(KeyError::BadKeystore { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
