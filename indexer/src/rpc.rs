//! The indexer's JSON-RPC client: a plain HTTP client so that every
//! provider answer is visible (status codes, `Retry-After`, the range hints
//! providers put in error messages), with capped, jittered retries.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256},
    rpc::types::{Block, Log},
    transports::http::reqwest,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Why a request failed for good (after retries) or must be changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The provider refuses the block range; `hint` is the end block it
    /// suggested, if its message carried one.
    #[error("range refused ({message}); hint {hint:?}")]
    RangeTooLarge {
        /// The provider's message.
        message: String,
        /// Suggested last block, if any.
        hint: Option<u64>,
    },
    /// The request kept failing.
    #[error("{0}")]
    Failed(String),
}

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct RpcStats {
    /// Requests that failed (and were retried or given up).
    pub errors: std::sync::atomic::AtomicU64,
    /// Retries.
    pub retries: std::sync::atomic::AtomicU64,
}

/// A JSON-RPC client with retries.
#[derive(Clone, Debug)]
pub struct RpcClient {
    http: reqwest::Client,
    url: String,
    /// Shared counters.
    pub stats: std::sync::Arc<RpcStats>,
    max_attempts: u32,
}

fn jitter(base: Duration) -> Duration {
    // Cheap jitter from the clock: 50–150 % of the base.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0)
}

/// The end block a provider suggests in a range error, if any: the second
/// number of a `[0x…, 0x…]` pair, or a "limit of N blocks" hint relative
/// to `from`.
#[must_use]
pub fn range_hint(message: &str, from: u64) -> Option<u64> {
    if let Some(start) = message.find('[') {
        let rest = &message[start + 1..];
        let end = rest.find(']')?;
        let parts: Vec<&str> = rest[..end].split(',').map(str::trim).collect();
        if parts.len() == 2 {
            let parse = |s: &str| {
                s.strip_prefix("0x")
                    .map_or_else(|| s.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok())
            };
            if let (Some(_), Some(to)) = (parse(parts[0]), parse(parts[1])) {
                return Some(to);
            }
        }
    }
    let lower = message.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    for pair in words.windows(2) {
        if pair[1] == "blocks" {
            if let Ok(n) = pair[0].parse::<u64>() {
                return Some(from + n.max(1) - 1);
            }
        }
    }
    None
}

fn is_range_error(message: &str) -> bool {
    let lower = message.to_lowercase();
    [
        "range",
        "too many",
        "more than",
        "limit",
        "exceed",
        "too large",
        "response size",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

impl RpcClient {
    /// A client for `url`.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            url: url.to_owned(),
            stats: std::sync::Arc::default(),
            max_attempts: 12,
        }
    }

    /// Calls `method`, retrying transport failures, 5xx and 429 (honouring
    /// `Retry-After`) with capped, jittered backoff.
    ///
    /// # Errors
    /// A range refusal (not retried), or failure after every attempt.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        from: u64,
    ) -> Result<T, RpcError> {
        use std::sync::atomic::Ordering;
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            let response = self.http.post(&self.url).json(&body).send().await;
            let wait = match response {
                Err(e) => {
                    last = format!("{method}: {e}");
                    None
                }
                Ok(response) => {
                    let status = response.status();
                    if status.as_u16() == 429 {
                        last = format!("{method}: 429 Too Many Requests");
                        response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<f64>().ok())
                            .map(|secs| Duration::from_secs_f64(secs.clamp(0.0, 60.0)))
                    } else if status.is_server_error() {
                        last = format!("{method}: HTTP {status}");
                        None
                    } else {
                        match response.json::<Value>().await {
                            Err(e) => {
                                last = format!("{method}: unreadable answer: {e}");
                                None
                            }
                            Ok(answer) => {
                                if let Some(error) = answer.get("error") {
                                    let message = error
                                        .get("message")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_owned();
                                    self.stats.errors.fetch_add(1, Ordering::Relaxed);
                                    if method == "eth_getLogs" && is_range_error(&message) {
                                        let hint = range_hint(&message, from);
                                        return Err(RpcError::RangeTooLarge { message, hint });
                                    }
                                    last = format!("{method}: {message}");
                                    None
                                } else {
                                    let result =
                                        answer.get("result").cloned().unwrap_or(Value::Null);
                                    return serde_json::from_value(result)
                                        .map_err(|e| RpcError::Failed(format!("{method}: {e}")));
                                }
                            }
                        }
                    }
                }
            };
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(attempt, error = %last, "rpc retry");
            tokio::time::sleep(wait.unwrap_or_else(|| jitter(delay))).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        Err(RpcError::Failed(last))
    }

    /// The head block number.
    ///
    /// # Errors
    /// As [`RpcClient::call`].
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        let number: alloy::primitives::U64 = self.call("eth_blockNumber", json!([]), 0).await?;
        Ok(number.to::<u64>())
    }

    /// The chain id.
    ///
    /// # Errors
    /// As [`RpcClient::call`].
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        let id: alloy::primitives::U64 = self.call("eth_chainId", json!([]), 0).await?;
        Ok(id.to::<u64>())
    }

    /// A block header by number.
    ///
    /// # Errors
    /// As [`RpcClient::call`]; a missing block is an error.
    pub async fn block(&self, number: u64) -> Result<Block, RpcError> {
        let block: Option<Block> = self
            .call(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
                number,
            )
            .await?;
        block.ok_or_else(|| RpcError::Failed(format!("block {number} not found")))
    }

    /// Logs of `addresses` in `[from, to]`.
    ///
    /// # Errors
    /// As [`RpcClient::call`].
    pub async fn logs(
        &self,
        addresses: &[Address],
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, RpcError> {
        let filter = json!({"address": addresses, "fromBlock": format!("{from:#x}"), "toBlock": format!("{to:#x}")});
        self.call("eth_getLogs", json!([filter]), from).await
    }

    /// The hash of block `number`.
    ///
    /// # Errors
    /// As [`RpcClient::block`].
    pub async fn block_hash(&self, number: u64) -> Result<B256, RpcError> {
        Ok(self.block(number).await?.header.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_hints_from_provider_messages() {
        assert_eq!(
            range_hint(
                "query returned more than 10000 results. Try with this block range [0x10, 0x2F].",
                16
            ),
            Some(0x2f)
        );
        assert_eq!(
            range_hint("eth_getLogs is limited to a 1000 blocks range", 500),
            Some(1499)
        );
        assert_eq!(range_hint("block range too large", 5), None);
        assert!(is_range_error("Log response size exceeded"));
        assert!(!is_range_error("nonce too low"));
    }
}
