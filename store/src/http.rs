//! The store over HTTP: a server (`GET`/`HEAD /blobs/<hash>` with `Range`,
//! `PUT /blobs/<hash>` verified against the hash, size limits, an optional
//! bearer token for writes) and a client that verifies every byte it
//! fetches before keeping it.

use crate::hash::ContentHash;
use crate::local::{LocalStore, StoreError};
use crate::tree::Limits;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use std::io::SeekFrom;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How a store server behaves.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Writes need `Authorization: Bearer <token>` when set; without one
    /// the server is read-only unless `open_writes` is set.
    pub put_token: Option<String>,
    /// Accept writes from anyone (a private network or a test).
    pub open_writes: bool,
    /// The largest blob a `PUT` may send.
    pub max_blob_bytes: u64,
    /// A `PUT` that sends nothing for this long is dropped (and kept
    /// nothing).
    pub idle_timeout: Duration,
    /// The slowest a `PUT` may send, in bytes per second, over its whole
    /// length: one that trickles a byte now and then is dropped when its
    /// deadline (`idle_timeout` plus its declared size, or the largest blob,
    /// at this rate) passes.
    pub min_put_rate: u64,
    /// Writes in progress at once; more are refused with 503 and
    /// `Retry-After` rather than queued.
    pub max_concurrent_puts: usize,
}

impl Default for ServeConfig {
    /// Read-only, 4 GiB blobs, 30 s idle timeout, at least 256 KiB/s per
    /// write, 16 writes at once.
    fn default() -> Self {
        Self {
            put_token: None,
            open_writes: false,
            max_blob_bytes: Limits::default().max_file_bytes,
            idle_timeout: Duration::from_secs(30),
            min_put_rate: 256 << 10,
            max_concurrent_puts: 16,
        }
    }
}

struct Served {
    store: Arc<LocalStore>,
    config: ServeConfig,
    puts: tokio::sync::Semaphore,
}

/// The store's HTTP routes, to serve with `axum::serve`.
pub fn router(store: Arc<LocalStore>, config: ServeConfig) -> Router {
    Router::new()
        .route("/blobs/{hash}", get(get_blob).put(put_blob))
        .with_state(Arc::new(Served {
            store,
            puts: tokio::sync::Semaphore::new(config.max_concurrent_puts),
            config,
        }))
}

fn refuse(status: StatusCode, message: impl std::fmt::Display) -> Response {
    let body = format!("{{\"error\":{}}}", json_string(&message.to_string()));
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single byte range of a blob of `size` bytes, or why it cannot be
/// served. `None` means the whole blob.
fn byte_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let spec = text.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (first, last) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().map_err(|_| ())?, size.saturating_sub(1)),
        (start, end) => {
            let end: u64 = end.parse().map_err(|_| ())?;
            (
                start.parse().map_err(|_| ())?,
                end.min(size.saturating_sub(1)),
            )
        }
    };
    if first >= size || first > last {
        return Err(());
    }
    Ok(Some((first, last)))
}

async fn get_blob(
    State(served): State<Arc<Served>>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(hash) = hash.parse::<ContentHash>() else {
        return refuse(StatusCode::BAD_REQUEST, "not a content hash");
    };
    let path = served.store.blob_path(&hash);
    let Ok(mut file) = tokio::fs::File::open(&path).await else {
        return refuse(StatusCode::NOT_FOUND, format!("{hash} is not here"));
    };
    let size = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let (status, first, last) = match byte_range(&headers, size) {
        Ok(None) => (StatusCode::OK, 0, size.saturating_sub(1)),
        Ok(Some((first, last))) => (StatusCode::PARTIAL_CONTENT, first, last),
        Err(()) => {
            let mut response = refuse(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "bad or unsatisfiable range",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return response;
        }
    };
    let length = if size == 0 { 0 } else { last - first + 1 };
    if first > 0 {
        if let Err(e) = file.seek(SeekFrom::Start(first)).await {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    }
    // Readers verify what they fetch, so the server streams without
    // re-hashing; the store verified the blob when it was written.
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(length)));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    // Content named by its hash never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", hash.hex())) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

/// Compares without stopping at the first difference, so response time
/// tells nothing about the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn put_blob(
    State(served): State<Arc<Served>>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &served.config;
    let allowed = match &config.put_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes())),
        None => config.open_writes,
    };
    if !allowed {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "writes need the store's bearer token",
        );
    }
    let Ok(hash) = hash.parse::<ContentHash>() else {
        return refuse(StatusCode::BAD_REQUEST, "not a content hash");
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_blob_bytes) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("blobs are limited to {} bytes", config.max_blob_bytes),
        );
    }
    if served.store.contains(&hash) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let Ok(_slot) = served.puts.try_acquire() else {
        let mut busy = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many writes in progress; retry",
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return busy;
    };
    let idle = config.idle_timeout;
    let size = declared.unwrap_or(config.max_blob_bytes);
    let deadline = idle + Duration::from_secs(size / config.min_put_rate.max(1));
    let stream = body
        .into_data_stream()
        .map(|r| r.map_err(|e| e.to_string()));
    let stream = Box::pin(idle_limited(stream, idle));
    let put = served.store.put_stream(hash, config.max_blob_bytes, stream);
    // Dropping the write at its deadline removes its temporary file.
    let Ok(outcome) = tokio::time::timeout(deadline, put).await else {
        return refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!("the upload was slower than {} bytes/s", config.min_put_rate),
        );
    };
    match outcome {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(StoreError::TooLarge { limit }) => refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("blobs are limited to {limit} bytes"),
        ),
        Err(e @ StoreError::HashMismatch { .. }) => refuse(StatusCode::UNPROCESSABLE_ENTITY, e),
        Err(e @ StoreError::Stream(_)) => refuse(StatusCode::BAD_REQUEST, e),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Ends a stream with an error when no item comes for `idle`, so a peer
/// that stalls cannot hold a write open.
pub(crate) fn idle_limited<S, T>(
    stream: S,
    idle: Duration,
) -> impl futures::Stream<Item = Result<T, String>>
where
    S: futures::Stream<Item = Result<T, String>> + Unpin,
{
    futures::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => Some((Err(format!("no data for {} s", idle.as_secs())), None)),
            Ok(None) => None,
            Ok(Some(Ok(item))) => Some((Ok(item), Some(stream))),
            Ok(Some(Err(e))) => Some((Err(e), None)),
        }
    })
}
