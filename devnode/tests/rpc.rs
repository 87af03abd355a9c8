//! The JSON-RPC server through real clients: alloy over HTTP and
//! WebSocket, and raw HTTP for malformed input. Standard errors, logs and
//! filters, subscriptions, snapshots, reorgs, time, impersonation, interval
//! mining and the state file.

use std::time::Duration;

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::{eip2718::Encodable2718, BlockNumberOrTag},
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, TxKind, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder, WsConnect},
    rpc::types::{Filter, TransactionRequest},
    signers::{local::PrivateKeySigner, SignerSync},
};
use futures::{SinkExt, StreamExt};
use pond_devnode::node::{Node, NodeConfig};
use serde_json::{json, Value};

/// A transfer of `value` wei from `from` to `to`, to build on (nonce,
/// gas, fees).
fn transfer(from: Address, to: Address, value: U256) -> TransactionRequest {
    use alloy::network::TransactionBuilder as _;
    TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_value(value)
}

/// Runtime code: `LOG1` with the first calldata word as the topic.
const EMITTER: [u8; 9] = [0x60, 0x00, 0x35, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00];

struct Client {
    node: Node,
    provider: DynProvider,
    accounts: Vec<Address>,
}

impl Client {
    async fn start(config: NodeConfig) -> Self {
        let node = Node::spawn(config).await.expect("devnode starts");
        let accounts = node.accounts().iter().map(|a| a.address).collect();
        let mut signers = node.accounts().into_iter().map(|a| a.signer);
        let mut wallet = EthereumWallet::from(signers.next().expect("dev account"));
        for signer in signers {
            wallet.register_signer(signer);
        }
        let provider = ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(node.http_url().parse().expect("url"))
            .erased();
        Self {
            node,
            provider,
            accounts,
        }
    }

    async fn raw(&self, body: &str) -> Value {
        let client = alloy::transports::http::reqwest::Client::new();
        let response = client
            .post(self.node.http_url())
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("http");
        response.json().await.expect("json answer")
    }

    async fn deploy_emitter(&self) -> Address {
        let tx = TransactionRequest::default()
            .with_from(self.accounts[0])
            .with_deploy_code(pond_devnode::deploy::evm_init_code(&EMITTER));
        let receipt = self.mined(tx).await;
        receipt.contract_address.expect("created")
    }

    async fn emit(&self, emitter: Address, topic: B256) -> u64 {
        let tx = TransactionRequest::default()
            .with_from(self.accounts[0])
            .with_to(emitter)
            .with_input(topic.to_vec());
        let receipt = self.mined(tx).await;
        assert!(receipt.status());
        assert_eq!(receipt.inner.logs().len(), 1);
        receipt.block_number.expect("mined")
    }

    /// Sends `tx` and waits for its receipt.
    async fn mined(&self, tx: TransactionRequest) -> alloy::rpc::types::TransactionReceipt {
        self.provider
            .send_transaction(tx)
            .await
            .expect("sent")
            .get_receipt()
            .await
            .expect("mined")
    }

    async fn dev<
        T: serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    >(
        &self,
        method: &'static str,
        params: Value,
    ) -> T {
        self.provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }
}

