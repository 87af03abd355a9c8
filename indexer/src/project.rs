//! Projections: what each Pond event does to the rows, from events alone
//! (no `eth_call`).

use alloy::primitives::{Address, B256, U256};
use pond_bindings::{deals, market, mediation, offers, registry, vault};

use crate::{
    amount,
    events::PondEvent,
    store::{
        rows::{
            BALANCES, BIDS, CASES, DEALS, DEAL_HISTORY, JOBS, MARKET_DAYS, OFFERS, PROVIDERS,
            VALIDATORS, VOTES,
        },
        Batch, Row, StoreError, Val,
    },
};

/// Where an event happened.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// Block number.
    pub block: u64,
    /// Log index in the block.
    pub log_index: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Block timestamp.
    pub timestamp: u64,
}

fn id(v: U256) -> Val {
    Val::Text(amount::encode(v))
}
fn amt(v: U256) -> Val {
    Val::Text(amount::encode(v))
}
fn addr(a: Address) -> Val {
    Val::Text(format!("{a:#x}"))
}
fn hash(h: B256) -> Val {
    Val::Text(format!("{h:#x}"))
}

fn amount_of(row: &Row, column: &str) -> U256 {
    row.get(column)
        .and_then(Val::text)
        .and_then(|t| amount::decode(t).ok())
        .unwrap_or_default()
}

fn int_of(row: &Row, column: &str) -> i64 {
    row.get(column).and_then(Val::int).unwrap_or_default()
}

macro_rules! row {
    ($($column:literal => $value:expr),* $(,)?) => {{
        let mut row = Row::new();
        $(row.insert($column.to_owned(), Val::from($value));)*
        row
    }};
}

/// Job states as stored (index = on-chain value).
const JOB: [&str; 6] = pond_bindings::states::JOB_STATES;
/// Case states as stored (index = on-chain value).
const CASE: [&str; 4] = pond_bindings::states::CASE_STATES;
/// Deal states as stored (index = on-chain value).
const DEAL_STATES: [&str; 8] = pond_bindings::states::DEAL_STATES;

async fn deal_state(
    batch: &mut Batch,
    meta: &Meta,
    deal: U256,
    state: &str,
    update: Row,
) -> Result<(), StoreError> {
    let key = [id(deal)];
    let Some(mut row) = batch.get(&DEALS, &key).await? else {
        return Ok(());
    };
    row.extend(update);
    row.insert("state".into(), state.into());
    row.insert("updated_at".into(), meta.timestamp.into());
    batch.put(&DEALS, &key, Some(row)).await?;
    history(batch, meta, deal, state).await
}

async fn history(
    batch: &mut Batch,
    meta: &Meta,
    deal: U256,
    state: &str,
) -> Result<(), StoreError> {
    // seq = block * 2^20 + log index: unique, ordered, and stable on replay.
    let seq = i64::try_from(meta.block)
        .unwrap_or(i64::MAX)
        .saturating_mul(1 << 20)
        + i64::try_from(meta.log_index).unwrap_or_default();
    let key = [id(deal), Val::Int(seq)];
    let row = row! {
        "deal_id" => id(deal),
        "seq" => seq,
        "state" => state,
        "block_number" => meta.block,
        "log_index" => meta.log_index,
        "tx_hash" => hash(meta.tx_hash),
        "timestamp" => meta.timestamp,
    };
    batch.put(&DEAL_HISTORY, &key, Some(row)).await
}

async fn update(
    batch: &mut Batch,
    table: &'static crate::store::Table,
    key: &[Val],
    change: impl FnOnce(&mut Row),
) -> Result<(), StoreError> {
    if let Some(mut row) = batch.get(table, key).await? {
        change(&mut row);
        batch.put(table, key, Some(row)).await?;
    }
    Ok(())
}

async fn balance(
    batch: &mut Batch,
    meta: &Meta,
    account: Address,
    available: i8,
    locked: i8,
    value: U256,
) -> Result<(), StoreError> {
    let key = [addr(account)];
    let mut row = batch.get(&BALANCES, &key).await?.unwrap_or_else(|| {
        row! { "account" => addr(account), "available" => amt(U256::ZERO), "locked" => amt(U256::ZERO), "updated_at" => 0i64 }
    });
    for (column, sign) in [("available", available), ("locked", locked)] {
        let current = amount_of(&row, column);
        let next = match sign {
            1 => current.saturating_add(value),
            -1 => current.saturating_sub(value),
            _ => current,
        };
        row.insert(column.into(), amt(next));
    }
    row.insert("updated_at".into(), meta.timestamp.into());
    batch.put(&BALANCES, &key, Some(row)).await
}

