//! Reads through Pond's GraphQL API: lists that would otherwise cost one
//! RPC call per item (every offer, every job of a creator) in one request
//! per page. The API serves what its indexer has seen, so it can be a
//! block or two behind the chain; commands that act on a state read it
//! from the chain.

use crate::hardware::Hardware;
use crate::{ClientError, Offer, OfferTerms};
use alloy::primitives::{Address, U256};

/// Page size asked for (the API's largest).
const PAGE: u64 = 1_000;
/// The largest answer read (a page of a thousand offers is ~0.5 MiB).
const MAX_ANSWER_BYTES: usize = 16 << 20;
/// The most pages one list reads (a million items).
const MAX_PAGES: usize = 1_000;

/// Pond's GraphQL API at one URL.
#[derive(Clone, Debug)]
pub struct GraphqlReader {
    url: String,
    http: reqwest::Client,
}

/// A job as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    /// Its id.
    pub id: U256,
    /// Its creator.
    pub creator: Address,
    /// Its state name.
    pub state: String,
    /// The most it pays (base units).
    pub max_price: U256,
    /// How long it may run (seconds).
    pub max_duration: u64,
    /// Its deal, once matched.
    pub deal_id: Option<U256>,
}

fn bad(url: &str, what: impl std::fmt::Display) -> ClientError {
    ClientError::ApiAnswer {
        url: url.to_owned(),
        reason: what.to_string(),
    }
}