fn topic(i: u8) -> B256 {
    B256::repeat_byte(i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_methods_and_chain_facts() {
    let c = Client::start(NodeConfig::default()).await;
    assert_eq!(c.provider.get_chain_id().await.unwrap(), 412_346);
    let version: String = c.dev("web3_clientVersion", json!([])).await;
    assert!(version.starts_with("pond-devnode/"));
    let net: String = c.dev("net_version", json!([])).await;
    assert_eq!(net, "412346");
    let balance = c.provider.get_balance(c.accounts[0]).await.unwrap();
    assert_eq!(balance, U256::from(pond_devnode::accounts::DEV_BALANCE));
    assert_eq!(c.provider.get_block_number().await.unwrap(), 0);

    // A plain transfer: one block, receipt, balances, nonce.
    let to = Address::repeat_byte(0x42);
    let tx = transfer(c.accounts[1], to, U256::from(1_000));
    let receipt = c.mined(tx).await;
    assert!(receipt.status());
    assert_eq!(receipt.block_number, Some(1));
    assert_eq!(c.provider.get_balance(to).await.unwrap(), U256::from(1_000));
    assert_eq!(
        c.provider
            .get_transaction_count(c.accounts[1])
            .await
            .unwrap(),
        1
    );
    let block = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(1))
        .full()
        .await
        .unwrap()
        .expect("block 1");
    assert_eq!(block.transactions.len(), 1);
    let by_hash = c
        .provider
        .get_block_by_hash(block.header.hash)
        .await
        .unwrap()
        .expect("by hash");
    assert_eq!(by_hash.header.hash, block.header.hash);
    let tx = c
        .provider
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .unwrap()
        .expect("tx");
    assert_eq!(tx.block_number, Some(1));
    // History: the balance before the transfer is still readable.
    let before = c.provider.get_balance(to).number(0).await.unwrap();
    assert_eq!(before, U256::ZERO);

    // Fees.
    let price = c.provider.get_gas_price().await.unwrap();
    assert_eq!(price, u128::from(pond_devnode::chain::BASE_FEE));
    let history = c
        .provider
        .get_fee_history(2, BlockNumberOrTag::Latest, &[50.0])
        .await
        .unwrap();
    assert_eq!(history.base_fee_per_gas.len(), 3);
    let estimate = c
        .provider
        .estimate_gas(transfer(c.accounts[1], to, U256::from(1)))
        .await
        .unwrap();
    assert!((21_000..25_000).contains(&estimate), "{estimate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_standard_errors_and_the_node_keeps_serving() {
    let c = Client::start(NodeConfig::default()).await;
    let code = |v: &Value| v["error"]["code"].as_i64();
    assert_eq!(code(&c.raw("{not json").await), Some(-32700));
    assert_eq!(
        code(
            &c.raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_nope","params":[]}"#)
                .await
        ),
        Some(-32601)
    );
    assert_eq!(
        code(
            &c.raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x12"]}"#)
                .await
        ),
        Some(-32602)
    );
    assert_eq!(
        code(&c.raw(r#"{"jsonrpc":"2.0","id":1}"#).await),
        Some(-32600)
    );
    assert_eq!(
        code(&c.raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xdeadbeef"]}"#).await),
        Some(-32602)
    );

    // Signed transactions with a wrong chain id or a nonce gap.
    let signer: PrivateKeySigner = pond_devnode::accounts::dev_keys()[3].parse().unwrap();
    let raw = |chain_id: u64, nonce: u64| {
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(1),
            ..TxEip1559::default()
        };
        let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
        Bytes::from(TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718())
    };
    let send = |bytes: Bytes| {
        json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[bytes]})
            .to_string()
    };
    let wrong_chain = c.raw(&send(raw(1, 0))).await;
    assert_eq!(code(&wrong_chain), Some(-32000));
    assert!(wrong_chain["error"]["message"]
        .as_str()
        .unwrap()
        .contains("chain id"));
    let gap = c.raw(&send(raw(412_346, 5))).await;
    assert!(gap["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nonce too high"));
    let good = c.raw(&send(raw(412_346, 0))).await;
    assert!(good["result"].is_string(), "{good}");
    let replay = c.raw(&send(raw(412_346, 0))).await;
    assert_eq!(code(&replay), Some(-32000), "{replay}");

    // Unknown sender for eth_sendTransaction; a batch still answers each.
    let unknown = c
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction","params":[{"from":"0x00000000000000000000000000000000000000aa","to":"0x00000000000000000000000000000000000000bb"}]}"#)
        .await;
    assert_eq!(code(&unknown), Some(-32000));
    let batch = c
        .raw(r#"[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]},{"jsonrpc":"2.0","id":2,"method":"nope","params":[]}]"#)
        .await;
    assert_eq!(batch.as_array().map(Vec::len), Some(2));
    assert_eq!(
        c.provider.get_block_number().await.unwrap(),
        1,
        "still serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_filters_and_block_ranges() {
    let c = Client::start(NodeConfig::default()).await;
    let a = c.deploy_emitter().await;
    let b = c.deploy_emitter().await;
    let filter_id: U256 = c.dev("eth_newFilter", json!([{"address": a}])).await;
    let block_filter: U256 = c.dev("eth_newBlockFilter", json!([])).await;
    let mut blocks = Vec::new();
    for i in 1..=6u8 {
        let emitter = if i % 2 == 0 { b } else { a };
        blocks.push(c.emit(emitter, topic(i)).await);
    }
    let all = c
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap();
    assert_eq!(all.len(), 6);
    let from_a = c
        .provider
        .get_logs(&Filter::new().from_block(0).address(a))
        .await
        .unwrap();
    assert_eq!(from_a.len(), 3);
    let by_topic = c
        .provider
        .get_logs(&Filter::new().from_block(0).event_signature(topic(4)))
        .await
        .unwrap();
    assert_eq!(by_topic.len(), 1);
    assert_eq!(by_topic[0].block_number, Some(blocks[3]));
    let range = c
        .provider
        .get_logs(&Filter::new().from_block(blocks[1]).to_block(blocks[3]))
        .await
        .unwrap();
    assert_eq!(range.len(), 3);
    let hash = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(blocks[2]))
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    let at_hash = c
        .provider
        .get_logs(&Filter::new().at_block_hash(hash))
        .await
        .unwrap();
    assert_eq!(at_hash.len(), 1);
    assert_eq!(at_hash[0].topics()[0], topic(3));

    let changes: Vec<Value> = c.dev("eth_getFilterChanges", json!([filter_id])).await;
    assert_eq!(changes.len(), 3, "a's logs since the filter was made");
    let again: Vec<Value> = c.dev("eth_getFilterChanges", json!([filter_id])).await;
    assert!(again.is_empty(), "changes are drained");
    let heads: Vec<B256> = c.dev("eth_getFilterChanges", json!([block_filter])).await;
    assert_eq!(heads.len(), 6);
    let removed: bool = c.dev("eth_uninstallFilter", json!([filter_id])).await;
    assert!(removed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_see_heads_logs_and_reorg_removals() {
    let c = Client::start(NodeConfig::default()).await;
    let ws = ProviderBuilder::new()
        .connect_ws(WsConnect::new(c.node.ws_url()))
        .await
        .expect("ws");
    let emitter = c.deploy_emitter().await;
    let mut heads = ws.subscribe_blocks().await.unwrap().into_stream();
    let mut logs = ws
        .subscribe_logs(&Filter::new().address(emitter))
        .await
        .unwrap()
        .into_stream();
    for i in 1..=3u8 {
        c.emit(emitter, topic(i)).await;
    }
    let next = |d: u64| Duration::from_secs(d);
    for _ in 0..3 {
        let head = tokio::time::timeout(next(10), heads.next())
            .await
            .unwrap()
            .unwrap();
        assert!(head.number >= 2);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let log = tokio::time::timeout(next(10), logs.next())
            .await
            .unwrap()
            .unwrap();
        assert!(!log.removed);
        seen.push(log.topics()[0]);
    }
    assert_eq!(seen, vec![topic(1), topic(2), topic(3)]);

    // Replace the last two blocks with two empty ones.
    let head_before = c.provider.get_block_number().await.unwrap();
    let old_hash = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    let _: Value = c.dev("anvil_reorg", json!([2, []])).await;
    assert_eq!(c.provider.get_block_number().await.unwrap(), head_before);
    let new_hash = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .hash;
    assert_ne!(old_hash, new_hash);
    let mut removed = Vec::new();
    for _ in 0..2 {
        let log = tokio::time::timeout(next(10), logs.next())
            .await
            .unwrap()
            .unwrap();
        assert!(log.removed, "reorged logs arrive as removed");
        removed.push(log.topics()[0]);
    }
    removed.sort();
    assert_eq!(removed, vec![topic(2), topic(3)]);
    let remaining = c
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap();
    assert_eq!(remaining.len(), 1);
    // The new heads were announced too.
    for _ in 0..2 {
        tokio::time::timeout(next(10), heads.next())
            .await
            .unwrap()
            .unwrap();
    }

    // A reorg that puts a transaction into a replacement block.
    let tx = TransactionRequest::default()
        .with_from(c.accounts[0])
        .with_to(emitter)
        .with_input(topic(9).to_vec());
    let _: Value = c.dev("anvil_reorg", json!([1, [[tx, 0]]])).await;
    let latest = c
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap();
    assert_eq!(latest.last().map(|l| l.topics()[0]), Some(topic(9)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_time_impersonation_and_balances() {
    let c = Client::start(NodeConfig::default()).await;
    let emitter = c.deploy_emitter().await;
    let snapshot: U256 = c.dev("evm_snapshot", json!([])).await;
    c.emit(emitter, topic(1)).await;
    let rich = Address::repeat_byte(0x77);
    let _: Value = c.dev("anvil_setBalance", json!([rich, "0x1000"])).await;
    assert_eq!(
        c.provider.get_balance(rich).await.unwrap(),
        U256::from(0x1000)
    );
    let reverted: bool = c.dev("evm_revert", json!([snapshot])).await;
    assert!(reverted);
    assert_eq!(c.provider.get_block_number().await.unwrap(), 1);
    assert_eq!(c.provider.get_balance(rich).await.unwrap(), U256::ZERO);
    assert!(c
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap()
        .is_empty());
    let again: bool = c.dev("evm_revert", json!([snapshot])).await;
    assert!(!again, "a snapshot is used up");

    // Time.
    let before = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    let _: i64 = c.dev("evm_increaseTime", json!([3600])).await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let after = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    assert!(after >= before + 3600);
    let _: Value = c
        .dev("evm_setNextBlockTimestamp", json!([after + 100]))
        .await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let exact = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    assert_eq!(exact, after + 100);

    // Impersonation: send from an account whose key devnode lacks.
    let whale = Address::repeat_byte(0x99);
    let _: Value = c
        .dev("anvil_setBalance", json!([whale, "0xde0b6b3a7640000"]))
        .await;
    let _: Value = c.dev("anvil_impersonateAccount", json!([whale])).await;
    let hash: B256 = c
        .dev(
            "eth_sendTransaction",
            json!([{"from": whale, "to": rich, "value": "0x5"}]),
        )
        .await;
    let receipt = c
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .expect("mined");
    assert_eq!(receipt.from, whale);
    assert_eq!(c.provider.get_balance(rich).await.unwrap(), U256::from(5));
    let _: Value = c
        .dev("anvil_stopImpersonatingAccount", json!([whale]))
        .await;
    let refused = c
        .provider
        .raw_request::<_, B256>(
            "eth_sendTransaction".into(),
            json!([{"from": whale, "to": rich}]),
        )
        .await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_mining_and_manual_mining() {
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let to = Address::repeat_byte(0x42);
    let pending = c
        .provider
        .send_transaction(transfer(c.accounts[0], to, U256::from(7)).with_gas_limit(21_000))
        .await
        .unwrap();
    assert_eq!(
        c.provider.get_block_number().await.unwrap(),
        0,
        "not mined yet"
    );
    let _: String = c.dev("evm_mine", json!([])).await;
    let receipt = pending.get_receipt().await.unwrap();
    assert_eq!(receipt.block_number, Some(1));

    let _: Value = c.dev("evm_setIntervalMining", json!([100])).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mined = c.provider.get_block_number().await.unwrap();
    assert!(mined >= 3, "blocks keep coming: {mined}");
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_carries_the_chain_across_restarts() {
    let dir = std::env::temp_dir().join(format!("devnode-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chain.json");
    let _ = std::fs::remove_file(&file);
    let config = NodeConfig {
        state_file: Some(file.clone()),
        ..NodeConfig::default()
    };
    let c = Client::start(config.clone()).await;
    let emitter = c.deploy_emitter().await;
    c.emit(emitter, topic(5)).await;
    let head = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    // A base fee set for the blocks to come is part of the saved chain
    // (within twice the head's, which clients price from).
    let _: Value = c
        .dev("anvil_setNextBlockBaseFeePerGas", json!(["0x8f0d180"]))
        .await;
    c.node.stop().await.unwrap();
    assert!(file.exists());

    let c = Client::start(config).await;
    assert_eq!(c.provider.get_gas_price().await.unwrap(), 150_000_000);
    let again = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.header.hash, head.header.hash);
    assert_eq!(
        c.provider.get_code_at(emitter).await.unwrap().as_ref(),
        &EMITTER
    );
    let logs = c
        .provider
        .get_logs(&Filter::new().from_block(0))
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    // The chain goes on from there, at the base fee it was given.
    let block = c.emit(emitter, topic(6)).await;
    let mined = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Number(block))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mined.header.base_fee_per_gas, Some(150_000_000));
    c.node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// What other tools assume of a dev chain: `eth_accounts` in the printed
/// order (the Nitro dev key first, for `getSigner(0)` and `[owner] =
/// accounts`), also after a revert restores the chain; and subscription
/// ids as 0x-hex strings, which viem requires (numbers keep its watchers
/// silent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keep_their_order_and_subscription_ids_are_hex_strings() {
    use tokio_tungstenite::tungstenite::Message;

    let c = Client::start(NodeConfig::default()).await;
    let nitro: Address = "0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E"
        .parse()
        .expect("address");
    let listed = c.provider.get_accounts().await.expect("eth_accounts");
    assert_eq!(listed, c.accounts);
    assert_eq!(listed[0], nitro);
    assert!(
        listed.windows(2).any(|w| w[0] > w[1]),
        "the printed order is not the sorted one, so this checks the order"
    );
    let snapshot = c
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"evm_snapshot","params":[]}"#)
        .await;
    let reverted = c
        .raw(&format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"evm_revert","params":[{}]}}"#,
            snapshot["result"]
        ))
        .await;
    assert_eq!(reverted["result"], true, "{reverted}");
    assert_eq!(
        c.provider.get_accounts().await.expect("eth_accounts"),
        listed
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(c.node.ws_url())
        .await
        .expect("websocket");
    let mut ids = Vec::new();
    for (n, kind) in ["newHeads", "logs", "newHeads"].into_iter().enumerate() {
        let request =
            json!({"jsonrpc": "2.0", "id": n, "method": "eth_subscribe", "params": [kind]});
        ws.send(Message::text(request.to_string()))
            .await
            .expect("sent");
        let answer = loop {
            match ws.next().await.expect("an answer").expect("a frame") {
                Message::Text(text) => break serde_json::from_str::<Value>(&text).expect("JSON"),
                _ => continue,
            }
        };
        let id = answer["result"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned();
        assert!(
            id.len() == 34
                && id.starts_with("0x")
                && id[2..].chars().all(|ch| ch.is_ascii_hexdigit()),
            "{id}"
        );
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "ids are unique");
    // The id works for unsubscribing. jsonrpsee 0.26 sends the id before it
    // files the subscription (its TODO #1052), so an unsubscribe sent the
    // instant the id arrives can miss it: ask again, a bounded number of
    // times, until it is found; then it is gone for good.
    let mut found = false;
    for n in 100..150 {
        if unsubscribe(&mut ws, &ids[0], n).await == true {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(found, "eth_unsubscribe never found {}", ids[0]);
    assert_eq!(
        unsubscribe(&mut ws, &ids[0], 200).await,
        false,
        "unsubscribed once only"
    );
}

/// Sends `eth_unsubscribe` for `id` as request `n` and returns its result.
async fn unsubscribe<S>(ws: &mut S, id: &str, n: u64) -> Value
where
    S: futures::Sink<tokio_tungstenite::tungstenite::Message>
        + futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
    S::Error: std::fmt::Debug,
{
    use tokio_tungstenite::tungstenite::Message;
    let request = json!({"jsonrpc": "2.0", "id": n, "method": "eth_unsubscribe", "params": [id]});
    ws.send(Message::text(request.to_string()))
        .await
        .expect("sent");
    loop {
        if let Message::Text(text) = ws.next().await.expect("an answer").expect("a frame") {
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["id"] == n {
                return value["result"].clone();
            }
        }
    }
}

/// `anvil_setNextBlockBaseFeePerGas`: the next blocks carry the new base
/// fee (headers, `eth_gasPrice`, `eth_feeHistory`, receipts), a
/// transaction whose max fee is below it is refused, and a client that
/// fills its fees from the node goes on as before; older blocks keep theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_fee_change_reaches_every_fee_reading_and_admission() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    // (A refused transaction uses up the provider's cached nonce: it is
    // sent from an account of its own.)
    let send = |from: usize, max_fee: Option<u128>| {
        let mut tx = transfer(c.accounts[from], Address::repeat_byte(0x42), U256::from(1))
            .with_gas_limit(21_000);
        if let Some(max_fee) = max_fee {
            tx = tx
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(0);
        }
        let provider = c.provider.clone();
        async move {
            match provider.send_transaction(tx).await {
                Ok(pending) => Ok(pending.get_receipt().await.expect("receipt")),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let old = u128::from(pond_devnode::chain::BASE_FEE);
    assert_eq!(c.provider.get_gas_price().await.unwrap(), old);
    let before = send(0, None).await.expect("mined");
    assert_eq!(before.effective_gas_price, old);

    let new = old * 40;
    let _: Value = c
        .dev(
            "anvil_setNextBlockBaseFeePerGas",
            json!([format!("{new:#x}")]),
        )
        .await;
    assert_eq!(c.provider.get_gas_price().await.unwrap(), new);
    // Fees fixed before the change no longer pay for a block.
    let refused = send(3, Some(old * 2))
        .await
        .expect_err("below the base fee");
    assert!(refused.contains("basefee"), "{refused}");
    // Fees filled from the node (twice the latest block's base fee, as
    // alloy and viem estimate): mined at the new base fee once a block
    // carries it (no chain jumps 40-fold in one block).
    let _: String = c.dev("evm_mine", json!([])).await;
    let after = send(0, None).await.expect("mined");
    assert_eq!(after.effective_gas_price, new);
    let block = c
        .provider
        .get_block_by_number(after.block_number.expect("mined").into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.header.base_fee_per_gas, Some(new as u64));
    let history = c
        .provider
        .get_fee_history(3, BlockNumberOrTag::Latest, &[])
        .await
        .unwrap();
    assert_eq!(history.base_fee_per_gas, [old, new, new, new]);
    // The older block keeps its base fee.
    let first = c
        .provider
        .get_block_by_number(before.block_number.expect("mined").into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.header.base_fee_per_gas, Some(old as u64));
    // evm_revert brings back the base fee set at the snapshot.
    let snapshot: String = c.dev("evm_snapshot", json!([])).await;
    let _: Value = c
        .dev("anvil_setNextBlockBaseFeePerGas", json!(["0x1"]))
        .await;
    assert_eq!(c.provider.get_gas_price().await.unwrap(), 1);
    let reverted: bool = c.dev("evm_revert", json!([snapshot])).await;
    assert!(reverted);
    assert_eq!(c.provider.get_gas_price().await.unwrap(), new);
}

/// Arbitrum drops the tip: a transaction offering 1 gwei above the base
/// fee (or a legacy gas price above it) pays the base fee and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tip_is_not_charged() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let base = u128::from(pond_devnode::chain::BASE_FEE);
    let to = Address::repeat_byte(0x43);
    for legacy in [false, true] {
        let mut tx = transfer(c.accounts[1], to, U256::from(5)).with_gas_limit(21_000);
        tx = if legacy {
            tx.with_gas_price(base * 30)
        } else {
            tx.with_max_fee_per_gas(base * 30)
                .with_max_priority_fee_per_gas(1_000_000_000)
        };
        let before = c.provider.get_balance(c.accounts[1]).await.unwrap();
        let receipt = c.mined(tx).await;
        assert_eq!(receipt.effective_gas_price, base, "legacy: {legacy}");
        let after = c.provider.get_balance(c.accounts[1]).await.unwrap();
        assert_eq!(
            before - after,
            U256::from(5) + U256::from(u128::from(receipt.gas_used) * base),
            "legacy: {legacy}"
        );
    }
    // A tip above the max fee is still refused.
    let bad = TransactionRequest::default()
        .with_from(c.accounts[1])
        .with_to(to)
        .with_gas_limit(21_000)
        .with_max_fee_per_gas(base * 2)
        .with_max_priority_fee_per_gas(base * 3);
    let refused = c
        .provider
        .send_transaction(bad)
        .await
        .expect_err("tip above max fee");
    assert!(refused.to_string().contains("priority fee"), "{refused}");
}

/// With automine off, a sender's transactions queue by nonce: the second
/// is admitted while the first waits (the pool knows the pending nonce,
/// as `eth_getTransactionCount(pending)` says), and both are mined in
/// order into the next block (issue 15, defect 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_automine_off_a_senders_transactions_queue_by_nonce() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let from = c.accounts[4];
    let mut pending = Vec::new();
    for nonce in 0..3u64 {
        let tx = transfer(from, Address::repeat_byte(0x44), U256::from(1 + nonce))
            .with_nonce(nonce)
            .with_gas_limit(21_000);
        pending.push(c.provider.send_transaction(tx).await.expect("admitted"));
        let count: alloy::primitives::U64 = c
            .dev("eth_getTransactionCount", json!([from, "pending"]))
            .await;
        assert_eq!(count, alloy::primitives::U64::from(nonce + 1));
    }
    // A gap is still refused.
    let gap = TransactionRequest::default()
        .with_from(from)
        .with_to(Address::repeat_byte(0x44))
        .with_nonce(5)
        .with_gas_limit(21_000);
    assert!(c.provider.send_transaction(gap).await.is_err());
    let _: String = c.dev("evm_mine", json!([])).await;
    for (i, tx) in pending.into_iter().enumerate() {
        let receipt = tx.get_receipt().await.expect("mined");
        assert!(receipt.status());
        assert_eq!(receipt.block_number, Some(1));
        assert_eq!(receipt.transaction_index, Some(i as u64));
    }
    assert_eq!(
        c.provider
            .get_balance(Address::repeat_byte(0x44))
            .await
            .unwrap(),
        U256::from(6)
    );
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

/// Dev changes are seen at `latest` by calls and estimates at once, as by
/// `eth_getCode` and transactions, not only after the next block (issue
/// 15, defect 3); an older block still answers without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_changes_reach_calls_and_estimates_at_latest() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: String = c.dev("evm_mine", json!([])).await;
    // Runtime code: return the word 42.
    let answer = Address::repeat_byte(0x55);
    let code = "0x602a60005260206000f3";
    let _: Value = c.dev("anvil_setCode", json!([answer, code])).await;
    let call = TransactionRequest::default().with_to(answer);
    let out = c.provider.call(call.clone()).await.expect("call");
    assert_eq!(U256::from_be_slice(&out), U256::from(42));
    // Once a block carries the change, the block before it has no code
    // there.
    let _: String = c.dev("evm_mine", json!([])).await;
    let before = c
        .provider
        .call(call)
        .block(BlockNumberOrTag::Number(1).into())
        .await
        .expect("call");
    assert!(before.is_empty(), "{before}");

    // A balance set now is what a call reads now (runtime: return
    // SELFBALANCE); an estimate runs the code set now.
    let rich = Address::repeat_byte(0x56);
    let _: Value = c
        .dev("anvil_setCode", json!([rich, "0x4760005260206000f3"]))
        .await;
    let _: Value = c.dev("anvil_setBalance", json!([rich, "0x1234"])).await;
    let call = TransactionRequest::default().with_to(rich);
    let out = c.provider.call(call.clone()).await.expect("call");
    assert_eq!(U256::from_be_slice(&out), U256::from(0x1234));
    let gas = c.provider.estimate_gas(call).await.expect("estimate");
    assert!(gas > 21_000, "the code ran: {gas}");
}

/// A Stylus program that traps (every Rust panic does) is an ordinary
/// revert without data, as on Nitro: `eth_call` answers "execution
/// reverted" (code 3), and a transaction fails with the unused gas
/// returned. Running out of ink spends all the gas (issue 15, defect 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_program_reverts_and_returns_the_unused_gas() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let program = |body: &str| {
        wat::parse_str(format!(
            r#"(module
                (import "vm_hooks" "read_args" (func (param i32)))
                (import "vm_hooks" "write_result" (func (param i32 i32)))
                (memory (export "memory") 1 128)
                (func (export "user_entrypoint") (param i32) (result i32) {body}))"#
        ))
        .expect("test module parses")
    };
    let trap =
        pond_devnode::deploy::deploy_program(&c.provider, c.accounts[0], &program("unreachable"))
            .await
            .expect("deployed")
            .address;
    let spin = pond_devnode::deploy::deploy_program(
        &c.provider,
        c.accounts[0],
        &program("(loop br 0) i32.const 0"),
    )
    .await
    .expect("deployed")
    .address;

    let answer = c
        .raw(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"to":"{trap:#x}"}},"latest"]}}"#
        ))
        .await;
    assert_eq!(answer["error"]["code"], 3, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("execution reverted")),
        "{answer}"
    );

    let send = |to: Address, gas: u64| {
        c.mined(
            TransactionRequest::default()
                .with_from(c.accounts[0])
                .with_to(to)
                .with_gas_limit(gas),
        )
    };
    let trapped = send(trap, 1_000_000).await;
    assert!(!trapped.status());
    assert!(
        trapped.gas_used < 200_000,
        "unused gas returned: {}",
        trapped.gas_used
    );
    let spun = send(spin, 300_000).await;
    assert!(!spun.status());
    assert_eq!(spun.gas_used, 300_000, "out of ink spends it all");
}

