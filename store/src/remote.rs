//! A store server seen from a client: every fetched byte is verified before
//! it is kept, a server that sends more than it should is cut off, and one
//! that stalls is dropped.

use crate::hash::ContentHash;
use crate::http::idle_limited;
use crate::local::{LocalStore, StoreError};
use crate::tree::{Limits, Manifest};
use futures::StreamExt;
use std::time::Duration;

/// Why talking to a store server failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server could not be reached or the transfer broke.
    #[error("store {url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("store {url} answered {status}: {message}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message, cut to 300 characters.
        message: String,
    },
    /// What arrived was refused or could not be kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The base URL cannot name blobs.
    #[error("`{0}` is not a store URL (expected http:// or https://)")]
    BadUrl(String),
    /// The server sent too slowly: a fetch may take its idle timeout plus
    /// its size at the minimum rate, and no longer.
    #[error("store {url}: sent slower than {rate} bytes/s; given up after {} s", .after.as_secs())]
    TooSlow {
        /// The URL asked.
        url: String,
        /// The minimum rate, bytes per second.
        rate: u64,
        /// When it was given up.
        after: Duration,
    },
}

/// A store server at a base URL (the part before `/blobs/`).
#[derive(Debug, Clone)]
pub struct RemoteStore {
    base: url::Url,
    token: Option<String>,
    http: reqwest::Client,
    idle_timeout: Duration,
    min_rate: u64,
}

/// The slowest a fetch may be, over its whole length, by default: 64 KiB/s.
pub const DEFAULT_MIN_FETCH_RATE: u64 = 64 << 10;

/// What a tree's fetch allows per file beyond its bytes: a round trip.
const PER_FILE_SLACK: Duration = Duration::from_millis(250);

