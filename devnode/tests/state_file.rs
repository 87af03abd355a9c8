//! The `--state` file through the devnode binary killed with SIGKILL: every
//! change a client was told about (mined blocks, dev changes and controls,
//! pending transactions, unwound blocks) is there after a restart, an
//! unfinished journal line is cut off, a journal older than its snapshot or
//! written for another copy of it is not replayed, a damaged one is
//! refused, and so is a second devnode on the same file.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use serde_json::{json, Value};

/// The devnode binary on a free port, keeping its chain in `state`.
struct Devnode {
    child: Child,
    provider: DynProvider,
    owner: Address,
}

impl Devnode {
    fn start(state: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_devnode"))
            .args(["--port", "0", "--state"])
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("devnode starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| Some(line.strip_prefix("HTTP")?.trim().to_owned()))
            .expect("devnode prints its HTTP URL");
        // Keep reading, so devnode's later lines have somewhere to go.
        std::thread::spawn(move || lines.for_each(drop));
        let signers = pond_devnode::accounts::dev_signers();
        let owner = signers[0].address();
        let mut wallet = EthereumWallet::from(signers[0].clone());
        for signer in signers.into_iter().skip(1) {
            wallet.register_signer(signer);
        }
        let provider = ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(url.parse().expect("url"))
            .erased();
        Self {
            child,
            provider,
            owner,
        }
    }

    /// SIGKILL: nothing runs on the way out.
    fn kill(mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }

    async fn rpc(&self, method: &'static str, params: Value) -> Value {
        self.provider
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    async fn head(&self) -> (u64, B256) {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("head")
            .expect("a head block");
        (block.header.number, block.header.hash)
    }

    async fn transfer(&self, to: Address, wei: u64) -> B256 {
        // The node's count, not the provider's cache: blocks get unwound.
        let nonce = self
            .provider
            .get_transaction_count(self.owner)
            .pending()
            .await
            .expect("nonce");
        let tx = TransactionRequest::default()
            .with_from(self.owner)
            .with_nonce(nonce)
            .with_to(to)
            .with_value(U256::from(wei));
        *self
            .provider
            .send_transaction(tx)
            .await
            .expect("sent")
            .tx_hash()
    }
}

impl Drop for Devnode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("devnode-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_keeps_everything_it_acknowledged() {
    let dir = state_dir("kill");
    let state = dir.join("chain.json");
    let journal = pond_devnode::state_file::journal_path(&state);
    let (payee, funded) = (Address::repeat_byte(0x51), Address::repeat_byte(0x52));

    let node = Devnode::start(&state);
    assert!(state.exists(), "a new chain writes its genesis snapshot");
    // Mined blocks.
    let mined = node.transfer(payee, 1_000).await;
    node.provider
        .get_transaction_receipt(mined)
        .await
        .expect("receipt")
        .expect("mined");
    node.transfer(payee, 2_000).await;
    // Blocks mined, then unwound: the restart must not bring them back.
    let kept_head = node.head().await;
    let snapshot = node.rpc("evm_snapshot", json!([])).await;
    node.rpc("evm_mine", json!([])).await;
    node.transfer(payee, 4_000).await;
    assert_eq!(node.head().await.0, kept_head.0 + 2);
    assert_eq!(node.rpc("evm_revert", json!([snapshot])).await, json!(true));
    // Dev changes with no block after them, and dev controls.
    node.rpc("anvil_setBalance", json!([funded, "0x56bc75e2d63100000"]))
        .await;
    node.rpc("anvil_setNextBlockBaseFeePerGas", json!(["0x8f0d180"]))
        .await;
    node.rpc("anvil_impersonateAccount", json!([funded])).await;
    let before_waiting = node.rpc("evm_snapshot", json!([])).await;
    // A transaction acknowledged but not mined yet.
    node.rpc("evm_setAutomine", json!([false])).await;
    let waiting = node.transfer(payee, 8_000).await;
    let head = node.head().await;
    assert_eq!(head, kept_head);
    node.kill();

    // The restarted node automines (its command line's mode): the waiting
    // transaction is mined first, on the same head, at the base fee set.
    let node = Devnode::start(&state);
    let receipt = node
        .provider
        .get_transaction_receipt(waiting)
        .await
        .unwrap()
        .expect("the waiting transaction is mined at the restart");
    let block = node
        .provider
        .get_block_by_number(receipt.block_number.unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        block.header.parent_hash, head.1,
        "on the same head, by hash"
    );
    assert_eq!(block.header.base_fee_per_gas, Some(150_000_000));
    // The EIP-2935 history ring came back with the chain: the block before
    // the kill's head is answered with its hash.
    let ring = node
        .provider
        .get_storage_at(
            pond_devnode::history::HISTORY_STORAGE,
            pond_devnode::history::slot(head.0),
        )
        .await
        .unwrap();
    assert_eq!(
        B256::from(ring.to_be_bytes()),
        head.1,
        "the ring holds the head's hash"
    );
    assert_eq!(
        node.provider.get_balance(payee).await.unwrap(),
        U256::from(11_000)
    );
    assert_eq!(
        node.provider.get_balance(funded).await.unwrap(),
        U256::from(100_000_000_000_000_000_000_u128)
    );
    assert!(node
        .provider
        .get_transaction_receipt(mined)
        .await
        .unwrap()
        .is_some());
    // Impersonation and snapshots outlive the kill: the account still
    // sends without a key, a new snapshot id is a new one, and the old
    // snapshot still rewinds (the dev change before it stays).
    let impersonated = TransactionRequest::default()
        .with_from(funded)
        .with_to(payee)
        .with_value(U256::from(5));
    let sent = node.rpc("eth_sendTransaction", json!([impersonated])).await;
    assert!(sent.is_string(), "{sent}");
    assert_eq!(
        node.provider.get_balance(payee).await.unwrap(),
        U256::from(11_005)
    );
    let fresh = node.rpc("evm_snapshot", json!([])).await;
    assert_ne!(fresh, before_waiting);
    assert_eq!(
        node.rpc("evm_revert", json!([before_waiting])).await,
        json!(true)
    );
    assert_eq!(node.head().await, head);
    assert_eq!(
        node.provider.get_balance(payee).await.unwrap(),
        U256::from(3_000)
    );
    assert_eq!(
        node.provider.get_balance(funded).await.unwrap(),
        U256::from(100_000_000_000_000_000_000_u128)
    );
    node.transfer(payee, 8_000).await;
    let head = node.head().await;
    node.kill();

    // A process killed while writing a line leaves it unfinished: the
    // restart cuts it off and goes on from the last whole line.
    let whole = std::fs::metadata(&journal).unwrap().len();
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap();
        file.write_all(br#"{"state":{"accounts":[["#).unwrap();
    }
    let node = Devnode::start(&state);
    assert_eq!(node.head().await, head);
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), whole);
    node.rpc("evm_setAutomine", json!([true])).await;
    node.transfer(payee, 16_000).await;
    let head = node.head().await;
    node.kill();