/// A program created and activated in one transaction (what a factory,
/// or the SDK's constructor flow through a deployer, does): ArbWasm sees
/// the new account's code hash, not zero, so the program is activated and
/// runs (issue 15, defect 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_created_and_activated_in_one_transaction_runs() {
    use alloy::{network::TransactionBuilder as _, sol_types::SolCall};
    use pond_devnode::arbwasm::{IArbWasm, ARB_WASM};
    let c = Client::start(NodeConfig::default()).await;
    // Runtime of a factory: CREATE the calldata as init code, then
    // ArbWasm.activateProgram(created) with the call's value; returns the
    // program's address, or bubbles ArbWasm's revert.
    let selector = IArbWasm::activateProgramCall::SELECTOR;
    let mut factory = vec![
        0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // calldatacopy(0, 0, calldatasize)
        0x36, 0x60, 0x00, 0x60, 0x00, 0xf0, // create(0, 0, calldatasize)
        0x63, // push4 selector
    ];
    factory.extend_from_slice(&selector);
    factory.extend_from_slice(&[
        0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52, // mstore(0, selector << 224)
        0x80, 0x60, 0x04, 0x52, // mstore(4, created)
        0x60, 0x00, 0x60, 0x00, 0x60, 0x24, 0x60, 0x00, 0x34, 0x60, 0x71, 0x5a,
        0xf1, // call(gas, 0x71, callvalue, 0, 36, 0, 0)
        0x15, 0x60, 0x00, // iszero, push1 <revert> (patched below)
        0x57, // jumpi
        0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3, // mstore(0, created); return(0, 32)
        0x5b, 0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e, 0x3d, 0x60, 0x00,
        0xfd, // revert with the returned data
    ]);
    let revert_at = u8::try_from(factory.iter().rposition(|b| *b == 0x5b).expect("jumpdest"))
        .expect("short code");
    let jumpi = factory.iter().position(|b| *b == 0x57).expect("jumpi");
    factory[jumpi - 1] = revert_at;
    let deployed = c
        .mined(
            TransactionRequest::default()
                .with_from(c.accounts[0])
                .with_deploy_code(pond_devnode::deploy::evm_init_code(&factory)),
        )
        .await;
    let factory = deployed.contract_address.expect("factory");

    let wasm = wat::parse_str(
        r#"(module
            (import "vm_hooks" "read_args" (func (param i32)))
            (import "vm_hooks" "write_result" (func (param i32 i32)))
            (memory (export "memory") 1 128)
            (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
    )
    .expect("test module parses");
    let code = pond_stylus_code::deployable_code(&wasm).expect("stylus code");
    let receipt = c
        .provider
        .send_transaction(
            transfer(
                c.accounts[0],
                factory,
                U256::from(10u64).pow(U256::from(18)),
            )
            .with_input(pond_devnode::deploy::evm_init_code(&code)),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status(), "created and activated in one transaction");
    let program = factory.create(1);
    let version = c
        .provider
        .call(
            TransactionRequest::default()
                .with_to(ARB_WASM)
                .with_input(IArbWasm::programVersionCall { program }.abi_encode()),
        )
        .await
        .expect("programVersion");
    let version = IArbWasm::programVersionCall::abi_decode_returns(&version).expect("u16");
    assert_eq!(version, pond_devnode::arbwasm::STYLUS_VERSION);
    let ran = c
        .mined(
            TransactionRequest::default()
                .with_from(c.accounts[0])
                .with_to(program),
        )
        .await;
    assert!(ran.status(), "the program runs");
}