impl GraphqlReader {
    /// The API at `url` (`http://host:4000/graphql`).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(url: &str) -> Result<Self, ClientError> {
        // No redirects: the URL names one API, and answers go to no other.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(url, e))?;
        Ok(Self {
            url: url.to_owned(),
            http,
        })
    }

    async fn query(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let answer = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| ClientError::Api {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        let status = answer.status();
        let mut answer = answer;
        let mut bytes = Vec::new();
        loop {
            let chunk = answer.chunk().await.map_err(|e| ClientError::Api {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
            let Some(chunk) = chunk else { break };
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(bad(
                    &self.url,
                    format!("an answer over {MAX_ANSWER_BYTES} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(ClientError::Api {
                url: self.url.clone(),
                reason: format!("HTTP {status}"),
            });
        }
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(&self.url, e))?;
        if let Some(errors) = value.get("errors") {
            return Err(bad(&self.url, errors));
        }
        value
            .get("data")
            .cloned()
            .ok_or_else(|| bad(&self.url, "no data"))
    }

    /// Every page of connection `field` of `query` (which takes `$after`).
    async fn all(
        &self,
        query: &str,
        field: &str,
        mut variables: serde_json::Value,
        limit: u64,
    ) -> Result<Vec<serde_json::Value>, ClientError> {
        let mut nodes = Vec::new();
        for _ in 0..MAX_PAGES {
            let data = self.query(query, variables.clone()).await?;
            let connection = &data[field];
            let edges = connection["edges"]
                .as_array()
                .ok_or_else(|| bad(&self.url, "no edges"))?;
            nodes.extend(edges.iter().map(|e| e["node"].clone()));
            let more = connection["pageInfo"]["hasNextPage"]
                .as_bool()
                .unwrap_or(false);
            if !more || nodes.len() as u64 >= limit {
                nodes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                return Ok(nodes);
            }
            // A next page must start somewhere new. It may follow a page
            // with no edges: a list whose filters its index cannot all
            // seek on stops at its bound and says where it got to.
            let cursor = &connection["pageInfo"]["endCursor"];
            if !cursor.is_string() || *cursor == variables["after"] {
                return Err(bad(&self.url, "a page that does not advance"));
            }
            variables["after"] = cursor.clone();
        }
        Err(bad(&self.url, format!("more than {MAX_PAGES} pages")))
    }

    /// Offers, oldest first (cancelled ones only with `include_cancelled`),
    /// of one provider or all.
    ///
    /// # Errors
    /// The API is unreachable or answers something else.
    pub async fn offers(
        &self,
        provider: Option<Address>,
        include_cancelled: bool,
        limit: u64,
    ) -> Result<Vec<Offer>, ClientError> {
        const QUERY: &str = "query($where: OfferWhere, $first: Int, $after: String) {
            offers(where: $where, first: $first, after: $after) {
                edges { node { id provider price minDuration maxDuration maxConcurrent expiry activeDeals cancelled
                    hardware { gpuCount gpuMemoryGb cpuCores ramGb diskGb } } }
                pageInfo { hasNextPage endCursor } } }";
        let mut filter = serde_json::json!({ "includeCancelled": include_cancelled });
        if let Some(p) = provider {
            filter["provider"] = p.to_string().into();
        }
        let nodes = self
            .all(
                QUERY,
                "offers",
                serde_json::json!({ "where": filter, "first": PAGE }),
                limit,
            )
            .await?;
        nodes.iter().map(|n| self.offer(n)).collect()
    }

    fn offer(&self, n: &serde_json::Value) -> Result<Offer, ClientError> {
        let text = |k: &str| {
            n[k].as_str()
                .ok_or_else(|| bad(&self.url, format!("offer.{k}")))
        };
        let int = |v: &serde_json::Value, k: &str| {
            v[k].as_u64()
                .ok_or_else(|| bad(&self.url, format!("offer.{k}")))
        };
        let small = |v: &serde_json::Value, k: &str| {
            int(v, k).and_then(|x| u32::try_from(x).map_err(|_| bad(&self.url, k)))
        };
        let h = &n["hardware"];
        Ok(Offer {
            id: text("id")?
                .parse()
                .map_err(|_| bad(&self.url, "offer.id"))?,
            provider: text("provider")?
                .parse()
                .map_err(|_| bad(&self.url, "offer.provider"))?,
            open: !n["cancelled"].as_bool().unwrap_or(false),
            terms: OfferTerms {
                hardware: Hardware {
                    gpu_count: small(h, "gpuCount")?,
                    gpu_memory_gb: small(h, "gpuMemoryGb")?,
                    cpu_cores: small(h, "cpuCores")?,
                    ram_gb: small(h, "ramGb")?,
                    disk_gb: small(h, "diskGb")?,
                },
                price: text("price")?
                    .parse()
                    .map_err(|_| bad(&self.url, "offer.price"))?,
                min_duration: int(n, "minDuration")?,
                max_duration: int(n, "maxDuration")?,
                max_concurrent: small(n, "maxConcurrent")?,
                expiry: int(n, "expiry")?,
            },
            active_deals: small(n, "activeDeals")?,
        })
    }

    /// Jobs, newest first, of one creator or all.
    ///
    /// # Errors
    /// The API is unreachable or answers something else.
    pub async fn jobs(
        &self,
        creator: Option<Address>,
        limit: u64,
    ) -> Result<Vec<JobRow>, ClientError> {
        const QUERY: &str = "query($where: JobWhere, $first: Int, $after: String) {
            jobs(where: $where, first: $first, after: $after, orderBy: ID, direction: DESC) {
                edges { node { id creator state maxPrice maxDuration deal { id } } }
                pageInfo { hasNextPage endCursor } } }";
        let mut filter = serde_json::json!({});
        if let Some(c) = creator {
            filter["creator"] = c.to_string().into();
        }
        let nodes = self
            .all(
                QUERY,
                "jobs",
                serde_json::json!({ "where": filter, "first": PAGE.min(limit.max(1)) }),
                limit,
            )
            .await?;
        nodes
            .iter()
            .map(|n| {
                let text = |k: &str| {
                    n[k].as_str()
                        .ok_or_else(|| bad(&self.url, format!("job.{k}")))
                };
                Ok(JobRow {
                    id: text("id")?.parse().map_err(|_| bad(&self.url, "job.id"))?,
                    creator: text("creator")?
                        .parse()
                        .map_err(|_| bad(&self.url, "job.creator"))?,
                    state: text("state")?.to_owned(),
                    max_price: text("maxPrice")?
                        .parse()
                        .map_err(|_| bad(&self.url, "job.maxPrice"))?,
                    max_duration: n["maxDuration"]
                        .as_u64()
                        .ok_or_else(|| bad(&self.url, "job.maxDuration"))?,
                    deal_id: n["deal"]["id"].as_str().and_then(|d| d.parse().ok()),
                })
            })
            .collect()
    }
}
