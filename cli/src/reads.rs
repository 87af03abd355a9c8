//! Lists every command shares, read through the GraphQL API when one is
//! configured (`--graphql`) and from the chain otherwise.

use alloy::primitives::{Address, U256};
use pond_client::{graphql::JobRow, Client, Offer};

use crate::account::Session;

/// Most items a list reads (newest first).
pub(crate) const LIST_LIMIT: u64 = 1_000;

/// Offers, newest first, of `provider` or all; cancelled ones only with
/// `include_cancelled`.
pub(crate) async fn offers(
    client: &Client,
    session: &Session,
    provider: Option<Address>,
    include_cancelled: bool,
) -> eyre::Result<Vec<Offer>> {
    if let Some(api) = session.graphql()? {
        let mut offers = api.offers(provider, include_cancelled, u64::MAX).await?;
        offers.reverse();
        offers.truncate(LIST_LIMIT as usize);
        return Ok(offers);
    }
    let count = u64::try_from(client.offer_count().await?).unwrap_or(u64::MAX);
    let mut found = Vec::new();
    for id in (count.saturating_sub(LIST_LIMIT) + 1..=count).rev() {
        let Some(offer) = client.offer(U256::from(id)).await? else {
            continue;
        };
        if (include_cancelled || offer.open) && provider.is_none_or(|p| p == offer.provider) {
            found.push(offer);
        }
    }
    Ok(found)
}

/// Jobs, newest first, of `creator` or all, at most `limit`.
pub(crate) async fn jobs(
    client: &Client,
    session: &Session,
    creator: Option<Address>,
    limit: u64,
) -> eyre::Result<Vec<JobRow>> {
    if let Some(api) = session.graphql()? {
        return Ok(api.jobs(creator, limit).await?);
    }
    let count = u64::try_from(client.job_count().await?).unwrap_or(u64::MAX);
    let mut rows = Vec::new();
    for id in (1..=count).rev() {
        if rows.len() as u64 >= limit {
            break;
        }
        let Some(job) = client.job(U256::from(id)).await? else {
            continue;
        };
        if creator.is_none_or(|c| c == job.creator) {
            rows.push(JobRow {
                id: U256::from(id),
                creator: job.creator,
                state: job.state.to_owned(),
                max_price: job.max_price,
                max_duration: job.max_duration,
                deal_id: (!job.deal_id.is_zero()).then_some(job.deal_id),
            });
        }
    }
    Ok(rows)
}