/// `PREVRANDAO` (post-merge `DIFFICULTY`) is the constant 1, as Arbitrum
/// documents it, in every block (issue 15, defect 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevrandao_is_the_constant_one() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let probe = Address::repeat_byte(0x58);
    // Runtime: return PREVRANDAO.
    let _: Value = c
        .dev("anvil_setCode", json!([probe, "0x4460005260206000f3"]))
        .await;
    for _ in 0..2 {
        let out = c
            .provider
            .call(TransactionRequest::default().with_to(probe))
            .await
            .expect("call");
        assert_eq!(U256::from_be_slice(&out), U256::from(1));
        let _: String = c.dev("evm_mine", json!([])).await;
    }
    let head = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.header.mix_hash, B256::with_last_byte(1));
}

/// Blocks carry `size`, their RLP length, as geth and anvil give it
/// (Ponder refuses a block without it), also for the genesis block and an
/// empty block (issue 15, defect 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_carry_their_size() {
    let c = Client::start(NodeConfig::default()).await;
    let emitter = c.deploy_emitter().await;
    c.emit(emitter, topic(1)).await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let mut sizes = Vec::new();
    for number in 0..=c.provider.get_block_number().await.unwrap() {
        let raw: Value = c
            .dev(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
            )
            .await;
        let size = raw["size"]
            .as_str()
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .unwrap_or_else(|| panic!("block {number} has no size: {raw}"));
        sizes.push(size);
    }
    // Each is the length of the block's RLP encoding.
    for (number, size) in sizes.iter().enumerate() {
        let full = c
            .provider
            .get_block_by_number((number as u64).into())
            .full()
            .await
            .unwrap()
            .unwrap();
        let block = full.map_transactions(|tx| tx.into_inner()).into_consensus();
        assert_eq!(
            *size as usize,
            alloy::rlp::Encodable::length(&block),
            "block {number}"
        );
    }
    let empty = *sizes.last().expect("blocks");
    assert!(sizes[1] > empty + 100, "{sizes:?}");
}

/// A Stylus program reads the price the transaction pays per gas (the
/// base fee, the tip dropped), as EVM `GASPRICE` does, not its max fee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_reads_the_gas_price_paid() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let wasm = wat::parse_str(
        r#"(module
            (import "vm_hooks" "read_args" (func (param i32)))
            (import "vm_hooks" "write_result" (func (param i32 i32)))
            (import "vm_hooks" "tx_gas_price" (func $price (param i32)))
            (memory (export "memory") 1 128)
            (func (export "user_entrypoint") (param i32) (result i32)
                i32.const 0 call $price
                i32.const 0 i32.const 32 call 1
                i32.const 0))"#,
    )
    .expect("test module parses");
    let program = pond_devnode::deploy::deploy_program(&c.provider, c.accounts[0], &wasm)
        .await
        .expect("deployed")
        .address;
    let base = u128::from(pond_devnode::chain::BASE_FEE);
    let out = c
        .provider
        .call(
            TransactionRequest::default()
                .with_from(c.accounts[0])
                .with_to(program)
                .with_max_fee_per_gas(base * 3)
                .with_max_priority_fee_per_gas(base),
        )
        .await
        .expect("call");
    assert_eq!(U256::from_be_slice(&out), U256::from(base));
}

/// With automine off, a sender cannot queue more than it can pay for: a
/// transaction whose cost, with the sender's pending ones, exceeds its
/// balance is refused at once instead of being dropped at mining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_automine_off_pending_spending_counts_against_the_balance() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let poor = c.accounts[5];
    let _: Value = c
        .dev("anvil_setBalance", json!([poor, "0x38d7ea4c68000"]))
        .await; // 0.001 ether
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let spend = |nonce: u64| {
        transfer(
            poor,
            Address::repeat_byte(0x59),
            U256::from(6u64) * U256::from(10u64).pow(U256::from(14)),
        )
        .with_nonce(nonce)
        .with_gas_limit(21_000)
        .with_max_fee_per_gas(u128::from(pond_devnode::chain::BASE_FEE))
        .with_max_priority_fee_per_gas(0)
    };
    let first = c
        .provider
        .send_transaction(spend(0))
        .await
        .expect("admitted");
    let second = c.provider.send_transaction(spend(1)).await;
    let refused = second.expect_err("0.0006 + 0.0006 ether exceeds 0.001");
    assert!(
        refused.to_string().contains("insufficient funds"),
        "{refused}"
    );
    let _: String = c.dev("evm_mine", json!([])).await;
    assert!(first.get_receipt().await.expect("mined").status());
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

/// Requests a stranger could use to stall the chain's single thread or
/// fill it are refused with a clear error: a transaction over 128 KiB (a
/// 60 MiB one was mined), a log filter naming more than 1 000 addresses
/// (10 000 took 16 s), and a body over 16 MiB; the node keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_transactions_filters_and_bodies_are_refused() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let big = TransactionRequest::default()
        .with_from(c.accounts[0])
        .with_to(Address::repeat_byte(0x61))
        .with_input(vec![0u8; 200 * 1024])
        .with_gas_limit(30_000_000);
    let refused = c
        .provider
        .send_transaction(big)
        .await
        .expect_err("too large");
    assert!(
        refused.to_string().contains("exceeds the maximum"),
        "{refused}"
    );

    let addresses: Vec<String> = (0..1_001u32)
        .map(|i| format!("{:#x}", Address::left_padding_from(&i.to_be_bytes())))
        .collect();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
        "params": [{"fromBlock": "0x0", "address": addresses}]});
    let answer = c.raw(&body.to_string()).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1001 addresses")),
        "{answer}"
    );

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":["{}"]}}"#,
        "x".repeat(17 * 1024 * 1024)
    );
    let client = alloy::transports::http::reqwest::Client::new();
    let status = client
        .post(c.node.http_url())
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert!(matches!(status, Ok(413) | Err(_)), "{status:?}");
    assert!(c.provider.get_block_number().await.is_ok(), "still serving");
}

/// Block lookups by hash and index, a block's receipts, and Hardhat's
/// names of the dev controls answer as geth and anvil do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_lookups_by_index_receipts_and_hardhat_aliases() {
    let c = Client::start(NodeConfig::default()).await;
    let emitter = c.deploy_emitter().await;
    let number = c.emit(emitter, topic(9)).await;
    let block = c
        .provider
        .get_block_by_number(number.into())
        .await
        .unwrap()
        .unwrap();
    let hash = block.header.hash;
    let tx_hash = block.transactions.hashes().next().expect("one transaction");

    let count: alloy::primitives::U64 = c
        .dev("eth_getBlockTransactionCountByHash", json!([hash]))
        .await;
    assert_eq!(count.to::<u64>(), 1);
    let by_number: Value = c
        .dev(
            "eth_getTransactionByBlockNumberAndIndex",
            json!([format!("{number:#x}"), "0x0"]),
        )
        .await;
    assert_eq!(by_number["hash"], json!(tx_hash));
    let by_hash: Value = c
        .dev(
            "eth_getTransactionByBlockHashAndIndex",
            json!([hash, "0x0"]),
        )
        .await;
    assert_eq!(by_hash["hash"], json!(tx_hash));
    let past_the_end: Value = c
        .dev(
            "eth_getTransactionByBlockHashAndIndex",
            json!([hash, "0x1"]),
        )
        .await;
    assert!(past_the_end.is_null());
    let receipts: Value = c
        .dev("eth_getBlockReceipts", json!([format!("{number:#x}")]))
        .await;
    assert_eq!(receipts.as_array().map(Vec::len), Some(1));
    assert_eq!(receipts[0]["transactionHash"], json!(tx_hash));

    let someone = Address::repeat_byte(0x62);
    let _: Value = c.dev("hardhat_setBalance", json!([someone, "0x2a"])).await;
    assert_eq!(
        c.provider.get_balance(someone).await.unwrap(),
        U256::from(42)
    );
    let before = c.provider.get_block_number().await.unwrap();
    let _: Value = c.dev("hardhat_mine", json!(["0x2"])).await;
    assert_eq!(c.provider.get_block_number().await.unwrap(), before + 2);
}

/// A call that would run for minutes (a tight Stylus loop; it was 0.9 s
/// per 10 million gas up to 2^32 gas) ends by the call deadline or the
/// 50 M gas cap, and runs off the chain's thread: meanwhile the node
/// answers reads and mines transactions as usual. An EVM loop asking for
/// 10^10 gas is capped too, and a transaction asking for more gas than a
/// block holds is refused (issue 16, item 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_would_run_for_minutes_is_bounded_and_the_chain_goes_on() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let spin = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (func (export "user_entrypoint") (param i32) (result i32) (loop br 0) i32.const 0))"#,
    )
    .expect("test module parses");
    let spin = pond_devnode::deploy::deploy_program(&c.provider, c.accounts[0], &spin)
        .await
        .expect("deployed")
        .address;
    // JUMPDEST PUSH1 0 JUMP: an endless EVM loop.
    let evm_loop = {
        let tx = TransactionRequest::default()
            .with_from(c.accounts[0])
            .with_deploy_code(pond_devnode::deploy::evm_init_code(&[
                0x5b, 0x60, 0x00, 0x56,
            ]));
        c.mined(tx).await.contract_address.expect("created")
    };

    let started = std::time::Instant::now();
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"to":"{spin:#x}"}},"latest"]}}"#
    );
    let url = c.node.http_url();
    let slow = tokio::spawn(async move {
        alloy::transports::http::reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("http")
            .json::<Value>()
            .await
            .expect("json")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The chain answers while the call runs.
    let answered = std::time::Instant::now();
    let before = c.provider.get_block_number().await.expect("block number");
    let receipt = c
        .mined(transfer(
            c.accounts[1],
            Address::repeat_byte(0x45),
            U256::from(1),
        ))
        .await;
    assert_eq!(receipt.block_number, Some(before + 1));
    let meanwhile = answered.elapsed();
    let answer = slow.await.expect("call");
    let elapsed = started.elapsed();
    assert!(answer["error"].is_object(), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("execution aborted (timeout = 5s)") || message.contains("out of gas"),
        "{answer}"
    );
    assert!(
        meanwhile < Duration::from_secs(2),
        "the chain waited {meanwhile:?}"
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "the call took {elapsed:?}"
    );

    let capped = std::time::Instant::now();
    let answer = c
        .raw(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"to":"{evm_loop:#x}","gas":"0x2540be400"}},"latest"]}}"#
        ))
        .await;
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("out of gas") || m.contains("timeout")),
        "{answer}"
    );
    assert!(
        capped.elapsed() < Duration::from_secs(15),
        "{:?}",
        capped.elapsed()
    );

    let estimate = c
        .raw(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_estimateGas","params":[{{"from":"{:#x}","to":"{spin:#x}"}}]}}"#,
            c.accounts[0]
        ))
        .await;
    assert!(estimate["error"].is_object(), "{estimate}");

    // A dev account's transaction without gas is estimated off the chain's
    // thread too: refused in bounded time.
    let unbounded = std::time::Instant::now();
    let answer = c
        .raw(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction","params":[{{"from":"{:#x}","to":"{spin:#x}"}}]}}"#,
            c.accounts[0]
        ))
        .await;
    assert!(answer["error"].is_object(), "{answer}");
    assert!(
        unbounded.elapsed() < Duration::from_secs(15),
        "{:?}",
        unbounded.elapsed()
    );

    let greedy = TransactionRequest::default()
        .with_from(c.accounts[0])
        .with_to(evm_loop)
        .with_gas_limit(10_000_000_000);
    let refused = c
        .provider
        .send_transaction(greedy)
        .await
        .expect_err("refused");
    assert!(
        refused.to_string().contains(
            "exceeds block gas limit: transaction gas limit 10000000000, at most 32000000"
        ),
        "{refused}"
    );
}

