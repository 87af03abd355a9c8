//! The agent's journal: a SQLite file holding what the chain cannot tell
//! the agent after a crash, written (and synced) before each transaction
//! that depends on it. For a provider that is each deal's result and
//! commit salt (so it reveals with the salt it committed to, never a new
//! one), its offer, and its scan cursors. Everything else the agent reads
//! from the chain again, so a `kill -9` at any moment loses nothing.
//!
//! A journal belongs to one deployment and one account; opening it for
//! another is refused, so salts are never mixed between chains.

use std::path::Path;

use alloy::primitives::{Address, B256, U256};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Row, SqlitePool,
};

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed (the file is unreadable, full or locked).
    #[error("the journal {path}: {source}")]
    Sqlite {
        /// The journal file.
        path: String,
        /// SQLite's error.
        #[source]
        source: sqlx::Error,
    },
    /// The journal was written for another deployment or account.
    #[error("the journal {path} belongs to {found}, not {expected}: give this agent a data directory of its own")]
    OtherOwner {
        /// The journal file.
        path: String,
        /// Whose it is.
        found: String,
        /// Whose it was opened as.
        expected: String,
    },
    /// There is no journal yet (the agent has not run with this data
    /// directory).
    #[error("no journal at {0}: the agent has not run with this configuration yet")]
    NotFound(String),
    /// A value in the journal does not parse (edited by hand, or corrupt).
    #[error("the journal {path} holds an unreadable {what}: {value}")]
    Corrupt {
        /// The journal file.
        path: String,
        /// Which value.
        what: &'static str,
        /// The text found.
        value: String,
    },
}

/// Where a provider's deal stands, as far as the agent has taken it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Found; not yet run (or its run failed and is retried).
    New,
    /// Run; its result and salt are kept, the commitment may be in flight.
    Ran,
    /// Committed on chain.
    Committed,
    /// Revealed on chain; waiting for the creator, mediation or the judge
    /// window.
    Revealed,
    /// Ended on chain (completed, timed out or rejected).
    Finished,
    /// Given up: the job cannot be run here (the reason is kept).
    Failed,
}

impl Stage {
    const ALL: [(Self, &'static str); 6] = [
        (Self::New, "new"),
        (Self::Ran, "ran"),
        (Self::Committed, "committed"),
        (Self::Revealed, "revealed"),
        (Self::Finished, "finished"),
        (Self::Failed, "failed"),
    ];

    /// The stage's name, as stored and shown.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(stage, _)| *stage == self)
            .map_or("new", |(_, name)| name)
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(stage, _)| *stage)
    }
}

/// One deal as the journal holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealEntry {
    /// The deal.
    pub deal: U256,
    /// Its job.
    pub job: U256,
    /// How far the agent has taken it.
    pub stage: Stage,
    /// The result hash, once run.
    pub result: Option<B256>,
    /// The commit salt, kept before the commitment is sent.
    pub salt: Option<B256>,
    /// Where the outputs are served.
    pub result_uri: Option<String>,
    /// Failed runs so far.
    pub failures: u32,
    /// The last failure, or how the deal ended.
    pub note: Option<String>,
}

/// A validator's vote in one round of a case, as the journal holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoteEntry {
    /// The result hash voted for.
    pub result: B256,
    /// The output digest voted with.
    pub digest: B256,
    /// The commit salt.
    pub salt: B256,
    /// How far it went: `chosen`, `committed`, `revealed`, or `missed`
    /// (the reveal window closed first).
    pub stage: &'static str,
}

/// The stages of a vote, as stored.
pub const VOTE_STAGES: [&str; 4] = ["chosen", "committed", "revealed", "missed"];

