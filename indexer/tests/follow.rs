//! The indexer against devnode with Pond's real contracts: the lifecycle
//! reflected in rows, reorgs of depth 1 to 10 rolled back to exactly a
//! fresh index of the canonical chain, and restarts at random points.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
};
use pond_deploy::testkit::{event, ok, tokens, Stack};
use pond_indexer::{
    amount,
    follow::{Indexer, IndexerConfig, Update},
    store::{
        rows::{BALANCES, DEALS, DEAL_HISTORY, JOBS, PROVIDERS},
        Store, Val,
    },
    testkit,
};
use tokio::sync::watch;

const RESULT: B256 = B256::repeat_byte(0xee);

fn config(stack: &Stack) -> IndexerConfig {
    let mut config = IndexerConfig::new(&stack.node.http_url(), stack.deployment.clone());
    config.ws_url = Some(stack.node.ws_url());
    config.poll_interval = Duration::from_millis(50);
    config
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), pond_indexer::follow::IndexerError>>,
}

fn start(
    store: &Store,
    config: IndexerConfig,
) -> (Running, tokio::sync::broadcast::Receiver<Update>) {
    let indexer = Indexer::new(store.clone(), config);
    let updates = indexer.subscribe();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(indexer.run(stopped));
    (Running { stop, task }, updates)
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("task").expect("indexer ran cleanly");
    }
}