/// With automine off, a block takes transactions up to Arbitrum's block
/// gas limit by what they ask for, in arrival order; the rest wait for the
/// next block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_holds_at_most_the_block_gas_limit() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    // Three 15 M transfers from three senders.
    let send_three = || async {
        let mut pending = Vec::new();
        for i in 0..3u8 {
            let tx = transfer(
                c.accounts[usize::from(i) + 1],
                Address::repeat_byte(0x46),
                U256::from(1),
            )
            .with_gas_limit(15_000_000);
            pending.push(c.provider.send_transaction(tx).await.expect("admitted"));
        }
        pending
    };
    let pending = send_three().await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let mut blocks = Vec::new();
    for tx in pending {
        let receipt = tx.get_receipt().await.expect("mined");
        assert!(receipt.status());
        blocks.push(receipt.block_number.expect("mined"));
    }
    assert_eq!(blocks, vec![1, 1, 2], "two of 15 M fit in a 32 M block");
    // Turning automine back on mines everything pending, however many
    // blocks it takes.
    let pending = send_three().await;
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
    for tx in pending {
        assert!(tx.get_receipt().await.expect("mined").status());
    }
}

/// Idle sockets cannot stop the RPC server (issue 16, item 9): one client
/// address keeps only its share, a connection that never sends a request
/// is closed after the short limit, and meanwhile another client is
/// answered and a WebSocket subscriber stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_cannot_stall_the_rpc_server() {
    use pond_listener::testkit::{post_from, silent_connections_are_capped_and_closed};
    let c = Client::start(NodeConfig {
        connection_limits: pond_listener::ConnectionLimits {
            max_connections: 64,
            max_per_peer: 4,
            idle_before_answer: Duration::from_secs(1),
            idle: Duration::from_secs(30),
        },
        ..NodeConfig::default()
    })
    .await;
    let addr = c.node.addr;
    let ws = alloy::providers::ProviderBuilder::new()
        .connect_ws(WsConnect::new(c.node.ws_url()))
        .await
        .expect("ws");
    let mut heads = ws
        .subscribe_blocks()
        .await
        .expect("subscribed")
        .into_stream();

    silent_connections_are_capped_and_closed("127.0.0.2", addr, 10, 4, Duration::from_secs(1))
        .await;

    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let answer = post_from("127.0.0.3", addr, "/", body).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"result\":\"0x64aba\""), "{answer}");

    // The subscriber, quiet for longer than the short limit, still hears
    // the next block.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let head = tokio::time::timeout(Duration::from_secs(10), heads.next())
        .await
        .expect("a head in time")
        .expect("a head");
    assert_eq!(head.number, 1);
}

/// A pending transaction whose fee cap a rising base fee has passed waits
/// for a cheaper block, with its sender's later ones, instead of being
/// dropped silently (issue 15, a devnode leftover).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_transaction_priced_out_by_the_base_fee_waits() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let from = c.accounts[5];
    let mut sent = Vec::new();
    for nonce in 0..2u64 {
        let tx = transfer(from, Address::repeat_byte(0x47), U256::from(1))
            .with_nonce(nonce)
            .with_gas_limit(21_000)
            .with_max_fee_per_gas(200_000_000)
            .with_max_priority_fee_per_gas(0);
        sent.push(c.provider.send_transaction(tx).await.expect("admitted"));
    }
    // 0.3 gwei: above both transactions' cap.
    let _: Value = c
        .dev("anvil_setNextBlockBaseFeePerGas", json!(["0x11e1a300"]))
        .await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let count = |tag: &'static str| {
        let c = &c;
        async move {
            let n: alloy::primitives::U64 =
                c.dev("eth_getTransactionCount", json!([from, tag])).await;
            n
        }
    };
    assert_eq!(count("latest").await, alloy::primitives::U64::from(0));
    assert_eq!(
        count("pending").await,
        alloy::primitives::U64::from(2),
        "still pending"
    );
    // Waiting transactions take no room in a block: a 32 M transaction of
    // another sender that pays is mined, though it would not fit next to
    // them.
    let big = transfer(c.accounts[6], Address::repeat_byte(0x47), U256::from(1))
        .with_gas_limit(32_000_000)
        .with_max_fee_per_gas(1_000_000_000)
        .with_max_priority_fee_per_gas(0);
    let big = c.provider.send_transaction(big).await.expect("admitted");
    let _: String = c.dev("evm_mine", json!([])).await;
    assert_eq!(
        big.get_receipt().await.expect("mined").block_number,
        Some(2)
    );
    let _: Value = c
        .dev("anvil_setNextBlockBaseFeePerGas", json!(["0x5f5e100"]))
        .await;
    let _: String = c.dev("evm_mine", json!([])).await;
    for tx in sent {
        let receipt = tx.get_receipt().await.expect("mined");
        assert!(receipt.status());
        assert_eq!(receipt.block_number, Some(3));
    }
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

/// With automine off, a pending transaction is replaced by one of the same
/// sender and nonce offering at least 10 % more, as in geth's pool; less is
/// "replacement transaction underpriced" (issue 15, a devnode leftover).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_transaction_is_replaced_by_a_better_paid_one() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let from = c.accounts[6];
    let to = Address::repeat_byte(0x48);
    let tx = |value: u64, max_fee: u128| {
        transfer(from, to, U256::from(value))
            .with_nonce(0)
            .with_gas_limit(21_000)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(0)
    };
    let first = c
        .provider
        .send_transaction(tx(1, 200_000_000))
        .await
        .expect("admitted");
    let refused = c
        .provider
        .send_transaction(tx(2, 210_000_000))
        .await
        .expect_err("5 % more is not enough");
    assert!(
        refused
            .to_string()
            .contains("replacement transaction underpriced"),
        "{refused}"
    );
    let second = c
        .provider
        .send_transaction(tx(3, 220_000_000))
        .await
        .expect("replaces");
    let _: String = c.dev("evm_mine", json!([])).await;
    let receipt = second.get_receipt().await.expect("mined");
    assert!(receipt.status());
    assert_eq!(
        c.provider.get_balance(to).await.expect("balance"),
        U256::from(3)
    );
    let replaced = c
        .provider
        .get_transaction_by_hash(*first.tx_hash())
        .await
        .expect("lookup");
    assert!(replaced.is_none(), "the replaced transaction is gone");
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