/// The journal of one agent.
#[derive(Clone, Debug)]
pub struct Journal {
    pool: SqlitePool,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS facts (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deals (
    deal       TEXT PRIMARY KEY,
    job        TEXT NOT NULL,
    stage      TEXT NOT NULL,
    result     TEXT,
    salt       TEXT,
    result_uri TEXT,
    failures   INTEGER NOT NULL DEFAULT 0,
    note       TEXT
);
CREATE INDEX IF NOT EXISTS deals_by_stage ON deals (stage);
CREATE TABLE IF NOT EXISTS votes (
    case_id TEXT NOT NULL,
    round   INTEGER NOT NULL,
    result  TEXT NOT NULL,
    digest  TEXT NOT NULL,
    salt    TEXT NOT NULL,
    stage   TEXT NOT NULL,
    PRIMARY KEY (case_id, round)
);
";

impl Journal {
    /// Opens (creating) the journal at `path` for `owner` (e.g. `provider
    /// 0x… on chain 412346 deals 0x…`).
    ///
    /// # Errors
    /// SQLite fails, or the journal belongs to another owner.
    pub async fn open(path: &Path, owner: &str) -> Result<Self, JournalError> {
        let shown = path.display().to_string();
        let sqlite = |source| JournalError::Sqlite {
            path: shown.clone(),
            source,
        };
        // FULL: a transaction is on disk when its commit returns, which is
        // what "written before the transaction it protects" needs.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(sqlite)?;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.map_err(sqlite)?;
        let journal = Self { pool, path: shown };
        match journal.fact("owner").await? {
            Some(found) if found != owner => Err(JournalError::OtherOwner {
                path: journal.path.clone(),
                found,
                expected: owner.to_owned(),
            }),
            Some(_) => Ok(journal),
            None => {
                journal.set_fact("owner", owner).await?;
                Ok(journal)
            }
        }
    }

    /// Opens an existing journal (for status reports): never creates one.
    ///
    /// # Errors
    /// As [`Self::open`], or [`JournalError::NotFound`].
    pub async fn open_existing(path: &Path, owner: &str) -> Result<Self, JournalError> {
        if !path.is_file() {
            return Err(JournalError::NotFound(path.display().to_string()));
        }
        Self::open(path, owner).await
    }

    fn sqlite(&self) -> impl Fn(sqlx::Error) -> JournalError + '_ {
        |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// A stored fact (the offer, a cursor).
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn fact(&self, key: &str) -> Result<Option<String>, JournalError> {
        sqlx::query("SELECT value FROM facts WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.map(|r| r.get::<String, _>(0)))
            .map_err(self.sqlite())
    }

    /// A stored number (`None` when absent).
    ///
    /// # Errors
    /// SQLite fails, or the fact is not a number.
    pub async fn number(&self, key: &'static str) -> Result<Option<U256>, JournalError> {
        match self.fact(key).await? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| JournalError::Corrupt {
                path: self.path.clone(),
                what: key,
                value: text,
            }),
        }
    }

    /// A scan cursor: the first id not yet settled (1 when new).
    ///
    /// # Errors
    /// SQLite fails, or the cursor is not a number.
    pub async fn cursor(&self, key: &'static str) -> Result<U256, JournalError> {
        Ok(self.number(key).await?.unwrap_or(U256::from(1)))
    }

    /// Moves a scan cursor from `from` to `to` (written only if it moved).
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn set_cursor(&self, key: &str, from: U256, to: U256) -> Result<(), JournalError> {
        if from == to {
            return Ok(());
        }
        self.set_fact(key, &to.to_string()).await
    }

    /// Stores a fact, replacing the old value.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn set_fact(&self, key: &str, value: &str) -> Result<(), JournalError> {
        sqlx::query(
            "INSERT INTO facts (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(self.sqlite())
    }

    /// The offers the agent posted and has not seen closed (an older
    /// journal's single `offer` fact included).
    ///
    /// # Errors
    /// SQLite fails, or an id is not a number.
    pub async fn offers(&self) -> Result<Vec<U256>, JournalError> {
        let mut ids = Vec::new();
        for key in ["offers", "offer"] {
            for text in self.fact(key).await?.unwrap_or_default().split_whitespace() {
                let id = text.parse().map_err(|_| JournalError::Corrupt {
                    path: self.path.clone(),
                    what: "offers",
                    value: text.to_owned(),
                })?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// Replaces the list of the agent's offers.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn set_offers(&self, ids: &[U256]) -> Result<(), JournalError> {
        let list: Vec<String> = ids.iter().map(U256::to_string).collect();
        self.set_fact("offers", &list.join(" ")).await?;
        sqlx::query("DELETE FROM facts WHERE key = 'offer'")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Records a deal found on chain; `false` when it was known.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn add_deal(&self, deal: U256, job: U256) -> Result<bool, JournalError> {
        sqlx::query("INSERT OR IGNORE INTO deals (deal, job, stage) VALUES (?, ?, 'new')")
            .bind(deal.to_string())
            .bind(job.to_string())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(self.sqlite())
    }

    /// Keeps a deal's result, salt and outputs' URI (stage `ran`). Called
    /// before the commitment is sent; a result already kept is never
    /// replaced, so a deal has one salt whatever happens.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn record_result(
        &self,
        deal: U256,
        result: B256,
        salt: B256,
        result_uri: &str,
    ) -> Result<(), JournalError> {
        sqlx::query(
            "UPDATE deals SET stage = 'ran', result = ?, salt = ?, result_uri = ?, note = NULL \
             WHERE deal = ? AND salt IS NULL",
        )
        .bind(result.to_string())
        .bind(salt.to_string())
        .bind(result_uri)
        .bind(deal.to_string())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(self.sqlite())
    }

    /// Moves a deal to `stage`, with an optional note.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn set_stage(
        &self,
        deal: U256,
        stage: Stage,
        note: Option<&str>,
    ) -> Result<(), JournalError> {
        sqlx::query("UPDATE deals SET stage = ?, note = COALESCE(?, note) WHERE deal = ?")
            .bind(stage.name())
            .bind(note)
            .bind(deal.to_string())
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Counts a failed run of a deal; the failures so far.
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn run_failed(&self, deal: U256, why: &str) -> Result<u32, JournalError> {
        sqlx::query(
            "UPDATE deals SET failures = failures + 1, note = ? WHERE deal = ? RETURNING failures",
        )
        .bind(why)
        .bind(deal.to_string())
        .fetch_optional(&self.pool)
        .await
        .map(|row| row.map_or(0, |r| r.get::<u32, _>(0)))
        .map_err(self.sqlite())
    }

    /// Keeps a validator's vote for `round` of `case` (stage `chosen`)
    /// before its commitment is sent; a vote already kept is never
    /// replaced. The vote kept.
    ///
    /// # Errors
    /// SQLite fails, or the stored vote does not parse.
    pub async fn record_vote(
        &self,
        case: U256,
        round: u8,
        result: B256,
        digest: B256,
        salt: B256,
    ) -> Result<VoteEntry, JournalError> {
        sqlx::query(
            "INSERT OR IGNORE INTO votes (case_id, round, result, digest, salt, stage) \
             VALUES (?, ?, ?, ?, ?, 'chosen')",
        )
        .bind(case.to_string())
        .bind(round)
        .bind(result.to_string())
        .bind(digest.to_string())
        .bind(salt.to_string())
        .execute(&self.pool)
        .await
        .map_err(self.sqlite())?;
        self.vote(case, round)
            .await?
            .ok_or_else(|| JournalError::Corrupt {
                path: self.path.clone(),
                what: "vote",
                value: format!("case {case} round {round} vanished"),
            })
    }

    /// The vote kept for `round` of `case`.
    ///
    /// # Errors
    /// SQLite fails, or the vote does not parse.
    pub async fn vote(&self, case: U256, round: u8) -> Result<Option<VoteEntry>, JournalError> {
        let row = sqlx::query(
            "SELECT result, digest, salt, stage FROM votes WHERE case_id = ? AND round = ?",
        )
        .bind(case.to_string())
        .bind(round)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.sqlite())?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |what, value: String| JournalError::Corrupt {
            path: self.path.clone(),
            what,
            value,
        };
        let hash = |what, text: String| text.parse::<B256>().map_err(|_| corrupt(what, text));
        let stage: String = row.get(3);
        Ok(Some(VoteEntry {
            result: hash("vote result", row.get(0))?,
            digest: hash("vote digest", row.get(1))?,
            salt: hash("vote salt", row.get(2))?,
            stage: VOTE_STAGES
                .into_iter()
                .find(|s| *s == stage)
                .ok_or_else(|| corrupt("vote stage", stage))?,
        }))
    }

    /// Moves a vote to `stage` (one of [`VOTE_STAGES`]).
    ///
    /// # Errors
    /// SQLite fails.
    pub async fn set_vote_stage(
        &self,
        case: U256,
        round: u8,
        stage: &'static str,
    ) -> Result<(), JournalError> {
        sqlx::query("UPDATE votes SET stage = ? WHERE case_id = ? AND round = ?")
            .bind(stage)
            .bind(case.to_string())
            .bind(round)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(self.sqlite())
    }

    /// Every vote kept: (case, round, vote), oldest first.
    ///
    /// # Errors
    /// SQLite fails, or a vote does not parse.
    pub async fn all_votes(&self) -> Result<Vec<(U256, u8, VoteEntry)>, JournalError> {
        let keys = sqlx::query("SELECT case_id, round FROM votes")
            .fetch_all(&self.pool)
            .await
            .map_err(self.sqlite())?;
        let mut votes = Vec::new();
        for row in keys {
            let text: String = row.get(0);
            let case = text.parse::<U256>().map_err(|_| JournalError::Corrupt {
                path: self.path.clone(),
                what: "case id",
                value: text,
            })?;
            let round: u8 = row.get(1);
            if let Some(vote) = self.vote(case, round).await? {
                votes.push((case, round, vote));
            }
        }
        votes.sort_by_key(|(case, round, _)| (*case, *round));
        Ok(votes)
    }

    /// The deals not yet finished or given up, oldest first.
    ///
    /// # Errors
    /// SQLite fails, or an entry does not parse.
    pub async fn deals_in_flight(&self) -> Result<Vec<DealEntry>, JournalError> {
        self.deals_where("stage NOT IN ('finished', 'failed')")
            .await
    }

    /// Every deal, oldest first.
    ///
    /// # Errors
    /// SQLite fails, or an entry does not parse.
    pub async fn all_deals(&self) -> Result<Vec<DealEntry>, JournalError> {
        self.deals_where("1").await
    }

    async fn deals_where(&self, condition: &str) -> Result<Vec<DealEntry>, JournalError> {
        let rows = sqlx::query(&format!(
            "SELECT deal, job, stage, result, salt, result_uri, failures, note FROM deals \
             WHERE {condition}"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(self.sqlite())?;
        let mut entries = rows
            .iter()
            .map(|row| self.entry(row))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| e.deal);
        Ok(entries)
    }

    fn entry(&self, row: &sqlx::sqlite::SqliteRow) -> Result<DealEntry, JournalError> {
        let corrupt = |what, value: &str| JournalError::Corrupt {
            path: self.path.clone(),
            what,
            value: value.to_owned(),
        };
        let number = |what, text: String| text.parse::<U256>().map_err(|_| corrupt(what, &text));
        let hash = |what, text: Option<String>| {
            text.map(|t| t.parse::<B256>().map_err(|_| corrupt(what, &t)))
                .transpose()
        };
        let stage: String = row.get(2);
        Ok(DealEntry {
            deal: number("deal id", row.get(0))?,
            job: number("job id", row.get(1))?,
            stage: Stage::parse(&stage).ok_or_else(|| corrupt("stage", &stage))?,
            result: hash("result hash", row.get(3))?,
            salt: hash("salt", row.get(4))?,
            result_uri: row.get(5),
            failures: row.get(6),
            note: row.get(7),
        })
    }
}

/// The journal file in an agent's data directory.
#[must_use]
pub fn journal_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("journal.sqlite")
}

/// The owner string of a provider's journal.
#[must_use]
pub fn provider_owner(chain_id: u64, deals: Address, provider: Address) -> String {
    format!("provider {provider} on chain {chain_id} (deals {deals})")
}

/// The owner string of a validator's journal.
#[must_use]
pub fn validator_owner(chain_id: u64, mediation: Address, validator: Address) -> String {
    format!("validator {validator} on chain {chain_id} (mediation {mediation})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deal_keeps_its_first_salt_and_the_journal_refuses_another_owner() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("journal.sqlite");
        let owner = provider_owner(1, Address::repeat_byte(1), Address::repeat_byte(2));
        let journal = Journal::open(&path, &owner).await.expect("opened");
        let deal = U256::from(3);
        assert!(journal.add_deal(deal, U256::from(9)).await.expect("added"));
        assert!(!journal.add_deal(deal, U256::from(9)).await.expect("known"));
        let (first, second) = (B256::repeat_byte(7), B256::repeat_byte(8));
        journal
            .record_result(deal, B256::repeat_byte(1), first, "http://a/blobs/1")
            .await
            .expect("kept");
        journal
            .record_result(deal, B256::repeat_byte(2), second, "http://b")
            .await
            .expect("ignored");
        assert_eq!(journal.run_failed(deal, "boom").await.expect("counted"), 1);
        drop(journal);

        let again = Journal::open(&path, &owner).await.expect("reopened");
        let entries = again.deals_in_flight().await.expect("read");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].stage, Stage::Ran);
        assert_eq!(entries[0].salt, Some(first));
        assert_eq!(entries[0].result, Some(B256::repeat_byte(1)));
        assert_eq!(entries[0].failures, 1);
        again
            .set_stage(deal, Stage::Finished, Some("completed"))
            .await
            .expect("finished");
        assert!(again.deals_in_flight().await.expect("read").is_empty());
        drop(again);

        let other = provider_owner(2, Address::repeat_byte(1), Address::repeat_byte(2));
        assert!(matches!(
            Journal::open(&path, &other).await,
            Err(JournalError::OtherOwner { .. })
        ));
    }

