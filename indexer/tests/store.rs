//! The store's conformance suite, run against SQLite and PostgreSQL alike:
//! exactly-once events, journaled projections and rollback.

use pond_indexer::testkit;

use alloy::primitives::{Address, B256, U256};
use pond_bindings::vault::IVault;
use pond_indexer::{
    amount,
    events::PondEvent,
    project::{apply, Meta},
    store::{rows::BALANCES, BlockRecord, EventRecord, Store, StoreError, Val},
};

const ACCOUNT: Address = Address::repeat_byte(0xa1);

fn block(number: u64) -> BlockRecord {
    BlockRecord {
        number,
        hash: format!(
            "{:#x}",
            B256::repeat_byte(u8::try_from(number).unwrap_or(0xff))
        ),
        parent_hash: format!(
            "{:#x}",
            B256::repeat_byte(u8::try_from(number.saturating_sub(1)).unwrap_or(0))
        ),
        timestamp: 1_000 + number,
    }
}

fn record(block: u64, log_index: u64, name: &str) -> EventRecord {
    EventRecord {
        block_number: block,
        log_index,
        block_hash: format!(
            "{:#x}",
            B256::repeat_byte(u8::try_from(block).unwrap_or(0xff))
        ),
        tx_hash: format!("{:#x}", B256::repeat_byte(0x77)),
        address: format!("{ACCOUNT:#x}"),
        contract: "Vault".into(),
        name: name.into(),
        topics: "[]".into(),
        data: "0x".into(),
        timestamp: 1_000 + block,
    }
}

fn meta(block: u64, log_index: u64) -> Meta {
    Meta {
        block,
        log_index,
        tx_hash: B256::repeat_byte(0x77),
        timestamp: 1_000 + block,
    }
}

async fn write(store: &Store, number: u64, events: Vec<(u64, &str, PondEvent)>) -> u64 {
    let mut batch = store.begin(412_346).await.expect("begin");
    batch.block(&block(number)).await.expect("block");
    for (log_index, name, event) in events {
        if batch
            .event(&record(number, log_index, name))
            .await
            .expect("event")
        {
            apply(&mut batch, &meta(number, log_index), &event)
                .await
                .expect("apply");
        }
    }
    batch.commit(&block(number)).await.expect("commit").0
}

fn deposited(amount: u64) -> PondEvent {
    PondEvent::Vault(IVault::IVaultEvents::Deposited(IVault::Deposited {
        account: ACCOUNT,
        payer: ACCOUNT,
        amount: U256::from(amount),
    }))
}

fn locked(amount: u64) -> PondEvent {
    PondEvent::Vault(IVault::IVaultEvents::Locked(IVault::Locked {
        account: ACCOUNT,
        amount: U256::from(amount),
    }))
}

async fn balances(store: &Store) -> Option<(U256, U256)> {
    let row = store
        .row(&BALANCES, &[Val::Text(format!("{ACCOUNT:#x}"))])
        .await
        .expect("row")?;
    let get = |c: &str| amount::decode(row[c].text().expect("text")).expect("amount");
    Some((get("available"), get("locked")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_journal_and_rollback_on_both_backends() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        assert!(
            store.checkpoint().await.expect("checkpoint").is_none(),
            "{backend}"
        );

        assert_eq!(
            write(&store, 1, vec![(0, "Deposited", deposited(100))]).await,
            1
        );
        assert_eq!(write(&store, 2, vec![(0, "Locked", locked(40))]).await, 1);
        assert_eq!(
            balances(&store).await,
            Some((U256::from(60), U256::from(40))),
            "{backend}"
        );

        // The same events again (a replay after a crash): nothing changes.
        assert_eq!(
            write(&store, 2, vec![(0, "Locked", locked(40))]).await,
            0,
            "{backend}"
        );
        assert_eq!(
            balances(&store).await,
            Some((U256::from(60), U256::from(40))),
            "{backend}"
        );
        assert_eq!(store.event_count().await.expect("count"), 2);

        // Two changes in one block, then a rollback of that block.
        assert_eq!(
            write(
                &store,
                3,
                vec![(0, "Deposited", deposited(5)), (1, "Locked", locked(5))]
            )
            .await,
            2
        );
        assert_eq!(
            balances(&store).await,
            Some((U256::from(60), U256::from(45)))
        );
        let (removed, changed) = store.rollback_to(2).await.expect("rollback");
        assert_eq!(removed.len(), 2, "{backend}");
        assert_eq!(changed.len(), 1);
        assert_eq!(
            balances(&store).await,
            Some((U256::from(60), U256::from(40))),
            "{backend}"
        );
        let checkpoint = store.checkpoint().await.expect("checkpoint").expect("some");
        assert_eq!((checkpoint.number, checkpoint.hash), (2, block(2).hash));

        // Back past the first block: the row that did not exist is gone.
        let (removed, _) = store.rollback_to(0).await.expect("rollback");
        assert_eq!(removed.len(), 2);
        assert_eq!(balances(&store).await, None, "{backend}");
        assert!(store.checkpoint().await.expect("checkpoint").is_none());
        assert_eq!(store.event_count().await.expect("count"), 0);

        // A batch abandoned halfway leaves nothing.
        let mut batch = store.begin(412_346).await.expect("begin");
        batch.block(&block(1)).await.expect("block");
        assert!(batch
            .event(&record(1, 0, "Deposited"))
            .await
            .expect("event"));
        apply(&mut batch, &meta(1, 0), &deposited(1))
            .await
            .expect("apply");
        batch.abort().await;
        assert_eq!(store.event_count().await.expect("count"), 0, "{backend}");
        assert_eq!(balances(&store).await, None);

        // Another chain's data is refused.
        write(&store, 1, vec![]).await;
        assert!(store.begin(1).await.is_err(), "{backend}");
    }
}

/// The backfill path: a batch that declares its blocks (`cover`) inserts
/// new events together at commit, still exactly once, and keeps no block
/// hashes below the final depth except the checkpoint's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covered_batches_store_each_event_once_on_both_backends() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        let covered = |events: Vec<(u64, u64, &'static str, PondEvent)>| {
            let store = store.clone();
            async move {
                let mut batch = store.begin(412_346).await.expect("begin");
                batch.journal_from(3);
                batch.cover(1, 3).await.expect("cover");
                let mut new = 0;
                for number in 1..=3 {
                    batch.block(&block(number)).await.expect("block");
                    for (at, log_index, name, event) in &events {
                        if *at == number
                            && batch
                                .event(&record(number, *log_index, name))
                                .await
                                .expect("event")
                        {
                            new += 1;
                            apply(&mut batch, &meta(number, *log_index), event)
                                .await
                                .expect("apply");
                        }
                    }
                }
                batch.commit(&block(3)).await.expect("commit");
                new
            }
        };
        let events = || {
            vec![
                (1, 0, "Deposited", deposited(100)),
                (2, 0, "Locked", locked(40)),
                // The same log twice in one answer: counted once.
                (2, 0, "Locked", locked(40)),
                (3, 4, "Locked", locked(1)),
            ]
        };
        assert_eq!(covered(events()).await, 3, "{backend}");
        assert_eq!(
            balances(&store).await,
            Some((U256::from(59), U256::from(41))),
            "{backend}"
        );
        // Replayed after a crash: nothing new, nothing changes.
        assert_eq!(covered(events()).await, 0, "{backend}");
        assert_eq!(store.event_count().await.expect("count"), 3);
        assert_eq!(
            balances(&store).await,
            Some((U256::from(59), U256::from(41)))
        );
        // Blocks 1 and 2 are final: no hashes kept; 3 is the checkpoint.
        assert_eq!(store.block(1).await.expect("block"), None, "{backend}");
        assert_eq!(store.block(2).await.expect("block"), None);
        assert!(store.block(3).await.expect("block").is_some());
    }
}