/// Waits until the store's checkpoint is the chain's head block.
async fn converge(stack: &Stack, store: &Store) {
    testkit::caught_up(&stack.provider, store, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn text(row: &pond_indexer::store::Row, column: &str) -> String {
    row[column].text().unwrap_or_default().to_owned()
}

fn amount_col(row: &pond_indexer::store::Row, column: &str) -> U256 {
    amount::decode(&text(row, column)).expect("amount")
}

fn id(v: U256) -> Val {
    Val::Text(amount::encode(v))
}

fn addr(a: Address) -> Val {
    Val::Text(format!("{a:#x}"))
}

/// A direct deal, delivered and accepted; returns (job id, deal id).
async fn lifecycle(s: &Stack) -> (U256, U256) {
    let (creator, provider) = (s.accounts[1], s.accounts[2]);
    s.fund(creator, tokens(1_000)).await;
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let offer = s.post_offer(provider, tokens(80)).await;
    let receipt = s
        .post_job(creator, s.job_spec(tokens(100), offer, 0).await)
        .await;
    let matched: pond_bindings::market::IMarket::JobMatched = event(&receipt);
    s.deliver(provider, matched.dealId, RESULT).await;
    ok(s.deals()
        .acceptResult(matched.dealId)
        .from(creator)
        .send()
        .await)
    .await;
    (matched.jobId, matched.dealId)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_is_reflected_in_rows_on_both_backends() {
    let s = Stack::start().await;
    let (job, deal) = lifecycle(&s).await;
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        let (running, _) = start(&store, config(&s));
        converge(&s, &store).await;
        running.stop().await;

        let job_row = store
            .row(&JOBS, &[id(job)])
            .await
            .expect("row")
            .expect("job");
        assert_eq!(text(&job_row, "state"), "matched", "{backend}");
        assert_eq!(text(&job_row, "match_mode"), "direct");
        assert_eq!(amount_col(&job_row, "price"), tokens(80));
        assert_eq!(text(&job_row, "creator"), format!("{:#x}", s.accounts[1]));

        let deal_row = store
            .row(&DEALS, &[id(deal)])
            .await
            .expect("row")
            .expect("deal");
        assert_eq!(text(&deal_row, "state"), "completed", "{backend}");
        assert_eq!(text(&deal_row, "completion"), "accepted");
        assert_eq!(amount_col(&deal_row, "paid"), tokens(78));
        assert_eq!(amount_col(&deal_row, "fee"), tokens(2));
        assert_eq!(text(&deal_row, "result_hash"), format!("{RESULT:#x}"));

        let history: Vec<String> = store
            .all_rows(&DEAL_HISTORY)
            .await
            .expect("history")
            .iter()
            .filter(|r| r["deal_id"] == id(deal))
            .map(|r| text(r, "state"))
            .collect();
        assert_eq!(
            history,
            ["active", "committed", "revealed", "completed"],
            "{backend}"
        );

        let provider = store
            .row(&PROVIDERS, &[addr(s.accounts[2])])
            .await
            .expect("row")
            .expect("provider");
        assert_eq!(provider["completed"], Val::Int(1));
        assert_eq!(amount_col(&provider, "earnings"), tokens(78));

        // Balances equal the vault's own views, for every account seen.
        for row in store.all_rows(&BALANCES).await.expect("balances") {
            let account: Address = text(&row, "account").parse().expect("address");
            let (available, locked) = s.balances(account).await;
            assert_eq!(
                amount_col(&row, "available"),
                available,
                "{backend} {account}"
            );
            assert_eq!(amount_col(&row, "locked"), locked, "{backend} {account}");
        }
        assert!(store.event_count().await.expect("count") > 20);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_of_depth_one_to_ten_leave_a_fresh_index_of_the_canonical_chain() {
    let mut s = Stack::start().await;
    let provider = s.accounts[2];
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let store = Store::open(&testkit::sqlite_url()).await.expect("open");
    let (running, mut updates) = start(&store, config(&s));
    let mut removed_events = 0usize;
    for depth in 1..=10u64 {
        // `depth` blocks with events, indexed, then replaced by empty ones.
        for _ in 0..depth {
            s.post_offer(provider, tokens(10 + depth)).await;
        }
        converge(&s, &store).await;
        let _: serde_json::Value = s
            .provider
            .raw_request("anvil_reorg".into(), (depth, Vec::<()>::new()))
            .await
            .expect("reorg");
        s.refresh_provider();
        converge(&s, &store).await;
    }
    // One more offer after the last reorg, so the chain goes on.
    s.post_offer(provider, tokens(99)).await;
    converge(&s, &store).await;
    running.stop().await;
    while let Ok(update) = updates.try_recv() {
        if let Update::Removed { events, .. } = update {
            removed_events += events.len();
        }
    }
    // Every reorged offer's events (OfferPosted) reached subscribers as removed.
    assert_eq!(
        removed_events,
        (1..=10).sum::<usize>(),
        "removals announced"
    );

    let fresh = Store::open(&testkit::sqlite_url()).await.expect("open");
    let (again, _) = start(&fresh, config(&s));
    converge(&s, &fresh).await;
    again.stop().await;
    testkit::assert_same_index(&store, &fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_at_random_points_leave_no_gap_and_no_duplicate() {
    let s = Stack::start().await;
    let provider = s.accounts[2];
    s.fund(provider, tokens(500)).await;
    s.register_provider(provider, 2).await;
    let store = Store::open(&testkit::postgres_url().await)
        .await
        .expect("open");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..20u64 {
        let (running, _) = start(&store, config(&s));
        s.post_offer(provider, tokens(1 + round)).await;
        // Stop it hard at a pseudo-random moment: the task is aborted
        // wherever it is, mid-batch included (its transaction is lost).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(seed % 40)).await;
        running.task.abort();
        let _ = running.task.await;
    }
    let (running, _) = start(&store, config(&s));
    converge(&s, &store).await;
    running.stop().await;

    let fresh = Store::open(&testkit::sqlite_url()).await.expect("open");
    let (again, _) = start(&fresh, config(&s));
    converge(&s, &fresh).await;
    again.stop().await;
    let events = testkit::assert_same_index(&store, &fresh).await;
    let offers = events.iter().filter(|e| e.name == "OfferPosted").count();
    assert_eq!(offers, 20, "every offer exactly once");
}

/// The chain the index followed is replaced by one that shares none of its
/// recent blocks (a reset or restored chain, deeper than the reorg
/// window): by default the indexer stops with a message that says what to
/// do; told to re-index, it empties the index, announces the removal and
/// follows the new chain to exactly a fresh index of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_that_lost_more_than_the_window_is_indexed_again() {
    for (backend, url) in testkit::both().await {
        let store = Store::open(&url).await.expect("open");
        {
            let first = Stack::start().await;
            lifecycle(&first).await;
            let (running, _) = start(&store, config(&first));
            converge(&first, &store).await;
            running.stop().await;
        }
        let second = Stack::start().await;
        let provider = second.accounts[2];
        second.fund(provider, tokens(500)).await;
        second.register_provider(provider, 2).await;
        second.post_offer(provider, tokens(7)).await;
        let mut narrow = config(&second);
        narrow.reorg_window = 2;

        let refused = Indexer::new(store.clone(), narrow.clone())
            .run(watch::channel(false).1)
            .await;
        match refused {
            Err(e @ pond_indexer::follow::IndexerError::ReorgTooDeep(2)) => {
                assert!(e.to_string().contains("--reindex"), "{e}");
            }
            other => panic!("{backend}: {other:?}"),
        }

        // On PostgreSQL, another API server hears the reset through the
        // database (`pond serve`).
        let (replica_tx, mut replica) = tokio::sync::broadcast::channel(1024);
        let (stop_replica, replica_stopped) = watch::channel(false);
        if backend == "postgres" {
            pond_indexer::feed::listen(
                Store::open(&url).await.expect("replica"),
                replica_tx,
                std::sync::Arc::default(),
                replica_stopped,
            )
            .await
            .expect("listen");
        }

        narrow.reindex_after_deep_reorg = true;
        let (running, mut updates) = start(&store, narrow);
        converge(&second, &store).await;
        running.stop().await;
        let fork = second.deployment.deployment_block.saturating_sub(1);
        let removed_at = |updates: &mut tokio::sync::broadcast::Receiver<Update>| {
            let mut at = None;
            while let Ok(update) = updates.try_recv() {
                if let Update::Removed { fork, .. } = update {
                    at = Some(fork);
                }
            }
            at
        };
        assert_eq!(
            removed_at(&mut updates),
            Some(fork),
            "{backend}: subscribers told everything above the deployment is gone"
        );
        if backend == "postgres" {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut heard = removed_at(&mut replica);
            while heard.is_none() && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                heard = removed_at(&mut replica);
            }
            assert_eq!(heard, Some(fork), "the replica heard the reset");
        }
        let _ = stop_replica.send(true);
        let fresh = Store::open(&testkit::sqlite_url()).await.expect("open");
        let (again, _) = start(&fresh, config(&second));
        converge(&second, &fresh).await;
        again.stop().await;
        testkit::assert_same_index(&store, &fresh).await;
    }
}
