//! Where data comes from: `pond://<hash>` (the configured stores),
//! `file://<path>` (a local directory, or a file for a one-file tree) and
//! `http(s)://…/blobs/<hash>` (a store server). Whatever the source, what
//! arrives must hash to the hash asked for.

use crate::hash::ContentHash;
use crate::local::{LocalStore, StoreError};
use crate::remote::{RemoteError, RemoteStore};
use crate::tree::{Limits, Manifest};
use crate::walk::{hash_file, manifest_of_dir, WalkError};
use std::path::PathBuf;
use std::sync::Arc;

/// A parsed data URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataUri {
    /// `pond://<hash>`: look in the local store, then the configured servers.
    Pond(ContentHash),
    /// `file://<absolute path>`.
    File(PathBuf),
    /// `http(s)://<base>/blobs/<hash>`: a store server.
    Store {
        /// The server's base URL.
        base: String,
        /// The hash the URI names.
        hash: ContentHash,
    },
}

/// Why data could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Not a URI this resolver understands.
    #[error("`{0}` is not a data URI: use pond://<hash>, file:///<path> or http(s)://<store>/blobs/<hash>")]
    BadUri(String),
    /// The URI names a different hash than the one required.
    #[error("the URI names {named} but {required} is required")]
    NamesAnotherHash {
        /// In the URI.
        named: ContentHash,
        /// Required (on chain).
        required: ContentHash,
    },
    /// The data arrived but hashes to something else.
    #[error("{uri} holds {actual}, not the required {required}")]
    WrongContent {
        /// The URI.
        uri: String,
        /// What it hashes to.
        actual: ContentHash,
        /// What is required.
        required: ContentHash,
    },
    /// `file://` is turned off for this resolver (URIs from the chain).
    #[error("file:// URIs are not accepted here (they would name this machine's files)")]
    FileUriRefused,
    /// No configured store has it.
    #[error("no store has {0} (tried the local store and {1} server(s))")]
    NotFound(ContentHash, usize),
    /// The local store failed or refused it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server failed or refused it.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

impl std::str::FromStr for DataUri {
    type Err = ResolveError;

    fn from_str(s: &str) -> Result<Self, ResolveError> {
        let bad = || ResolveError::BadUri(s.chars().take(200).collect());
        if let Some(hash) = s.strip_prefix("pond://") {
            return hash.parse().map(Self::Pond).map_err(|_| bad());
        }
        let url = url::Url::parse(s).map_err(|_| bad())?;
        match url.scheme() {
            "file" => url.to_file_path().map(Self::File).map_err(|()| bad()),
            "http" | "https" => {
                let path = url.path();
                let (prefix, hash) = path.rsplit_once("/blobs/").ok_or_else(bad)?;
                let hash = hash.parse().map_err(|_| bad())?;
                let mut base = url.clone();
                base.set_path(&format!("{prefix}/"));
                base.set_query(None);
                base.set_fragment(None);
                Ok(Self::Store {
                    base: base.to_string(),
                    hash,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// Resolves data URIs into the local store.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Where fetched data is kept.
    pub local: Arc<LocalStore>,
    /// Servers asked for `pond://` URIs, in order.
    pub servers: Vec<RemoteStore>,
    /// Bounds on any tree fetched.
    pub limits: Limits,
    /// Whether `file://` URIs are resolved: yes for a person's own
    /// commands, never for URIs that come from the chain (they could name
    /// the provider's private files).
    pub allow_file_uris: bool,
}

impl Resolver {
    /// Makes the tree `required` (named by `uri`) available in the local
    /// store and returns its manifest. A `file://` URI naming a regular
    /// file stands for the one-file tree holding it as `single_name`.
    ///
    /// # Errors
    /// See [`ResolveError`]; nothing unverified is kept.
    pub async fn tree(
        &self,
        uri: &str,
        required: &ContentHash,
        single_name: &str,
    ) -> Result<Manifest, ResolveError> {
        match uri.parse::<DataUri>()? {
            DataUri::Pond(named) => {
                self.same(&named, required)?;
                self.fetch_from_anywhere(required, None).await
            }
            DataUri::Store { base, hash } => {
                self.same(&hash, required)?;
                let server = RemoteStore::new(&base, None)?;
                self.fetch_from_anywhere(required, Some(server)).await
            }
            DataUri::File(_) if !self.allow_file_uris => Err(ResolveError::FileUriRefused),
            DataUri::File(path) => {
                let local = Arc::clone(&self.local);
                let limits = self.limits;
                let single = single_name.to_owned();
                let required = *required;
                let uri = uri.to_owned();
                tokio::task::spawn_blocking(move || {
                    // Hash first and store only a match, so a URI naming
                    // other local files keeps nothing of them.
                    let read = |path: &std::path::Path| -> Result<Manifest, StoreError> {
                        let meta = std::fs::metadata(path).map_err(|source| StoreError::Io {
                            path: path.to_owned(),
                            source,
                        })?;
                        if meta.is_dir() {
                            Ok(manifest_of_dir(path, &limits)?)
                        } else if meta.is_file() {
                            let (hash, size) = hash_file(path, limits.max_file_bytes)?;
                            Ok(Manifest::single(&single, size, hash)?)
                        } else {
                            Err(WalkError::SpecialFile(path.to_owned()).into())
                        }
                    };
                    let manifest = read(&path)?;
                    let wrong = |actual| ResolveError::WrongContent {
                        uri: uri.clone(),
                        actual,
                        required,
                    };
                    if manifest.hash() != required {
                        return Err(wrong(manifest.hash()));
                    }
                    let stored = if manifest.entries().len() == 1 && !path.is_dir() {
                        let (hash, size) = local.put_file(&path, limits.max_file_bytes)?;
                        let stored =
                            Manifest::single(&single, size, hash).map_err(StoreError::from)?;
                        local.put_bytes(&stored.encode())?;
                        stored
                    } else {
                        local.put_dir(&path, &limits)?
                    };
                    // The files may have changed between the two reads.
                    if stored.hash() != required {
                        return Err(wrong(stored.hash()));
                    }
                    Ok(stored)
                })
                .await
                .map_err(|e| StoreError::Stream(format!("the local read stopped: {e}")))?
            }
        }
    }

    fn same(&self, named: &ContentHash, required: &ContentHash) -> Result<(), ResolveError> {
        if named == required {
            Ok(())
        } else {
            Err(ResolveError::NamesAnotherHash {
                named: *named,
                required: *required,
            })
        }
    }

    async fn fetch_from_anywhere(
        &self,
        hash: &ContentHash,
        first: Option<RemoteStore>,
    ) -> Result<Manifest, ResolveError> {
        if let Ok(manifest) = self.local.manifest(hash, &self.limits) {
            if manifest
                .entries()
                .iter()
                .all(|e| self.local.contains(&e.hash))
            {
                return Ok(manifest);
            }
        }
        let mut last = None;
        for server in first.iter().chain(&self.servers) {
            match server.fetch_tree(&self.local, hash, &self.limits).await {
                Ok(manifest) => return Ok(manifest),
                Err(e) => last = Some(e),
            }
        }
        match last {
            // A refusal of content is worth more than "not found".
            Some(RemoteError::Status { status: 404, .. }) | None => Err(ResolveError::NotFound(
                *hash,
                self.servers.len() + usize::from(first.is_some()),
            )),
            Some(e) => Err(e.into()),
        }
    }
}