/// The pending pool can be read (`txpool_status`, `txpool_content`, as
/// geth answers them) and emptied (`anvil_dropTransaction` drops one and
/// its sender's later ones, `anvil_dropAllTransactions` all) (issue 15,
/// methods to add).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pending_pool_can_be_read_and_emptied() {
    use alloy::network::TransactionBuilder as _;
    let c = Client::start(NodeConfig::default()).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let mut hashes = Vec::new();
    for (account, nonce) in [(7usize, 0u64), (7, 1), (8, 0)] {
        let tx = transfer(
            c.accounts[account],
            Address::repeat_byte(0x49),
            U256::from(1),
        )
        .with_nonce(nonce)
        .with_gas_limit(21_000);
        hashes.push(
            *c.provider
                .send_transaction(tx)
                .await
                .expect("admitted")
                .tx_hash(),
        );
    }
    let status: Value = c.dev("txpool_status", json!([])).await;
    assert_eq!(status, json!({"pending": "0x3", "queued": "0x0"}));
    let content: Value = c.dev("txpool_content", json!([])).await;
    // Keys and addresses checksummed, as geth gives them.
    let by_sender = &content["pending"][c.accounts[7].to_checksum(None)];
    assert_eq!(by_sender["1"]["hash"], json!(hashes[1]), "{content}");
    assert_eq!(by_sender["0"]["blockNumber"], Value::Null, "{content}");
    // geth's one-line summaries.
    let inspect: Value = c.dev("txpool_inspect", json!([])).await;
    let line = inspect["pending"][c.accounts[7].to_checksum(None)]["1"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.starts_with(&format!(
            "{}: 1 wei + 21000 gas × ",
            Address::repeat_byte(0x49).to_checksum(None)
        )),
        "{inspect}"
    );

    let dropped: Option<B256> = c.dev("anvil_dropTransaction", json!([hashes[0]])).await;
    assert_eq!(dropped, Some(hashes[0]));
    let status: Value = c.dev("txpool_status", json!([])).await;
    assert_eq!(status["pending"], "0x1", "the sender's later one went too");
    let again: Option<B256> = c.dev("anvil_dropTransaction", json!([hashes[0]])).await;
    assert_eq!(again, None);
    let _: Value = c.dev("anvil_dropAllTransactions", json!([])).await;
    let status: Value = c.dev("txpool_status", json!([])).await;
    assert_eq!(status["pending"], "0x0");
    let _: String = c.dev("evm_mine", json!([])).await;
    let block = c
        .provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("mined");
    assert_eq!(block.transactions.len(), 0);
    let _: Value = c.dev("evm_setAutomine", json!([true])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_accounts_sign_through_the_node() {
    use alloy::primitives::Signature;
    let c = Client::start(NodeConfig::default()).await;
    let owner = c.accounts[0];
    let message = b"pond";
    // personal_sign (message, account) and eth_sign (account, message):
    // EIP-191, recoverable to the account.
    for (method, params) in [
        ("personal_sign", json!([Bytes::from_static(message), owner])),
        ("eth_sign", json!([owner, Bytes::from_static(message)])),
    ] {
        let signature: Bytes = c.dev(method, params).await;
        assert_eq!(signature.len(), 65);
        assert!(matches!(signature[64], 27 | 28), "{method}: v is 27 or 28");
        let signature = Signature::try_from(signature.as_ref()).expect("a signature");
        assert_eq!(
            signature
                .recover_address_from_msg(message)
                .expect("recovers"),
            owner,
            "{method}"
        );
    }
    // EIP-712's own example; its signing hash is given in the EIP.
    let typed = json!({
        "types": {
            "EIP712Domain": [
                { "name": "name", "type": "string" },
                { "name": "version", "type": "string" },
                { "name": "chainId", "type": "uint256" },
                { "name": "verifyingContract", "type": "address" }
            ],
            "Person": [
                { "name": "name", "type": "string" },
                { "name": "wallet", "type": "address" }
            ],
            "Mail": [
                { "name": "from", "type": "Person" },
                { "name": "to", "type": "Person" },
                { "name": "contents", "type": "string" }
            ]
        },
        "primaryType": "Mail",
        "domain": {
            "name": "Ether Mail",
            "version": "1",
            "chainId": 1,
            "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
        },
        "message": {
            "from": { "name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
            "to": { "name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
            "contents": "Hello, Bob!"
        }
    });
    let digest: B256 = "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
        .parse()
        .expect("digest");
    // As an object and as a string holding one (MetaMask's and ethers' form).
    for typed in [typed.clone(), Value::String(typed.to_string())] {
        let signature: Bytes = c.dev("eth_signTypedData_v4", json!([owner, typed])).await;
        let signature = Signature::try_from(signature.as_ref()).expect("a signature");
        assert_eq!(
            signature
                .recover_address_from_prehash(&digest)
                .expect("recovers"),
            owner
        );
    }
    // No key, no signature; malformed typed data is a parameter error.
    let stranger = Address::repeat_byte(0x77);
    let _: Value = c.dev("anvil_impersonateAccount", json!([stranger])).await;
    let refused = c
        .provider
        .raw_request::<_, Value>("personal_sign".into(), json!(["0x00", stranger]))
        .await
        .expect_err("an impersonated account has no key");
    assert!(refused.to_string().contains("no key"), "{refused}");
    let malformed = c
        .provider
        .raw_request::<_, Value>(
            "eth_signTypedData_v4".into(),
            json!([owner, { "types": {}, "primaryType": "Mail" }]),
        )
        .await
        .expect_err("malformed");
    assert!(
        malformed.to_string().contains("invalid typed data"),
        "{malformed}"
    );
    // Typed data that would make the hashing recurse or compare without
    // bound is refused before it is hashed, and the node goes on.
    let mut many = typed.clone();
    for i in 0..65 {
        many["types"][format!("T{i}")] = json!([{ "name": "x", "type": "uint256" }]);
    }
    let deep = {
        let mut deep = typed.clone();
        deep["types"]["Mail"][2]["type"] = json!(format!("string{}", "[]".repeat(9)));
        deep
    };
    let long = Value::String(format!("{{\"pad\": \"{}\"}}", "x".repeat(70_000)));
    for (hostile, why) in [
        (many, "more than 64 types"),
        (deep, "more than 8 array dimensions"),
        (long, "more than 65536 bytes"),
    ] {
        let refused = c
            .provider
            .raw_request::<_, Value>("eth_signTypedData_v4".into(), json!([owner, hostile]))
            .await
            .expect_err("refused");
        assert!(refused.to_string().contains(why), "{why}: {refused}");
    }
    assert_eq!(
        c.provider.get_block_number().await.unwrap(),
        0,
        "still serving"
    );

    // anvil_nodeInfo: the head and the environment.
    let info: Value = c.dev("anvil_nodeInfo", json!([])).await;
    assert_eq!(info["currentBlockNumber"], "0x0", "{info}");
    assert_eq!(info["environment"]["chainId"], 412_346, "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transactions_are_announced_by_subscription_and_filter() {
    let c = Client::start(NodeConfig::default()).await;
    let ws = ProviderBuilder::new()
        .connect_ws(WsConnect::new(c.node.ws_url()))
        .await
        .expect("ws");
    let mut announced = ws
        .subscribe_pending_transactions()
        .await
        .expect("newPendingTransactions")
        .into_stream();
    let mut whole = ws
        .subscribe_full_pending_transactions()
        .await
        .expect("newPendingTransactions with true")
        .into_stream();
    let filter: U256 = c.dev("eth_newPendingTransactionFilter", json!([])).await;
    // One mined at once (automine), one left waiting in the pool.
    let to = Address::repeat_byte(0x4a);
    let mined = c.mined(transfer(c.accounts[1], to, U256::from(1))).await;
    let _: Value = c.dev("evm_setAutomine", json!([false])).await;
    let waiting = *c
        .provider
        .send_transaction(transfer(c.accounts[1], to, U256::from(2)))
        .await
        .expect("admitted")
        .tx_hash();
    let mut heard = Vec::new();
    for _ in 0..2 {
        heard.push(
            tokio::time::timeout(Duration::from_secs(10), announced.next())
                .await
                .expect("announced in time")
                .expect("a hash"),
        );
    }
    assert_eq!(heard, [mined.transaction_hash, waiting]);
    // Asked with `true`, whole transactions (geth's form).
    for (hash, value) in [(mined.transaction_hash, 1u64), (waiting, 2)] {
        let tx = tokio::time::timeout(Duration::from_secs(10), whole.next())
            .await
            .expect("announced in time")
            .expect("a transaction");
        assert_eq!(*tx.inner.tx_hash(), hash);
        assert_eq!(alloy::consensus::Transaction::value(&tx), U256::from(value));
        assert_eq!(tx.inner.signer(), c.accounts[1]);
    }
    let changes: Vec<B256> = c.dev("eth_getFilterChanges", json!([filter])).await;
    assert_eq!(changes, [mined.transaction_hash, waiting]);
    let again: Vec<B256> = c.dev("eth_getFilterChanges", json!([filter])).await;
    assert!(again.is_empty(), "each hash once");
    let refused = c
        .provider
        .raw_request::<_, Value>("eth_getFilterLogs".into(), json!([filter]))
        .await
        .expect_err("not a log filter");
    assert!(
        refused.to_string().contains("not a log filter"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arb_gas_info_prices_from_the_base_fee() {
    use alloy::sol_types::SolCall;
    use pond_devnode::arbgasinfo::{IArbGasInfo, ARB_GAS_INFO};
    let c = Client::start(NodeConfig::default()).await;
    assert_eq!(
        c.provider.get_code_at(ARB_GAS_INFO).await.unwrap().as_ref(),
        &[0xfe],
        "a precompile's code, as on Arbitrum"
    );
    let _: Value = c
        .dev("anvil_setNextBlockBaseFeePerGas", json!(["0x8f0d180"]))
        .await;
    c.mined(transfer(
        c.accounts[1],
        Address::repeat_byte(0x4b),
        U256::from(1),
    ))
    .await;
    let ask = |input: Vec<u8>| {
        c.provider.call(
            TransactionRequest::default()
                .to(ARB_GAS_INFO)
                .input(input.into()),
        )
    };
    let out = ask(IArbGasInfo::getPricesInWeiCall {}.abi_encode())
        .await
        .expect("answered");
    let prices = IArbGasInfo::getPricesInWeiCall::abi_decode_returns(&out).expect("decodes");
    assert_eq!(
        prices._5,
        U256::from(150_000_000),
        "the total is the base fee"
    );
    assert_eq!(prices._3, U256::from(100_000_000), "over ArbOS's minimum");
    assert_eq!(prices._1, U256::ZERO, "no L1 calldata price without an L1");
    let out = ask(IArbGasInfo::getL1BaseFeeEstimateCall {}.abi_encode())
        .await
        .expect("answered");
    assert_eq!(
        IArbGasInfo::getL1BaseFeeEstimateCall::abi_decode_returns(&out).unwrap(),
        U256::ZERO
    );
    // An unknown selector reverts, as on Nitro, and so does a call with
    // value (its methods are views).
    assert!(ask(vec![0xde, 0xad, 0xbe, 0xef]).await.is_err());
    let paying = TransactionRequest::default()
        .from(c.accounts[1])
        .to(ARB_GAS_INFO)
        .value(U256::from(1))
        .input(IArbGasInfo::getPricesInWeiCall {}.abi_encode().into());
    assert!(c.provider.call(paying).await.is_err());
}

/// ArbOS 40's EIP-2935 history contract answers for blocks ArbSys no
/// longer serves (Pond's randomness beacon relies on it), refuses the
/// current block, future blocks and malformed input, and follows the
/// chain through `evm_revert`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_contract_serves_block_hashes_beyond_arbsys() {
    use alloy::network::TransactionBuilder as _;
    use pond_devnode::history::{HISTORY_CODE, HISTORY_STORAGE};
    let c = Client::start(NodeConfig::default()).await;
    assert_eq!(
        c.provider.get_code_at(HISTORY_STORAGE).await.expect("code"),
        Bytes::from_static(&HISTORY_CODE)
    );
    assert_eq!(
        c.provider
            .get_transaction_count(HISTORY_STORAGE)
            .await
            .expect("nonce"),
        1
    );
    let _: Value = c.dev("anvil_mine", json!(["0x12c"])).await;
    let head = c.provider.get_block_number().await.expect("head");
    assert_eq!(head, 300);
    let ask = |number: u64, tag: BlockNumberOrTag| {
        let provider = c.provider.clone();
        async move {
            provider
                .call(
                    TransactionRequest::default()
                        .with_to(HISTORY_STORAGE)
                        .with_input(U256::from(number).to_be_bytes::<32>().to_vec()),
                )
                .block(tag.into())
                .await
        }
    };
    let hash_of = |number: u64| {
        let provider = c.provider.clone();
        async move {
            provider
                .get_block_by_number(number.into())
                .await
                .expect("block")
                .expect("exists")
                .header
                .hash
        }
    };
    // Genesis and block 1 are beyond ArbSys's 256 blocks, not the ring's;
    // the head's own hash is readable from a call at the head (which runs
    // as the next block).
    for number in [0, 1, 44, 299, 300] {
        let answer = ask(number, BlockNumberOrTag::Latest)
            .await
            .unwrap_or_else(|e| panic!("block {number}: {e}"));
        assert_eq!(B256::from_slice(&answer), hash_of(number).await, "{number}");
    }
    // The next block is in the future.
    assert!(ask(301, BlockNumberOrTag::Latest).await.is_err());
    // At block 100 the ring answers for blocks before 100 only.
    assert_eq!(
        B256::from_slice(&ask(99, 100.into()).await.expect("earlier")),
        hash_of(99).await
    );
    assert!(ask(100, 100.into()).await.is_err(), "its own block");
    // Malformed input reverts.
    for input in [vec![], vec![0u8; 31], vec![0u8; 33]] {
        let answer = c
            .provider
            .call(
                TransactionRequest::default()
                    .with_to(HISTORY_STORAGE)
                    .with_input(input.clone()),
            )
            .await;
        assert!(answer.is_err(), "{} bytes", input.len());
    }
    // A reverted chain's blocks are forgotten with it.
    let snapshot: U256 = c.dev("evm_snapshot", json!([])).await;
    let _: Value = c.dev("anvil_mine", json!(["0x2"])).await;
    let gone = hash_of(301).await;
    let _: bool = c.dev("evm_revert", json!([snapshot])).await;
    let _: Value = c.dev("evm_increaseTime", json!([7])).await;
    let _: Value = c.dev("anvil_mine", json!(["0x2"])).await;
    let now = hash_of(301).await;
    assert_ne!(now, gone, "a different block 301");
    let ring = c
        .provider
        .get_storage_at(HISTORY_STORAGE, pond_devnode::history::slot(301))
        .await
        .expect("slot");
    assert_eq!(
        B256::from(ring.to_be_bytes()),
        now,
        "the ring holds the new block"
    );
    assert_eq!(
        B256::from_slice(&ask(301, BlockNumberOrTag::Latest).await.expect("301")),
        now
    );
}

/// At most 10 000 polling filters live at once: the next is refused with
/// EIP-1474's "limit exceeded" (-32005), nothing else breaks, and
/// uninstalling one makes room again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_filters_are_capped_and_room_comes_back() {
    let c = Client::start(NodeConfig::default()).await;
    let batch = |from: usize| {
        let calls: Vec<Value> = (from..from + 1_000)
            .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "eth_newBlockFilter", "params": []}))
            .collect();
        serde_json::to_string(&calls).expect("json")
    };
    let mut ids = Vec::new();
    for round in 0..10 {
        let answers = c.raw(&batch(round * 1_000)).await;
        let answers = answers.as_array().expect("a batch answer");
        assert_eq!(answers.len(), 1_000);
        for answer in answers {
            let id = answer["result"]
                .as_str()
                .unwrap_or_else(|| panic!("{answer}"));
            ids.push(id.to_owned());
        }
    }
    let refused = c
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_newBlockFilter","params":[]}"#)
        .await;
    assert_eq!(refused["error"]["code"], -32005, "{refused}");
    // The node still serves everything else, and the filters still work.
    let _: String = c.dev("evm_mine", json!([])).await;
    let changes: Vec<B256> = c.dev("eth_getFilterChanges", json!([ids[9_999]])).await;
    assert_eq!(changes.len(), 1, "the newest filter saw the block");
    let removed: bool = c.dev("eth_uninstallFilter", json!([ids[0]])).await;
    assert!(removed);
    let again = c
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_newBlockFilter","params":[]}"#)
        .await;
    assert!(again["result"].is_string(), "room again: {again}");
}

/// The ArbOS precompiles tools read besides ArbSys, ArbWasm and ArbGasInfo
/// answer as a fresh ArbOS 40 chain does; NodeInterface answers calls and
/// estimates only; refusals take the shape Nitro gives them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbos_precompiles_and_node_interface_answer_as_nitro() {
    use alloy::{network::TransactionBuilder as _, sol_types::SolCall};
    use pond_devnode::{
        accounts::CHAIN_OWNER,
        arbaggregator::{IArbAggregator, ARB_AGGREGATOR, BATCH_POSTER},
        arbinfo::{IArbInfo, ARB_INFO},
        arbownerpublic::{IArbOwnerPublic, ARB_OWNER_PUBLIC},
        arbretryabletx::{IArbRetryableTx, ARB_RETRYABLE_TX},
        arbstatistics::{IArbStatistics, ARB_STATISTICS},
        nodeinterface::{INodeInterface, NODE_INTERFACE},
    };
    let c = Client::start(NodeConfig::default()).await;
    let call = |to: Address, input: Vec<u8>| {
        let provider = c.provider.clone();
        async move {
            provider
                .call(TransactionRequest::default().with_to(to).with_input(input))
                .await
        }
    };
    let ok = |answer: Result<Bytes, _>| -> Bytes { answer.unwrap_or_else(|e| panic!("{e}")) };
    for precompile in [
        ARB_INFO,
        ARB_OWNER_PUBLIC,
        ARB_AGGREGATOR,
        ARB_RETRYABLE_TX,
        ARB_STATISTICS,
    ] {
        assert_eq!(
            c.provider.get_code_at(precompile).await.expect("code"),
            Bytes::from_static(&[0xfe]),
            "{precompile}"
        );
    }
    assert!(c
        .provider
        .get_code_at(NODE_INTERFACE)
        .await
        .expect("code")
        .is_empty());

    // ArbInfo: balance and code as the opcodes give them.
    let balance = ok(call(
        ARB_INFO,
        IArbInfo::getBalanceCall {
            account: c.accounts[1],
        }
        .abi_encode(),
    )
    .await);
    assert_eq!(
        U256::from_be_slice(&balance),
        c.provider
            .get_balance(c.accounts[1])
            .await
            .expect("balance")
    );
    let code = ok(call(
        ARB_INFO,
        IArbInfo::getCodeCall { account: ARB_INFO }.abi_encode(),
    )
    .await);
    let code = IArbInfo::getCodeCall::abi_decode_returns(&code).expect("bytes");
    assert_eq!(code, Bytes::from_static(&[0xfe]));

    // ArbStatistics: the block number, then the zeroed Classic counters.
    let stats = ok(call(ARB_STATISTICS, IArbStatistics::getStatsCall {}.abi_encode()).await);
    let head = c.provider.get_block_number().await.expect("head");
    assert_eq!(
        U256::from_be_slice(&stats[..32]),
        U256::from(head + 1),
        "runs as the next block"
    );
    assert!(stats[32..].iter().all(|b| *b == 0));

    // ArbOwnerPublic: the Nitro dev key owns the chain and takes its fees.
    let owners = ok(call(
        ARB_OWNER_PUBLIC,
        IArbOwnerPublic::getAllChainOwnersCall {}.abi_encode(),
    )
    .await);
    assert_eq!(
        IArbOwnerPublic::getAllChainOwnersCall::abi_decode_returns(&owners).expect("owners"),
        vec![CHAIN_OWNER]
    );
    assert_eq!(c.accounts[0], CHAIN_OWNER);
    let is_owner = |addr: Address| IArbOwnerPublic::isChainOwnerCall { addr }.abi_encode();
    assert_eq!(
        ok(call(ARB_OWNER_PUBLIC, is_owner(CHAIN_OWNER)).await)[31],
        1
    );
    assert_eq!(
        ok(call(ARB_OWNER_PUBLIC, is_owner(c.accounts[1])).await)[31],
        0
    );
    let level = ok(call(
        ARB_OWNER_PUBLIC,
        IArbOwnerPublic::getBrotliCompressionLevelCall {}.abi_encode(),
    )
    .await);
    assert_eq!(U256::from_be_slice(&level), U256::from(1));

    // ArbAggregator: one batch poster, the sequencer, its own collector.
    let posters = ok(call(
        ARB_AGGREGATOR,
        IArbAggregator::getBatchPostersCall {}.abi_encode(),
    )
    .await);
    assert_eq!(
        IArbAggregator::getBatchPostersCall::abi_decode_returns(&posters).expect("posters"),
        vec![BATCH_POSTER]
    );

    // ArbRetryableTx: a week's lifetime, and no ticket ever (no L1).
    let lifetime = ok(call(
        ARB_RETRYABLE_TX,
        IArbRetryableTx::getLifetimeCall {}.abi_encode(),
    )
    .await);
    assert_eq!(U256::from_be_slice(&lifetime), U256::from(604_800));
    let raw = |to: Address, input: Vec<u8>, value: u64| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"to":"{to}","data":"0x{}","value":"{value:#x}","gas":"0x100000"}},"latest"]}}"#,
            alloy::primitives::hex::encode(input)
        )
    };
    let refused = c
        .raw(&raw(
            ARB_RETRYABLE_TX,
            IArbRetryableTx::getTimeoutCall {
                ticketId: B256::ZERO,
            }
            .abi_encode(),
            0,
        ))
        .await;
    assert_eq!(refused["error"]["code"], 3, "{refused}");
    assert_eq!(
        refused["error"]["data"], "0x80698456",
        "NoTicketWithID(): {refused}"
    );

    // Refusals: an unknown selector or value sent to a view reverts with
    // empty data and burns the gas it was given.
    for (to, input, value) in [
        (ARB_OWNER_PUBLIC, vec![0xe5, 0xa7, 0xf8, 0x93], 0),
        (
            ARB_STATISTICS,
            IArbStatistics::getStatsCall {}.abi_encode(),
            1,
        ),
    ] {
        let answer = c.raw(&raw(to, input, value)).await;
        assert!(answer["error"].is_object(), "{answer}");
        let data = answer["error"]["data"].as_str().unwrap_or("0x");
        assert_eq!(data, "0x", "{answer}");
    }
    // From a contract: a call it cannot dispatch burns the gas it was
    // given (2^20), a known one only its cost. Runtime: STATICCALL 0x6b
    // with 2^20 gas and a 4-byte selector, then return the gas left.
    let gas_left = |selector: &str, probe: Address| {
        let c = &c;
        let code = format!("0x63{selector}5f525f5f6004601c606b62100000fa505a5f5260205ff3");
        async move {
            let _: Value = c.dev("anvil_setCode", json!([probe, code])).await;
            let left = ok(call(probe, Vec::new()).await);
            U256::from_be_slice(&left).to::<u64>()
        }
    };
    let known = gas_left("516b4e0f", Address::repeat_byte(0x61)).await;
    let unknown = gas_left("e5a7f893", Address::repeat_byte(0x62)).await;
    assert!(
        known - unknown > 1_000_000,
        "an unknown selector burns its 2^20 gas: {known} vs {unknown}"
    );

    // NodeInterface: calls and estimates only.
    let transfer_data = Bytes::from_static(&[]);
    let components = ok(c
        .provider
        .call(
            TransactionRequest::default()
                .with_from(c.accounts[1])
                .with_to(NODE_INTERFACE)
                .with_input(
                    INodeInterface::gasEstimateComponentsCall {
                        to: c.accounts[2],
                        contractCreation: false,
                        data: transfer_data,
                    }
                    .abi_encode(),
                ),
        )
        .await);
    let components = INodeInterface::gasEstimateComponentsCall::abi_decode_returns(&components)
        .expect("components");
    let direct = c
        .provider
        .estimate_gas(
            TransactionRequest::default()
                .with_from(c.accounts[1])
                .with_to(c.accounts[2]),
        )
        .await
        .expect("estimate");
    assert_eq!(
        components.gasEstimate, direct,
        "eth_estimateGas of the transfer"
    );
    assert_eq!(components.gasEstimateForL1, 0, "no L1");
    let base_fee = c.provider.get_gas_price().await.expect("gas price");
    assert_eq!(components.baseFee, U256::from(base_fee));
    let genesis = ok(call(
        NODE_INTERFACE,
        INodeInterface::nitroGenesisBlockCall {}.abi_encode(),
    )
    .await);
    assert_eq!(U256::from_be_slice(&genesis), U256::ZERO);
    // Estimated as what sending it costs; a refused call cannot be.
    let estimate = c
        .provider
        .estimate_gas(
            TransactionRequest::default()
                .with_to(NODE_INTERFACE)
                .with_input(INodeInterface::nitroGenesisBlockCall {}.abi_encode()),
        )
        .await
        .expect("estimate");
    assert!((21_000..22_000).contains(&estimate), "{estimate}");
    let unknown = c.raw(&raw(NODE_INTERFACE, vec![1, 2, 3, 4], 0)).await;
    assert_eq!(
        unknown["error"]["message"], "execution reverted",
        "{unknown}"
    );
    assert!(c
        .provider
        .estimate_gas(
            TransactionRequest::default()
                .with_to(NODE_INTERFACE)
                .with_input(vec![1, 2, 3, 4]),
        )
        .await
        .is_err());
    // A transaction to it reaches an empty account and does nothing.
    let receipt = c
        .mined(
            TransactionRequest::default()
                .with_from(c.accounts[0])
                .with_to(NODE_INTERFACE)
                .with_input(INodeInterface::nitroGenesisBlockCall {}.abi_encode()),
        )
        .await;
    assert!(receipt.status());
}