async fn validator(
    batch: &mut Batch,
    meta: &Meta,
    address: Address,
    change: impl FnOnce(&mut Row),
) -> Result<(), StoreError> {
    let key = [addr(address)];
    let mut row = batch.get(&VALIDATORS, &key).await?.unwrap_or_else(|| {
        row! {
            "address" => addr(address), "stake" => amt(U256::ZERO), "unbonding" => amt(U256::ZERO),
            "active_cases" => 0i64, "with_majority" => 0i64, "against_majority" => 0i64,
            "no_shows" => 0i64, "undecided" => 0i64, "earned" => amt(U256::ZERO),
            "slashed" => amt(U256::ZERO), "updated_at" => 0i64,
        }
    });
    change(&mut row);
    row.insert("updated_at".into(), meta.timestamp.into());
    batch.put(&VALIDATORS, &key, Some(row)).await
}

/// The UTC calendar day (`YYYY-MM-DD`) of a unix time.
#[must_use]
pub fn day(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

fn bump(row: &mut Row, column: &str) {
    let next = int_of(row, column) + 1;
    row.insert(column.into(), next.into());
}

fn add_amount(row: &mut Row, column: &str, value: U256) {
    let next = amount_of(row, column).saturating_add(value);
    row.insert(column.into(), amt(next));
}

/// Applies one event to the projections.
///
/// # Errors
/// Database failure.
pub async fn apply(batch: &mut Batch, meta: &Meta, event: &PondEvent) -> Result<(), StoreError> {
    match event {
        PondEvent::Vault(e) => {
            use vault::IVault::IVaultEvents as E;
            match e {
                E::Deposited(d) => balance(batch, meta, d.account, 1, 0, d.amount).await?,
                E::Withdrawn(w) => balance(batch, meta, w.account, -1, 0, w.amount).await?,
                E::Locked(l) => balance(batch, meta, l.account, -1, 1, l.amount).await?,
                E::Unlocked(u) => balance(batch, meta, u.account, 1, -1, u.amount).await?,
                E::LockedTransferred(t) => {
                    balance(batch, meta, t.from, 0, -1, t.amount).await?;
                    balance(batch, meta, t.to, 1, 0, t.amount).await?;
                }
                E::Slashed(s) => {
                    balance(batch, meta, s.from, 0, -1, s.amount).await?;
                    balance(batch, meta, s.to, 1, 0, s.amount).await?;
                }
                _ => {}
            }
        }
        PondEvent::Registry(e) => {
            use registry::IRegistry::IRegistryEvents as E;
            match e {
                E::ProviderRegistered(p) => {
                    let row = row! {
                        "address" => addr(p.provider), "gpu_count" => p.gpuCount, "gpu_memory_gb" => p.gpuMemoryGb,
                        "cpu_cores" => p.cpuCores, "ram_gb" => p.ramGb, "disk_gb" => p.diskGb,
                        "metadata_uri" => p.metadataUri.clone(), "completed" => 0i64, "failed" => 0i64,
                        "disputes_won" => 0i64, "disputes_lost" => 0i64, "earnings" => amt(U256::ZERO),
                        "slashed" => amt(U256::ZERO), "registered_at" => meta.timestamp, "updated_at" => meta.timestamp,
                    };
                    batch
                        .put(&PROVIDERS, &[addr(p.provider)], Some(row))
                        .await?;
                }
                E::ProviderUpdated(p) => {
                    update(batch, &PROVIDERS, &[addr(p.provider)], |row| {
                        row.extend(row! {
                            "gpu_count" => p.gpuCount, "gpu_memory_gb" => p.gpuMemoryGb, "cpu_cores" => p.cpuCores,
                            "ram_gb" => p.ramGb, "disk_gb" => p.diskGb, "metadata_uri" => p.metadataUri.clone(),
                            "updated_at" => meta.timestamp,
                        });
                    })
                    .await?;
                }
                E::ProviderOutcomeRecorded(o) => {
                    update(batch, &PROVIDERS, &[addr(o.provider)], |row| {
                        match o.outcome {
                            0 => {
                                bump(row, "completed");
                                add_amount(row, "earnings", o.amount);
                            }
                            1 => {
                                bump(row, "failed");
                                add_amount(row, "slashed", o.amount);
                            }
                            2 => {
                                bump(row, "disputes_won");
                                add_amount(row, "earnings", o.amount);
                            }
                            _ => {
                                bump(row, "disputes_lost");
                                add_amount(row, "slashed", o.amount);
                            }
                        }
                        row.insert("updated_at".into(), meta.timestamp.into());
                    })
                    .await?;
                }
                E::ValidatorStaked(v) => {
                    validator(batch, meta, v.validator, |row| {
                        row.insert("stake".into(), amt(v.stake));
                    })
                    .await?;
                }
                E::UnbondRequested(u) => {
                    validator(batch, meta, u.validator, |row| {
                        row.insert("stake".into(), amt(u.stake));
                        add_amount(row, "unbonding", u.amount);
                    })
                    .await?;
                }
                E::UnbondWithdrawn(u) => {
                    validator(batch, meta, u.validator, |row| {
                        let left = amount_of(row, "unbonding").saturating_sub(u.amount);
                        row.insert("unbonding".into(), amt(left));
                    })
                    .await?;
                }
                E::ValidatorAssigned(a) => {
                    validator(batch, meta, a.validator, |row| {
                        row.insert("active_cases".into(), a.activeCases.into());
                    })
                    .await?;
                }
                E::ValidatorReleased(r) => {
                    validator(batch, meta, r.validator, |row| {
                        row.insert("active_cases".into(), r.activeCases.into());
                        add_amount(row, "earned", r.earned);
                        bump(
                            row,
                            match r.outcome {
                                0 => "with_majority",
                                1 => "against_majority",
                                2 => "no_shows",
                                _ => "undecided",
                            },
                        );
                    })
                    .await?;
                }
                E::ValidatorSlashed(s) => {
                    validator(batch, meta, s.validator, |row| {
                        row.insert("stake".into(), amt(s.stake));
                        add_amount(row, "slashed", s.amount);
                    })
                    .await?;
                }
                _ => {}
            }
        }
        PondEvent::Offers(e) => {
            use offers::IOfferBook::IOfferBookEvents as E;
            match e {
                E::OfferPosted(o) => {
                    let row = row! {
                        "id" => id(o.offerId), "provider" => addr(o.provider), "gpu_count" => o.gpuCount,
                        "gpu_memory_gb" => o.gpuMemoryGb, "cpu_cores" => o.cpuCores, "ram_gb" => o.ramGb,
                        "disk_gb" => o.diskGb, "price" => amt(o.price), "min_duration" => o.minDuration, "max_duration" => o.maxDuration,
                        "max_concurrent" => o.maxConcurrent, "expiry" => o.expiry, "active_deals" => 0i64,
                        "cancelled" => 0i64, "posted_at" => meta.timestamp,
                    };
                    batch.put(&OFFERS, &[id(o.offerId)], Some(row)).await?;
                }
                E::OfferCancelled(o) => {
                    update(batch, &OFFERS, &[id(o.offerId)], |row| {
                        row.insert("cancelled".into(), 1i64.into());
                    })
                    .await?;
                }
                E::OfferUsageChanged(o) => {
                    update(batch, &OFFERS, &[id(o.offerId)], |row| {
                        row.insert("active_deals".into(), o.activeDeals.into());
                    })
                    .await?;
                }
                _ => {}
            }
        }
        PondEvent::Market(e) => {
            use market::IMarket::IMarketEvents as E;
            match e {
                E::JobPosted(j) => {
                    let state = if j.biddingEnd > 0 { JOB[2] } else { JOB[1] };
                    let row = row! {
                        "id" => id(j.jobId), "creator" => addr(j.creator), "relayer" => addr(j.relayer),
                        "state" => state, "module_hash" => hash(j.moduleHash), "module_uri" => j.moduleUri.clone(),
                        "input_hash" => hash(j.inputHash), "input_uri" => j.inputUri.clone(),
                        "min_gpu_count" => j.minGpuCount, "min_gpu_memory_gb" => j.minGpuMemoryGb,
                        "min_cpu_cores" => j.minCpuCores, "min_ram_gb" => j.minRamGb, "min_disk_gb" => j.minDiskGb,
                        "max_duration" => j.maxDuration, "max_price" => amt(j.maxPrice),
                        "match_deadline" => j.matchDeadline, "bidding_end" => j.biddingEnd,
                        "match_mode" => Val::Null, "deal_id" => Val::Null, "price" => Val::Null,
                        "refunded" => Val::Null, "best_bid" => Val::Null, "best_bidder" => Val::Null,
                        "posted_block" => meta.block, "posted_at" => meta.timestamp, "updated_at" => meta.timestamp,
                    };
                    batch.put(&JOBS, &[id(j.jobId)], Some(row)).await?;
                }
                E::JobCancelled(j) => {
                    update(batch, &JOBS, &[id(j.jobId)], |row| {
                        row.extend(row! { "state" => JOB[4], "refunded" => amt(j.refunded), "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::JobExpired(j) => {
                    update(batch, &JOBS, &[id(j.jobId)], |row| {
                        row.extend(row! { "state" => JOB[5], "refunded" => amt(j.refunded), "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::BidPlaced(b) => {
                    if b.previousBidder != Address::ZERO {
                        update(
                            batch,
                            &BIDS,
                            &[id(b.jobId), addr(b.previousBidder)],
                            |row| {
                                row.insert("outbid".into(), 1i64.into());
                            },
                        )
                        .await?;
                    }
                    let row = row! {
                        "job_id" => id(b.jobId), "provider" => addr(b.provider), "price" => amt(b.price),
                        "results_collateral" => amt(b.resultsCollateral), "timeout_collateral" => amt(b.timeoutCollateral),
                        "outbid" => 0i64, "placed_at" => meta.timestamp,
                    };
                    batch
                        .put(&BIDS, &[id(b.jobId), addr(b.provider)], Some(row))
                        .await?;
                    update(batch, &JOBS, &[id(b.jobId)], |row| {
                        row.extend(row! { "best_bid" => amt(b.price), "best_bidder" => addr(b.provider), "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::JobMatched(m) => {
                    let mode = match m.mode {
                        0 => "direct",
                        1 => "take",
                        _ => "auction",
                    };
                    let day = day(meta.timestamp);
                    let mut class = None;
                    update(batch, &JOBS, &[id(m.jobId)], |row| {
                        class = Some(int_of(row, "min_gpu_memory_gb"));
                        row.extend(row! {
                            "state" => JOB[3], "match_mode" => mode, "deal_id" => id(m.dealId),
                            "price" => amt(m.price), "refunded" => amt(m.refunded), "matched_day" => day.clone(),
                            "updated_at" => meta.timestamp,
                        });
                    })
                    .await?;
                    if let Some(class) = class {
                        let key = [Val::Text(day.clone()), Val::Int(class)];
                        let mut row = batch.get(&MARKET_DAYS, &key).await?.unwrap_or_else(
                            || row! { "day" => day, "gpu_memory_gb" => class, "deals" => 0i64, "volume" => amt(U256::ZERO) },
                        );
                        bump(&mut row, "deals");
                        add_amount(&mut row, "volume", m.price);
                        batch.put(&MARKET_DAYS, &key, Some(row)).await?;
                    }
                }
                _ => {}
            }
        }
        PondEvent::Deals(e) => {
            use deals::IDeals::IDealsEvents as E;
            match e {
                E::DealOpened(d) => {
                    let row = row! {
                        "id" => id(d.dealId), "job_id" => id(d.jobId), "provider" => addr(d.provider),
                        "creator" => addr(d.creator), "offer_id" => id(d.offerId), "price" => amt(d.price),
                        "results_collateral" => amt(d.resultsCollateral), "timeout_collateral" => amt(d.timeoutCollateral),
                        "state" => DEAL_STATES[1], "execution_deadline" => d.executionDeadline,
                        "commitment" => Val::Null, "reveal_deadline" => Val::Null, "result_hash" => Val::Null,
                        "result_uri" => Val::Null, "judge_deadline" => Val::Null, "case_id" => Val::Null,
                        "completion" => Val::Null, "paid" => Val::Null, "fee" => Val::Null, "compensation" => Val::Null,
                        "opened_at" => meta.timestamp, "updated_at" => meta.timestamp,
                    };
                    batch.put(&DEALS, &[id(d.dealId)], Some(row)).await?;
                    history(batch, meta, d.dealId, DEAL_STATES[1]).await?;
                }
                E::ResultCommitted(c) => {
                    let update = row! { "commitment" => hash(c.commitment), "reveal_deadline" => c.revealDeadline };
                    deal_state(batch, meta, c.dealId, DEAL_STATES[2], update).await?;
                }
                E::ResultRevealed(r) => {
                    let update = row! {
                        "result_hash" => hash(r.resultHash), "result_uri" => r.resultUri.clone(), "judge_deadline" => r.judgeDeadline,
                    };
                    deal_state(batch, meta, r.dealId, DEAL_STATES[3], update).await?;
                }
                E::DealChallenged(c) => {
                    deal_state(
                        batch,
                        meta,
                        c.dealId,
                        DEAL_STATES[4],
                        row! { "case_id" => id(c.caseId) },
                    )
                    .await?;
                }
                E::DealCompleted(c) => {
                    let how = match c.how {
                        0 => "accepted",
                        1 => "finalized",
                        2 => "mediation",
                        _ => "undecided",
                    };
                    let update =
                        row! { "completion" => how, "paid" => amt(c.paid), "fee" => amt(c.fee) };
                    deal_state(batch, meta, c.dealId, DEAL_STATES[5], update).await?;
                }
                E::DealTimedOut(t) => {
                    let update = row! { "compensation" => amt(t.compensation) };
                    deal_state(batch, meta, t.dealId, DEAL_STATES[6], update).await?;
                }
                E::DealRejected(r) => {
                    let update = row! { "compensation" => amt(r.compensation) };
                    deal_state(batch, meta, r.dealId, DEAL_STATES[7], update).await?;
                }
                _ => {}
            }
        }
        PondEvent::Mediation(e) => {
            use mediation::IMediation::IMediationEvents as E;
            match e {
                E::CaseOpened(c) => {
                    let row = row! {
                        "id" => id(c.caseId), "deal_id" => id(c.dealId), "creator" => addr(c.creator),
                        "provider" => addr(c.provider), "provider_result" => hash(c.providerResult), "fee" => amt(c.fee),
                        "state" => CASE[1], "round" => 0i64, "validators" => "[]",
                        "commit_deadline" => Val::Null, "reveal_deadline" => Val::Null, "outcome" => Val::Null,
                        "agree" => Val::Null, "disagree" => Val::Null, "opened_at" => meta.timestamp, "updated_at" => meta.timestamp,
                    };
                    batch.put(&CASES, &[id(c.caseId)], Some(row)).await?;
                }
                E::ValidatorsDrawn(d) => {
                    let validators: Vec<String> =
                        d.validators.iter().map(|v| format!("{v:#x}")).collect();
                    let list = serde_json::to_string(&validators).unwrap_or_default();
                    update(batch, &CASES, &[id(d.caseId)], |row| {
                        row.extend(row! {
                            "state" => CASE[2], "round" => d.round, "validators" => list,
                            "commit_deadline" => d.commitDeadline, "reveal_deadline" => d.revealDeadline, "updated_at" => meta.timestamp,
                        });
                    })
                    .await?;
                }
                E::RoundFailed(r) => {
                    update(batch, &CASES, &[id(r.caseId)], |row| {
                        row.extend(row! { "state" => CASE[1], "agree" => r.agree, "disagree" => r.disagree, "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::VoteCommitted(v) => {
                    let row = row! {
                        "case_id" => id(v.caseId), "validator" => addr(v.validator), "commitment" => hash(v.commitment),
                        "result_hash" => Val::Null, "output_digest" => Val::Null, "agrees_with_provider" => Val::Null, "outcome" => Val::Null,
                        "earned" => Val::Null, "slashed" => Val::Null, "updated_at" => meta.timestamp,
                    };
                    batch
                        .put(&VOTES, &[id(v.caseId), addr(v.validator)], Some(row))
                        .await?;
                }
                E::VoteRevealed(v) => {
                    update(batch, &VOTES, &[id(v.caseId), addr(v.validator)], |row| {
                        row.extend(row! { "result_hash" => hash(v.resultHash), "output_digest" => hash(v.outputDigest), "agrees_with_provider" => v.agreesWithProvider, "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::VoteSettled(v) => {
                    let outcome = match v.outcome {
                        0 => "with_majority",
                        1 => "against_majority",
                        2 => "no_show",
                        _ => "undecided",
                    };
                    update(batch, &VOTES, &[id(v.caseId), addr(v.validator)], |row| {
                        row.extend(row! { "outcome" => outcome, "earned" => amt(v.earned), "slashed" => amt(v.slashed), "updated_at" => meta.timestamp });
                    })
                    .await?;
                }
                E::CaseResolved(r) => {
                    let outcome = match r.outcome {
                        0 => "provider_right",
                        1 => "provider_wrong",
                        _ => "no_decision",
                    };
                    update(batch, &CASES, &[id(r.caseId)], |row| {
                        row.extend(row! {
                            "state" => CASE[3], "outcome" => outcome, "round" => r.round,
                            "agree" => r.agree, "disagree" => r.disagree, "updated_at" => meta.timestamp,
                        });
                    })
                    .await?;
                }
                _ => {}
            }
        }
        PondEvent::Token(_) | PondEvent::Relay(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(86_399), "1970-01-01");
        assert_eq!(day(86_400), "1970-01-02");
        assert_eq!(day(951_782_400), "2000-02-29");
        assert_eq!(day(1_764_028_800), "2025-11-25");
        assert_eq!(day(4_107_542_399), "2100-02-28");
        assert_eq!(day(4_107_542_400), "2100-03-01");
    }
}