impl RemoteStore {
    /// A client for the server at `base`; `token` is sent with writes.
    /// Connecting gives up after 10 s, a transfer that sends nothing for
    /// 30 s is dropped, and so is one slower than
    /// [`DEFAULT_MIN_FETCH_RATE`] over its whole length (a server that
    /// trickles a byte now and then cannot hold a fetch for long).
    ///
    /// # Errors
    /// `base` is not an http(s) URL.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, RemoteError> {
        let mut base = url::Url::parse(base).map_err(|_| RemoteError::BadUrl(base.into()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(RemoteError::BadUrl(base.into()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let idle_timeout = Duration::from_secs(30);
        let http = Self::http_client(base.as_str(), idle_timeout)?;
        Ok(Self {
            base,
            token,
            http,
            idle_timeout,
            min_rate: DEFAULT_MIN_FETCH_RATE,
        })
    }

    // No redirects: a URI names one server, and following one to another
    // host would let a job's URI make providers request internal addresses.
    fn http_client(base: &str, idle: Duration) -> Result<reqwest::Client, RemoteError> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(idle)
            // Shorter than the servers' own idle limit (pond-listener's
            // 30 s): a pooled connection is never one the server closed.
            .pool_idle_timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| RemoteError::Transport {
                url: base.to_owned(),
                source,
            })
    }

    /// Fetches slower than `rate` bytes per second over their whole length
    /// (after the idle timeout) are given up.
    #[must_use]
    pub fn with_min_rate(mut self, rate: u64) -> Self {
        self.min_rate = rate.max(1);
        self
    }

    /// How long a fetch of at most `bytes` may take.
    fn deadline(&self, bytes: u64) -> Duration {
        self.idle_timeout
            .saturating_add(Duration::from_secs(bytes / self.min_rate.max(1)))
    }

    /// Sends `request`, its answer's headers due within the idle timeout
    /// (a server trickling its headers cannot hold the request).
    async fn answer(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RemoteError> {
        match tokio::time::timeout(self.idle_timeout, request.send()).await {
            Ok(sent) => sent.map_err(Self::transport(url)),
            Err(_) => Err(RemoteError::TooSlow {
                url: url.to_owned(),
                rate: self.min_rate,
                after: self.idle_timeout,
            }),
        }
    }

    /// Drops a transfer that sends nothing for `idle` (30 s by default).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Result<Self, RemoteError> {
        self.http = Self::http_client(self.base.as_str(), idle)?;
        self.idle_timeout = idle;
        Ok(self)
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The URL of the blob `hash` on this server.
    pub fn blob_url(&self, hash: &ContentHash) -> String {
        format!("{}blobs/{}", self.base, hash.hex())
    }

    fn transport(url: &str) -> impl FnOnce(reqwest::Error) -> RemoteError + '_ {
        move |source| RemoteError::Transport {
            url: url.to_owned(),
            source,
        }
    }

    /// The error for an error status, reading at most 4 KiB of the body
    /// (a hostile server may send an endless one).
    async fn refused(url: &str, mut response: reqwest::Response) -> RemoteError {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        // Bounded in time too: a trickled error body is cut short.
        let read = async {
            while body.len() < 4096 {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
        body.truncate(4096);
        RemoteError::Status {
            url: url.to_owned(),
            status,
            message: String::from_utf8_lossy(&body).chars().take(300).collect(),
        }
    }

    /// Whether the server holds the blob `hash`.
    ///
    /// # Errors
    /// The server cannot be reached or answers an error other than 404.
    pub async fn contains(&self, hash: &ContentHash) -> Result<bool, RemoteError> {
        let url = self.blob_url(hash);
        let response = self.answer(&url, self.http.head(&url)).await?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(Self::refused(&url, response).await),
        }
    }

    /// Fetches the blob `hash` into `local`, keeping it only if it hashes
    /// to `hash` and holds at most `max` bytes. Returns its size.
    ///
    /// # Errors
    /// Transport, status, a lying or oversized answer (nothing is kept).
    pub async fn fetch(
        &self,
        local: &LocalStore,
        hash: &ContentHash,
        max: u64,
    ) -> Result<u64, RemoteError> {
        if let Some(size) = local.size(hash) {
            return Ok(size);
        }
        let url = self.blob_url(hash);
        let response = self.answer(&url, self.http.get(&url)).await?;
        if !response.status().is_success() {
            return Err(Self::refused(&url, response).await);
        }
        if response.content_length().is_some_and(|n| n > max) {
            return Err(StoreError::TooLarge { limit: max }.into());
        }
        let allowed = self.deadline(response.content_length().unwrap_or(max).min(max));
        let stream = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(|e| e.to_string()));
        let stream = Box::pin(idle_limited(stream, self.idle_timeout));
        // A timeout drops the write: nothing half-fetched is kept.
        match tokio::time::timeout(allowed, local.put_stream(*hash, max, stream)).await {
            Ok(kept) => Ok(kept?),
            Err(_) => Err(RemoteError::TooSlow {
                url,
                rate: self.min_rate,
                after: allowed,
            }),
        }
    }

    /// Fetches the tree `hash` (its manifest, then each file it lacks) into
    /// `local`. Every file is bounded by the size its manifest states.
    ///
    /// # Errors
    /// As [`Self::fetch`], or a manifest outside `limits`.
    pub async fn fetch_tree(
        &self,
        local: &LocalStore,
        hash: &ContentHash,
        limits: &Limits,
    ) -> Result<Manifest, RemoteError> {
        self.fetch(local, hash, limits.max_manifest_bytes()).await?;
        let manifest = local.manifest(hash, limits)?;
        // The whole tree at the minimum rate, with one idle timeout and a
        // little slack per file (a request's round trip): many small files
        // each sent slowly are bounded together, not one by one.
        let total: u64 = manifest.entries().iter().map(|e| e.size).sum();
        let files = u32::try_from(manifest.entries().len()).unwrap_or(u32::MAX);
        let allowed = self
            .deadline(total)
            .saturating_add(PER_FILE_SLACK.saturating_mul(files));
        let fetch_files = async {
            for entry in manifest.entries() {
                let size = self.fetch(local, &entry.hash, entry.size).await?;
                if size != entry.size {
                    return Err(StoreError::SizeMismatch {
                        hash: entry.hash,
                        expected: entry.size,
                        actual: size,
                    }
                    .into());
                }
            }
            Ok::<(), RemoteError>(())
        };
        match tokio::time::timeout(allowed, fetch_files).await {
            Ok(done) => done?,
            Err(_) => {
                return Err(RemoteError::TooSlow {
                    url: self.blob_url(hash),
                    rate: self.min_rate,
                    after: allowed,
                })
            }
        }
        Ok(manifest)
    }

    /// Sends the stored blob `hash` to the server.
    ///
    /// # Errors
    /// The blob is not held, or the server refused it.
    pub async fn push(&self, local: &LocalStore, hash: &ContentHash) -> Result<(), RemoteError> {
        let path = local.blob_path(hash);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| StoreError::Missing(*hash))?;
        let size = file.metadata().await.map(|m| m.len()).ok();
        let url = self.blob_url(hash);
        let mut request = self.http.put(&url).body(reqwest::Body::wrap_stream(
            tokio_util::io::ReaderStream::new(file),
        ));
        if let Some(size) = size {
            request = request.header(reqwest::header::CONTENT_LENGTH, size);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(Self::transport(&url))?;
        if !response.status().is_success() {
            return Err(Self::refused(&url, response).await);
        }
        Ok(())
    }

    /// Sends the stored tree `hash`: each file the server lacks, then the
    /// manifest (so a server never lists a tree whose files it lacks).
    ///
    /// # Errors
    /// As [`Self::push`].
    pub async fn push_tree(
        &self,
        local: &LocalStore,
        hash: &ContentHash,
        limits: &Limits,
    ) -> Result<Manifest, RemoteError> {
        let manifest = local.manifest(hash, limits)?;
        for entry in manifest.entries() {
            if !self.contains(&entry.hash).await? {
                self.push(local, &entry.hash).await?;
            }
        }
        self.push(local, hash).await?;
        Ok(manifest)
    }
}
