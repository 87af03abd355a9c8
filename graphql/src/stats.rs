//! Market statistics, remembered per indexed block.
//!
//! Counting jobs and deals by state reads every row, and a day's median
//! price reads half that day's deals: far more than one request should
//! cost. So the counts and the per-day groups are read once per
//! checkpoint (block and hash), whatever `days` a request asks for, one
//! computation at a time (a flood of `marketStats` waits for the first
//! and is then answered from memory), and a day's median is taken once,
//! and again only when that day's deals changed or the chain was rewound.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Result, SimpleObject};
use pond_indexer::{
    amount,
    store::{rows, Row, Store, Val},
};

use crate::schema::{state, store_error};

/// A count per state.
#[derive(SimpleObject, Clone)]
pub struct StateCount {
    /// State.
    pub state: String,
    /// How many.
    pub count: i64,
}

/// Volume of one day and hardware class.
#[derive(SimpleObject, Clone)]
pub struct DayVolume {
    /// Day (UTC, YYYY-MM-DD).
    pub day: String,
    /// Hardware class: minimum GPU memory in GB of the jobs.
    pub gpu_memory_gb: i64,
    /// Deals opened.
    pub deals: i64,
    /// Sum of deal prices.
    pub volume: String,
    /// Median deal price.
    pub median_price: String,
}

/// Market statistics.
#[derive(SimpleObject, Clone)]
pub struct MarketStats {
    /// Jobs per state.
    pub jobs_by_state: Vec<StateCount>,
    /// Deals per state.
    pub deals_by_state: Vec<StateCount>,
    /// Volume and median price per day and hardware class.
    pub volume_by_day: Vec<DayVolume>,
}

/// What `marketStats` remembers between requests (one per schema).
#[derive(Default)]
pub struct StatsCache(tokio::sync::Mutex<Remembered>);

/// Medians by (day, class), with the (deals, volume) they were taken
/// over: a day's median changes only with those.
type Medians = HashMap<(String, i64), ((i64, String), String)>;

#[derive(Default)]
struct Remembered {
    /// The checkpoint (number, hash) `read` is of.
    at: Option<(u64, String)>,
    /// What was read at `at`.
    read: Option<Arc<Counted>>,
    medians: Medians,
}

/// The counts and the per-day groups at one checkpoint.
struct Counted {
    jobs_by_state: Vec<StateCount>,
    deals_by_state: Vec<StateCount>,
    /// Newest day first.
    groups: Vec<Row>,
}

/// Most medians remembered (a year of days times every class).
const MAX_MEDIANS: usize = 16_384;

/// The statistics for the last `days` days with deals, from memory when
/// the index has not moved since they were read.
pub(crate) async fn market_stats(ctx: &Context<'_>, days: usize) -> Result<MarketStats> {
    let store = &state(ctx)?.store;
    let cache = ctx.data::<Arc<StatsCache>>()?;
    let at = store
        .checkpoint()
        .await
        .map_err(store_error)?
        .map(|c| (c.number, c.hash));
    // Held while reading: one reading at a time, the rest wait for it and
    // take its answer.
    let mut remembered = cache.0.lock().await;
    if remembered.at != at {
        // A rewound chain may keep a day's count and volume with other
        // prices: its medians are taken again.
        let rewound =
            matches!((&remembered.at, &at), (Some((old, _)), Some((new, _))) if new <= old);
        if rewound || remembered.medians.len() > MAX_MEDIANS {
            remembered.medians.clear();
        }
        remembered.at = at;
        remembered.read = None;
    }
    let counted = match &remembered.read {
        Some(counted) => counted.clone(),
        None => {
            let counted = Arc::new(count(store).await?);
            remembered.read = Some(counted.clone());
            counted
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut groups: Vec<&Row> = counted
        .groups
        .iter()
        .take_while(|g| {
            seen.insert(text(g, "day"));
            seen.len() <= days
        })
        .collect();
    groups.reverse();
    let mut volume_by_day = Vec::with_capacity(groups.len());
    for group in groups {
        volume_by_day.push(day_volume(store, group, &mut remembered.medians).await?);
    }
    Ok(MarketStats {
        jobs_by_state: counted.jobs_by_state.clone(),
        deals_by_state: counted.deals_by_state.clone(),
        volume_by_day,
    })
}

/// The counts and the groups, read from the store.
async fn count(store: &Store) -> Result<Counted> {
    let counts = |pairs: Vec<(String, u64)>| {
        pairs
            .into_iter()
            .map(|(state, count)| StateCount {
                state,
                count: i64::try_from(count).unwrap_or(i64::MAX),
            })
            .collect()
    };
    let jobs_by_state = counts(
        store
            .count_by(&rows::JOBS, "state")
            .await
            .map_err(store_error)?,
    );
    let deals_by_state = counts(
        store
            .count_by(&rows::DEALS, "state")
            .await
            .map_err(store_error)?,
    );
    // Kept per (day, class) by the projections.
    let groups = store
        .select(
            &rows::MARKET_DAYS,
            &[],
            &[],
            "day DESC, gpu_memory_gb",
            10_000,
        )
        .await
        .map_err(store_error)?;
    Ok(Counted {
        jobs_by_state,
        deals_by_state,
        groups,
    })
}

/// One (day, class) group with its median, taken once per change of the
/// group's deals.
async fn day_volume(store: &Store, group: &Row, medians: &mut Medians) -> Result<DayVolume> {
    let day = text(group, "day");
    let class = group
        .get("gpu_memory_gb")
        .and_then(Val::int)
        .unwrap_or_default();
    let deals = group.get("deals").and_then(Val::int).unwrap_or_default();
    let volume = plain(Some(group), "volume");
    let taken_over = (deals, volume.clone());
    let median_price = match medians.get(&(day.clone(), class)) {
        Some((over, median)) if *over == taken_over => median.clone(),
        _ => {
            let median = store
                .select_nth(
                    &rows::JOBS,
                    &[
                        "matched_day = $1".to_owned(),
                        "min_gpu_memory_gb = $2".to_owned(),
                    ],
                    &[Val::Text(day.clone()), Val::Int(class)],
                    "price",
                    u64::try_from(deals / 2).unwrap_or_default(),
                )
                .await
                .map_err(store_error)?;
            let median = plain(median.as_ref(), "price");
            medians.insert((day.clone(), class), (taken_over, median.clone()));
            median
        }
    };
    Ok(DayVolume {
        day,
        gpu_memory_gb: class,
        deals,
        volume,
        median_price,
    })
}

fn text(row: &Row, column: &str) -> String {
    row.get(column)
        .and_then(Val::text)
        .unwrap_or_default()
        .to_owned()
}

/// An amount column in plain decimal, "0" when absent.
fn plain(row: Option<&Row>, column: &str) -> String {
    row.and_then(|r| r.get(column))
        .and_then(Val::text)
        .map_or_else(|| "0".to_owned(), amount::plain)
}