/// A commit reports every row change in the order it happened, whatever
/// the batch's internal map order; a row changed twice in one batch (as
/// when several blocks share a backfill batch) is reported twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_change_is_reported_in_order() {
    let store = Store::open(&testkit::sqlite_url()).await.expect("open");
    let accounts: Vec<Address> = (1..=12u8).map(Address::repeat_byte).collect();
    let mut batch = store.begin(412_346).await.expect("begin");
    batch.block(&block(1)).await.expect("block");
    // Twelve accounts, newest first, then the first of them again.
    let order: Vec<Address> = accounts
        .iter()
        .rev()
        .chain(&accounts[11..])
        .copied()
        .collect();
    for (i, account) in order.iter().enumerate() {
        let event = PondEvent::Vault(IVault::IVaultEvents::Deposited(IVault::Deposited {
            account: *account,
            payer: *account,
            amount: U256::from(1),
        }));
        let log_index = u64::try_from(i).expect("index");
        assert!(batch
            .event(&record(1, log_index, "Deposited"))
            .await
            .expect("event"));
        apply(&mut batch, &meta(1, log_index), &event)
            .await
            .expect("apply");
    }
    let (_, changed) = batch.commit(&block(1)).await.expect("commit");
    let seen: Vec<(Val, String)> = changed
        .iter()
        .map(|c| {
            let row = c.row.as_ref().expect("row");
            (
                c.key[0].clone(),
                row["available"].text().expect("available").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(Val, String)> = order
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let available = if i == 12 { 2u64 } else { 1 };
            (
                Val::Text(format!("{a:#x}")),
                amount::encode(U256::from(available)),
            )
        })
        .collect();
    assert_eq!(seen, expected);
    // Stored: the last image.
    let stored = store
        .row(&BALANCES, &[Val::Text(format!("{:#x}", accounts[11]))])
        .await
        .expect("row")
        .expect("stored");
    assert_eq!(
        stored["available"],
        Val::Text(amount::encode(U256::from(2)))
    );
}

/// Both backends report each table's columns, and a select can read just
/// some of them; a column the table lacks is an error, not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selects_read_only_the_columns_asked_on_both_backends() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        assert_eq!(
            store.columns(&BALANCES),
            ["account", "available", "locked", "updated_at"],
            "{backend}"
        );
        write(&store, 1, vec![(0, "Deposited", deposited(100))]).await;
        let rows = store
            .select_columns(&BALANCES, &["locked", "account"], &[], &[], "account", 10)
            .await
            .expect("select");
        assert_eq!(rows.len(), 1, "{backend}");
        assert_eq!(
            rows[0].keys().map(String::as_str).collect::<Vec<_>>(),
            ["account", "locked"],
            "{backend}"
        );
        assert_eq!(rows[0]["account"], Val::Text(format!("{ACCOUNT:#x}")));
        let unknown = store
            .select_columns(
                &BALANCES,
                &["account; DROP TABLE balances"],
                &[],
                &[],
                "account",
                10,
            )
            .await;
        assert!(
            matches!(unknown, Err(StoreError::UnknownColumn(_))),
            "{backend}: {unknown:?}"
        );
        assert!(balances(&store).await.is_some(), "{backend}");
    }
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    assert!(Store::open("mysql://x").await.is_err());
}