/// `eth_createAccessList` lists what a call touches, as geth does: slots
/// of every account, other accounts except the sender, the callee and the
/// precompiles; a reverting call keeps its list and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_lists_name_what_a_call_touches() {
    let c = Client::start(NodeConfig::default()).await;
    let probe = Address::repeat_byte(0x5c);
    let other = Address::repeat_byte(0x42);
    // Runtime: SLOAD(7), BALANCE(other), STATICCALL ArbSys (a precompile).
    let code = format!(
        "0x6007545073{}3150{}",
        alloy::primitives::hex::encode(other),
        "5f5f5f5f60645afa5000"
    );
    let _: Value = c.dev("anvil_setCode", json!([probe, code])).await;
    let answer: Value = c
        .dev(
            "eth_createAccessList",
            json!([{"from": c.accounts[1], "to": probe}]),
        )
        .await;
    let slot = format!("0x{:064x}", 7);
    assert_eq!(
        answer["accessList"],
        json!([
            {"address": other, "storageKeys": []},
            {"address": probe, "storageKeys": [slot]},
        ]),
        "{answer}"
    );
    let used = u64::from_str_radix(
        answer["gasUsed"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap_or_default();
    assert!(used > 21_000, "{answer}");
    assert!(answer.get("error").is_none(), "{answer}");

    let reverting = Address::repeat_byte(0x5d);
    // Runtime: SLOAD(1), then REVERT.
    let _: Value = c
        .dev("anvil_setCode", json!([reverting, "0x600154505f5ffd"]))
        .await;
    let answer: Value = c
        .dev("eth_createAccessList", json!([{"to": reverting}]))
        .await;
    assert_eq!(answer["error"], "execution reverted", "{answer}");
    assert_eq!(
        answer["accessList"][0]["storageKeys"],
        json!([format!("0x{:064x}", 1)])
    );
    // Malformed parameters are an error, not a list.
    let bad = c
        .raw(r#"{"jsonrpc":"2.0","id":1,"method":"eth_createAccessList","params":[{"to":"0x12"}]}"#)
        .await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let fee: String = c.dev("eth_blobBaseFee", json!([])).await;
    assert_eq!(fee, "0x1");
}

/// `eth_getProof` through alloy: the account's fields as the node has
/// them, at the head and at an older block, a proof per asked slot in the
/// order asked, and a bound on the keys one request may ask for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_carry_the_account_and_its_slots() {
    let c = Client::start(NodeConfig::default()).await;
    let holder = Address::repeat_byte(0x70);
    let _: Value = c
        .dev(
            "anvil_setStorageAt",
            json!([holder, "0x5", format!("0x{:064x}", 9)]),
        )
        .await;
    let _: String = c.dev("evm_mine", json!([])).await;
    let keys = vec![B256::with_last_byte(5), B256::with_last_byte(6)];
    let proof = c
        .provider
        .get_proof(holder, keys.clone())
        .await
        .expect("proof");
    assert_eq!(proof.storage_proof.len(), 2);
    assert_eq!(proof.storage_proof[0].value, U256::from(9));
    assert_eq!(proof.storage_proof[1].value, U256::ZERO);
    assert!(!proof.account_proof.is_empty());
    assert!(proof.storage_proof.iter().all(|p| !p.proof.is_empty()));
    let funded = c
        .provider
        .get_proof(c.accounts[1], Vec::new())
        .number(0)
        .await
        .expect("proof at genesis");
    assert_eq!(
        funded.balance,
        c.provider
            .get_balance(c.accounts[1])
            .number(0)
            .await
            .expect("balance")
    );
    let many: Vec<String> = (0..1_025).map(|i| format!("0x{i:064x}")).collect();
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getProof", "params": [holder, many, "latest"]})).expect("json"))
        .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}

/// `eth_simulateV1` runs calls in order over simulated blocks: each call
/// sees the ones before it, state overrides apply per block, a revert is
/// a result (not an error), nothing reaches the chain, and malformed
/// simulations are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulations_chain_their_calls_and_leave_the_chain_alone() {
    let c = Client::start(NodeConfig::default()).await;
    let probe = Address::repeat_byte(0x51);
    let reverting = Address::repeat_byte(0x52);
    // Runtime: return slot 0, then store the first calldata word in it.
    let swap = "0x5f545f355f555f5260205ff3";
    let word = |n: u8| format!("0x{n:064x}");
    let head = c.provider.get_block_number().await.expect("head");
    let payload = json!({
        "blockStateCalls": [
            {
                "stateOverrides": {probe.to_string(): {"code": swap}},
                "calls": [
                    {"to": probe, "data": word(7)},
                    {"to": probe, "data": word(9)},
                ],
            },
            {
                "stateOverrides": {reverting.to_string(): {"code": "0x60aa5f5260205ffd"}},
                "calls": [
                    {"to": probe, "data": word(1)},
                    {"to": reverting},
                ],
            },
        ],
    });
    let blocks: Value = c.dev("eth_simulateV1", json!([payload, "latest"])).await;
    let blocks = blocks.as_array().expect("blocks");
    assert_eq!(blocks.len(), 2);
    let number = |b: &Value| {
        u64::from_str_radix(
            b["number"]
                .as_str()
                .unwrap_or("0x0")
                .trim_start_matches("0x"),
            16,
        )
        .unwrap_or_default()
    };
    assert_eq!(number(&blocks[0]), head + 1);
    assert_eq!(number(&blocks[1]), head + 2);
    assert_eq!(blocks[1]["parentHash"], blocks[0]["hash"]);
    let calls0 = &blocks[0]["calls"];
    assert_eq!(calls0[0]["returnData"], word(0));
    assert_eq!(calls0[1]["returnData"], word(7), "sees the call before");
    assert_eq!(calls0[1]["status"], "0x1");
    let calls1 = &blocks[1]["calls"];
    assert_eq!(calls1[0]["returnData"], word(9), "sees the block before");
    assert_eq!(calls1[1]["status"], "0x0");
    assert_eq!(calls1[1]["error"]["code"], 3);
    assert_eq!(calls1[1]["returnData"], word(0xaa));
    // Nothing reached the chain.
    assert_eq!(c.provider.get_block_number().await.expect("head"), head);
    assert!(c
        .provider
        .get_code_at(probe)
        .await
        .expect("code")
        .is_empty());

    // Blocks must grow; at most 256 of them.
    let shrinking = json!({"blockStateCalls": [
        {"blockOverrides": {"number": format!("{:#x}", head + 5)}, "calls": []},
        {"blockOverrides": {"number": format!("{:#x}", head + 3)}, "calls": []},
    ]});
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_simulateV1", "params": [shrinking, "latest"]})).expect("json"))
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    let many: Vec<Value> = (0..257).map(|_| json!({"calls": []})).collect();
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_simulateV1", "params": [{"blockStateCalls": many}, "latest"]})).expect("json"))
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    // With validation, a call must be a payable transaction.
    let poor = json!({"validation": true, "blockStateCalls": [
        {"calls": [{"from": Address::repeat_byte(0x53), "to": probe, "value": "0x1", "maxFeePerGas": "0x3b9aca00"}]},
    ]});
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_simulateV1", "params": [poor, "latest"]})).expect("json"))
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    // What calls may return is bounded (16 MiB over the simulation), as is
    // their gas (one 50 M cap for all): 30 calls returning 768 KiB each
    // are refused, not answered with 24 MiB.
    let big = Address::repeat_byte(0x54);
    let calls: Vec<Value> = (0..30).map(|_| json!({"to": big})).collect();
    let bulky = json!({"blockStateCalls": [
        {"stateOverrides": {big.to_string(): {"code": "0x620c00005ff3"}}, "calls": calls},
    ]});
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_simulateV1", "params": [bulky, "latest"]})).expect("json"))
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("exceed"),
        "{refused}"
    );
    // Block numbers and times at the end of u64 are refused, not wrapped.
    let last = json!({"blockStateCalls": [
        {"blockOverrides": {"number": "0xffffffffffffffff", "time": "0xffffffffffffffff"}, "calls": []},
        {"calls": []},
    ]});
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_simulateV1", "params": [last, "latest"]})).expect("json"))
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    // A call whose gas × price + value overflows is an error, here and in
    // eth_call, and the node goes on serving.
    let overflowing = json!({"to": probe, "value": format!("{:#x}", U256::MAX), "gasPrice": "0x1"});
    let refused = c
        .raw(&serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [overflowing, "latest"]})).expect("json"))
        .await;
    assert!(refused["error"].is_object(), "{refused}");
    assert!(c.provider.get_block_number().await.is_ok());
    let mut free = poor;
    free["validation"] = json!(false);
    let answered: Value = c.dev("eth_simulateV1", json!([free, "latest"])).await;
    assert_eq!(
        answered[0]["calls"][0]["status"], "0x1",
        "without validation: {answered}"
    );
}
