//! Rows as plain values, so that one piece of code can load, write,
//! journal and restore every projection table on both backends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A column value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// A BIGINT column.
    Int(i64),
    /// A TEXT column.
    Text(String),
}

impl Val {
    /// The integer, if this is one.
    #[must_use]
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, if this is some.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<u64> for Val {
    fn from(v: u64) -> Self {
        Self::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Val {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}

impl From<u8> for Val {
    fn from(v: u8) -> Self {
        Self::Int(i64::from(v))
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Self::Int(i64::from(v))
    }
}

/// How text from the chain is stored, the same on SQLite and PostgreSQL:
/// as it is, except that U+0000 (which a PostgreSQL `TEXT` cannot hold,
/// and which would otherwise halt indexing for good) becomes U+FFFD, the
/// replacement character. Bytes that are not UTF-8 already arrive as
/// U+FFFD from the ABI decoder. The exact bytes stay in the chain's logs.
#[must_use]
pub fn stored_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        match stored_text(&v) {
            std::borrow::Cow::Borrowed(_) => Self::Text(v),
            std::borrow::Cow::Owned(text) => Self::Text(text),
        }
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(stored_text(v).into_owned())
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// A row: column → value.
pub type Row = BTreeMap<String, Val>;

/// A projection table: its name, key columns and integer columns (the
/// others are text). Must match the migrations.
#[derive(Debug)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Primary key columns, in order.
    pub key: &'static [&'static str],
    /// BIGINT columns.
    pub ints: &'static [&'static str],
    /// The ordered indexes list queries may walk besides the primary key,
    /// each as its columns in order (see [`super::query`]); the planner
    /// test checks the migrations create each one.
    pub indexes: &'static [&'static [&'static str]],
}

impl Table {
    /// Whether `column` is a BIGINT column.
    #[must_use]
    pub fn is_int(&self, column: &str) -> bool {
        self.ints.contains(&column)
    }
}

macro_rules! table {
    ($ident:ident, $name:literal, [$($key:literal),*], [$($int:literal),*]) => {
        table!($ident, $name, [$($key),*], [$($int),*], []);
    };
    ($ident:ident, $name:literal, [$($key:literal),*], [$($int:literal),*], [$([$($index:literal),*]),*]) => {
        #[doc = concat!("The `", $name, "` table.")]
        pub const $ident: Table = Table {
            name: $name,
            key: &[$($key),*],
            ints: &[$($int),*],
            indexes: &[$(&[$($index),*]),*],
        };
    };
}

table!(
    JOBS,
    "jobs",
    ["id"],
    [
        "min_gpu_count",
        "min_gpu_memory_gb",
        "min_cpu_cores",
        "min_ram_gb",
        "min_disk_gb",
        "max_duration",
        "match_deadline",
        "bidding_end",
        "posted_block",
        "posted_at",
        "updated_at"
    ],
    [
        ["state", "id"],
        ["creator", "id"],
        ["min_gpu_memory_gb", "id"],
        ["max_price", "id"],
        ["posted_at", "id"],
        ["state", "posted_at", "id"],
        ["state", "max_price", "id"],
        ["state", "min_gpu_memory_gb", "id"]
    ]
);
table!(
    BIDS,
    "bids",
    ["job_id", "provider"],
    ["outbid", "placed_at"],
    [["job_id", "price", "provider"]]
);
table!(
    DEALS,
    "deals",
    ["id"],
    [
        "execution_deadline",
        "reveal_deadline",
        "judge_deadline",
        "opened_at",
        "updated_at"
    ],
    [
        ["job_id", "id"],
        ["provider", "id"],
        ["creator", "id"],
        ["state", "id"]
    ]
);
table!(
    DEAL_HISTORY,
    "deal_history",
    ["deal_id", "seq"],
    ["seq", "block_number", "log_index", "timestamp"]
);
table!(
    PROVIDERS,
    "providers",
    ["address"],
    [
        "gpu_count",
        "gpu_memory_gb",
        "cpu_cores",
        "ram_gb",
        "disk_gb",
        "completed",
        "failed",
        "disputes_won",
        "disputes_lost",
        "registered_at",
        "updated_at"
    ]
);
table!(
    VALIDATORS,
    "validators",
    ["address"],
    [
        "active_cases",
        "with_majority",
        "against_majority",
        "no_shows",
        "undecided",
        "updated_at"
    ]
);
table!(
    OFFERS,
    "offers",
    ["id"],
    [
        "gpu_count",
        "gpu_memory_gb",
        "cpu_cores",
        "ram_gb",
        "disk_gb",
        "min_duration",
        "max_duration",
        "max_concurrent",
        "expiry",
        "active_deals",
        "cancelled",
        "posted_at"
    ],
    [["provider", "id"], ["cancelled", "id"]]
);
table!(
    CASES,
    "cases",
    ["id"],
    [
        "round",
        "commit_deadline",
        "reveal_deadline",
        "agree",
        "disagree",
        "opened_at",
        "updated_at"
    ]
);
table!(
    VOTES,
    "votes",
    ["case_id", "validator"],
    ["agrees_with_provider", "updated_at"]
);
table!(BALANCES, "balances", ["account"], ["updated_at"]);
table!(
    MARKET_DAYS,
    "market_days",
    ["day", "gpu_memory_gb"],
    ["gpu_memory_gb", "deals"]
);

table!(
    EVENTS,
    "events",
    ["block_number", "log_index"],
    ["chain_id", "block_number", "log_index", "timestamp"],
    [
        ["block_number", "log_index"],
        ["name", "block_number", "log_index"],
        ["contract", "block_number", "log_index"],
        ["contract", "name", "block_number", "log_index"]
    ]
);

/// Every projection table (raw [`EVENTS`] are not one).
pub const TABLES: [&Table; 11] = [
    &JOBS,
    &BIDS,
    &DEALS,
    &DEAL_HISTORY,
    &PROVIDERS,
    &VALIDATORS,
    &OFFERS,
    &CASES,
    &VOTES,
    &BALANCES,
    &MARKET_DAYS,
];

/// The table called `name`.
#[must_use]
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().copied().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_stored_as_is_but_nul_becomes_the_replacement_character() {
        assert_eq!(Val::from("ipfs://x"), Val::Text("ipfs://x".into()));
        assert_eq!(
            Val::from("a\0b\0".to_owned()),
            Val::Text("a\u{FFFD}b\u{FFFD}".into())
        );
        // Other control characters are storable on both backends: kept.
        assert_eq!(
            Val::from("\u{1}\u{7f}\n"),
            Val::Text("\u{1}\u{7f}\n".into())
        );
        assert!(matches!(
            stored_text("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