    let node = Devnode::start(&state);
    assert_eq!(node.head().await, head);
    assert_eq!(
        node.provider.get_balance(payee).await.unwrap(),
        U256::from(27_000)
    );
    node.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_does_not_continue_its_snapshot_is_not_replayed() {
    let dir = state_dir("stale");
    let state = dir.join("chain.json");
    let journal = pond_devnode::state_file::journal_path(&state);
    let payee = Address::repeat_byte(0x61);

    let node = Devnode::start(&state);
    node.transfer(payee, 1_000).await;
    node.kill();
    // Keep this journal, fold it into a snapshot with a clean stop (SIGTERM),
    // then put the old journal back: a crash between writing a snapshot and
    // starting its journal looks like this.
    let old_journal = std::fs::read(&journal).unwrap();
    let node = Devnode::start(&state);
    let head = node.head().await;
    let pid = node.child.id().to_string();
    let stopped = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(stopped.success());
    let mut node = node;
    node.child.wait().unwrap();
    std::fs::write(&journal, &old_journal).unwrap();

    let node = Devnode::start(&state);
    assert_eq!(node.head().await, head, "the stale journal replays nothing");
    assert_eq!(
        node.provider.get_balance(payee).await.unwrap(),
        U256::from(1_000)
    );
    node.kill();

    // A copy put over the snapshot (a fixture restored, say) does not get
    // the journal written after the original: it is moved aside.
    let fixture = dir.join("fixture.json");
    std::fs::copy(&state, &fixture).unwrap();
    let node = Devnode::start(&state);
    node.transfer(payee, 2_000).await;
    node.kill();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(&fixture, &state).unwrap();
    let node = Devnode::start(&state);
    assert_eq!(node.head().await, head, "the fixture's chain, nothing more");
    assert!(pond_devnode::state_file::journal_path(&fixture)
        .with_file_name("chain.json.journal.stale")
        .exists());
    // A second devnode on the same state file is refused.
    let second = Command::new(env!("CARGO_BIN_EXE_devnode"))
        .args(["--port", "0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("in use by another devnode"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    node.kill();

    // A journal line that is whole but not a record is not silently
    // dropped: devnode refuses to start and names the file and line.
    let header = std::fs::read_to_string(&journal).unwrap();
    let header = header.lines().next().unwrap().to_owned();
    std::fs::write(&journal, format!("{header}\nnot json\n")).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_devnode"))
        .args(["--port", "0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("chain.json.journal, line 2"),
        "names the line: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