    #[tokio::test]
    async fn the_offer_list_takes_over_an_older_journal_single_offer() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_file(dir.path());
        let owner = provider_owner(1, Address::repeat_byte(1), Address::repeat_byte(2));
        let journal = Journal::open(&path, &owner).await.expect("opened");
        assert!(journal.offers().await.expect("read").is_empty());
        // What a journal of an agent with one offer holds.
        journal.set_fact("offer", "7").await.expect("kept");
        assert_eq!(journal.offers().await.expect("read"), [U256::from(7)]);
        journal
            .set_offers(&[U256::from(7), U256::from(9)])
            .await
            .expect("kept");
        assert_eq!(
            journal.offers().await.expect("read"),
            [U256::from(7), U256::from(9)]
        );
        assert_eq!(journal.fact("offer").await.expect("read"), None);
        journal.set_fact("offers", "7 x").await.expect("kept");
        assert!(matches!(
            journal.offers().await,
            Err(JournalError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn a_vote_is_kept_once_per_round() {
        let dir = tempfile::tempdir().expect("dir");
        let path = journal_file(dir.path());
        let owner = validator_owner(1, Address::repeat_byte(1), Address::repeat_byte(3));
        let journal = Journal::open(&path, &owner).await.expect("opened");
        let case = U256::from(4);
        let (a, b) = (B256::repeat_byte(0xa), B256::repeat_byte(0xb));
        let kept = journal.record_vote(case, 1, a, a, a).await.expect("kept");
        assert_eq!((kept.result, kept.stage), (a, "chosen"));
        // A second working-out of the same round never replaces the first.
        let again = journal.record_vote(case, 1, b, b, b).await.expect("kept");
        assert_eq!(again, kept);
        journal
            .set_vote_stage(case, 1, "committed")
            .await
            .expect("staged");
        let round_two = journal.record_vote(case, 2, b, b, b).await.expect("kept");
        assert_eq!(round_two.result, b);
        drop(journal);
        let reopened = Journal::open(&path, &owner).await.expect("reopened");
        let votes = reopened.all_votes().await.expect("read");
        assert_eq!(votes.len(), 2);
        assert_eq!(
            (votes[0].1, votes[0].2.stage, votes[0].2.salt),
            (1, "committed", a)
        );
        assert_eq!((votes[1].1, votes[1].2.stage), (2, "chosen"));
    }
}
