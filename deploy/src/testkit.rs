//! The shared end-to-end fixture (feature `testkit`): a devnode on a free
//! port, Pond's real contract WebAssembly deployed and wired over JSON-RPC,
//! an alloy provider that signs for every dev account, and the common
//! protocol steps. Test code: it panics on any failure.

#![allow(missing_docs, clippy::missing_panics_doc, clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::Params;
use alloy::{
    network::EthereumWallet,
    primitives::{keccak256, Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    sol_types::SolEvent,
};
use pond_bindings::{
    deals::IDeals, market, market::IMarket, offers, offers::IOfferBook, registry,
    registry::IRegistry, token::IPondToken, vault::IVault, Deployment, TOKEN_UNIT,
};
use pond_devnode::node::Node;

/// `n` whole tokens.
pub fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(TOKEN_UNIT)
}

/// The embedded contracts, once per test binary.
fn modules() -> &'static BTreeMap<&'static str, Vec<u8>> {
    static MODULES: std::sync::OnceLock<BTreeMap<&'static str, Vec<u8>>> =
        std::sync::OnceLock::new();
    MODULES.get_or_init(crate::embedded_modules)
}

/// An HTTP provider to `node` that signs for every dev account.
pub fn signing_provider(node: &Node) -> DynProvider {
    let mut signers = node.accounts().into_iter().map(|a| a.signer);
    let mut wallet = EthereumWallet::from(signers.next().expect("a dev account"));
    for signer in signers {
        wallet.register_signer(signer);
    }
    ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(node.http_url().parse().expect("url"))
        .erased()
}

/// A node with Pond deployed.
pub struct Stack {
    pub node: Node,
    pub provider: DynProvider,
    pub deployment: Deployment,
    /// Dev accounts; `[0]` deployed and owns everything.
    pub accounts: Vec<Address>,
}

impl Stack {
    /// Starts devnode and deploys Pond.
    pub async fn start() -> Self {
        let modules = tokio::task::spawn_blocking(modules)
            .await
            .expect("build task");
        let node = pond_devnode::node::spawn().await.expect("devnode starts");
        let accounts: Vec<Address> = node.accounts().iter().map(|a| a.address).collect();
        let provider = signing_provider(&node);
        let deployment = crate::deploy(
            &provider,
            accounts[0],
            modules,
            &Params::default(),
            "devnode",
        )
        .await
        .expect("Pond deploys");
        Self {
            node,
            provider,
            deployment,
            accounts,
        }
    }

    /// A new provider: forgets the nonces alloy cached (after a reorg
    /// dropped transactions).
    pub fn refresh_provider(&mut self) {
        self.provider = signing_provider(&self.node);
    }

    pub fn owner(&self) -> Address {
        self.accounts[0]
    }

    pub fn token(&self) -> IPondToken::IPondTokenInstance<&DynProvider> {
        IPondToken::new(self.deployment.contracts.token, &self.provider)
    }
    pub fn vault(&self) -> IVault::IVaultInstance<&DynProvider> {
        IVault::new(self.deployment.contracts.vault, &self.provider)
    }
    pub fn registry(&self) -> IRegistry::IRegistryInstance<&DynProvider> {
        IRegistry::new(self.deployment.contracts.registry, &self.provider)
    }
    pub fn offers(&self) -> IOfferBook::IOfferBookInstance<&DynProvider> {
        IOfferBook::new(self.deployment.contracts.offers, &self.provider)
    }
    pub fn market(&self) -> IMarket::IMarketInstance<&DynProvider> {
        IMarket::new(self.deployment.contracts.market, &self.provider)
    }
    pub fn deals(&self) -> IDeals::IDealsInstance<&DynProvider> {
        IDeals::new(self.deployment.contracts.deals, &self.provider)
    }
    pub fn mediation(
        &self,
    ) -> pond_bindings::mediation::IMediation::IMediationInstance<&DynProvider> {
        pond_bindings::mediation::IMediation::new(
            self.deployment.contracts.mediation,
            &self.provider,
        )
    }

    /// The governance timelock.
    pub fn timelock(&self) -> pond_bindings::timelock::ITimelock::ITimelockInstance<&DynProvider> {
        pond_bindings::timelock::ITimelock::new(self.deployment.contracts.timelock, &self.provider)
    }

    /// Moves the clock forward (the next block carries the new time).
    pub async fn advance(&self, seconds: u64) {
        let _: i64 = self
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .expect("evm_increaseTime");
    }

    /// Mines an empty block.
    pub async fn mine(&self) {
        let _: String = self
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .expect("evm_mine");
    }

    /// Makes a governed change at once: the owner schedules `call` on
    /// `target` through the timelock, the clock moves past the delay, and
    /// the change is executed.
    pub async fn govern(&self, target: Address, call: alloy::primitives::Bytes) {
        ok(self
            .timelock()
            .schedule(target, call.clone(), B256::ZERO)
            .from(self.owner())
            .send()
            .await)
        .await;
        let delay = self.timelock().delay().call().await.expect("delay");
        self.advance(delay + 1).await;
        ok(self
            .timelock()
            .execute(target, call, B256::ZERO)
            .from(self.owner())
            .send()
            .await)
        .await;
    }

    /// Mints `amount` to `account` and deposits it into the vault.
    pub async fn fund(&self, account: Address, amount: U256) {
        ok(self
            .token()
            .mint(account, amount)
            .from(self.owner())
            .send()
            .await)
        .await;
        ok(self
            .token()
            .approve(self.deployment.contracts.vault, amount)
            .from(account)
            .send()
            .await)
        .await;
        ok(self.vault().deposit(amount).from(account).send().await).await;
    }

    /// `account`'s (available, locked) vault balances.
    pub async fn balances(&self, account: Address) -> (U256, U256) {
        (
            self.vault()
                .availableOf(account)
                .call()
                .await
                .expect("availableOf"),
            self.vault()
                .lockedOf(account)
                .call()
                .await
                .expect("lockedOf"),
        )
    }

    /// Asserts that the vault holds exactly what it owes.
    pub async fn assert_vault_invariant(&self) {
        let held = self
            .token()
            .balanceOf(self.deployment.contracts.vault)
            .call()
            .await
            .expect("balanceOf");
        let available = self
            .vault()
            .totalAvailable()
            .call()
            .await
            .expect("totalAvailable");
        let locked = self
            .vault()
            .totalLocked()
            .call()
            .await
            .expect("totalLocked");
        assert_eq!(held, available + locked, "vault invariant broken");
    }

    /// The block timestamp of the head.
    pub async fn now(&self) -> u64 {
        self.provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .expect("block")
            .expect("head")
            .header
            .timestamp
    }

    pub async fn register_provider(&self, provider: Address, gpus: u32) {
        let hardware = registry::Hardware {
            gpuCount: gpus,
            gpuMemoryGb: 24,
            cpuCores: 16,
            ramGb: 64,
            diskGb: 500,
        };
        ok(self
            .registry()
            .registerProvider(hardware, "ipfs://provider".into())
            .from(provider)
            .send()
            .await)
        .await;
    }

    /// Posts a one-GPU offer at `price` for a day, for jobs of 5 minutes to
    /// 2 hours; returns its id.
    pub async fn post_offer(&self, provider: Address, price: U256) -> U256 {
        let expiry = self.now().await + 24 * 3600;
        let receipt = ok(self
            .offers()
            .postOffer(
                offers::Hardware {
                    gpuCount: 1,
                    gpuMemoryGb: 24,
                    cpuCores: 16,
                    ramGb: 64,
                    diskGb: 500,
                },
                price,
                300,
                7_200,
                2,
                expiry,
            )
            .from(provider)
            .send()
            .await)
        .await;
        let posted: offers::IOfferBook::OfferPosted = event(&receipt);
        posted.offerId
    }

    /// A one-GPU job paying at most `max_price`, matchable for a day.
    pub async fn job_spec(
        &self,
        max_price: U256,
        offer: U256,
        bidding_window: u64,
    ) -> market::JobSpec {
        market::JobSpec {
            moduleHash: B256::repeat_byte(0x11),
            moduleUri: "oci://pond/llm-infer@sha256:11".into(),
            inputHash: B256::repeat_byte(0x22),
            inputUri: "ipfs://inputs".into(),
            minHardware: market::Hardware {
                gpuCount: 1,
                gpuMemoryGb: 24,
                cpuCores: 16,
                ramGb: 64,
                diskGb: 500,
            },
            maxDuration: 3600,
            maxPrice: max_price,
            matchDeadline: self.now().await + 24 * 3600,
            biddingWindow: bidding_window,
            offerId: offer,
        }
    }

    /// Posts a job; returns the receipt.
    pub async fn post_job(&self, creator: Address, spec: market::JobSpec) -> TransactionReceipt {
        ok(self.market().postJob(spec).from(creator).send().await).await
    }

    /// (job state, deal id) of a job.
    pub async fn job_state(&self, job: U256) -> (u8, U256) {
        let job = self.market().job(job).call().await.expect("job");
        (job._1, job._6)
    }

    /// A deal's state.
    pub async fn deal_state(&self, deal: U256) -> u8 {
        self.deals()
            .dealParties(deal)
            .call()
            .await
            .expect("dealParties")
            ._4
    }

    /// Commits and reveals `result` for `deal` as `provider`.
    pub async fn deliver(&self, provider: Address, deal: U256, result: B256) {
        let salt = B256::repeat_byte(0x5a);
        ok(self
            .deals()
            .commitResult(deal, commitment(deal, provider, result, salt))
            .from(provider)
            .send()
            .await)
        .await;
        ok(self
            .deals()
            .revealResult(deal, result, "ipfs://result".into(), salt)
            .from(provider)
            .send()
            .await)
        .await;
    }
}

impl Stack {
    /// Funds `validators` with `stake` each and stakes it.
    pub async fn stake_validators(&self, validators: &[Address], stake: U256) {
        for v in validators {
            self.fund(*v, stake).await;
            ok(self.registry().stake(stake).from(*v).send().await).await;
        }
    }

    /// Challenges the revealed `deal` as `creator`, draws the validators
    /// once the randomness block is mined, and has the drawn ones commit
    /// and reveal `votes` in draw order; returns (case, drawn validators).
    pub async fn mediate(
        &self,
        creator: Address,
        deal: U256,
        votes: &[B256],
    ) -> (U256, Vec<Address>) {
        use pond_bindings::{deals::IDeals, mediation::IMediation};
        let receipt = ok(self
            .deals()
            .challengeResult(deal)
            .from(creator)
            .send()
            .await)
        .await;
        let challenged: IDeals::DealChallenged = event(&receipt);
        let case = challenged.caseId;
        self.mine().await;
        let anyone = *self.accounts.last().expect("accounts");
        let receipt = ok(self
            .mediation()
            .drawValidators(case)
            .from(anyone)
            .send()
            .await)
        .await;
        let drawn: IMediation::ValidatorsDrawn = event(&receipt);
        assert_eq!(
            drawn.validators.len(),
            votes.len(),
            "one vote per drawn validator"
        );
        let salt = |v: &Address| B256::left_padding_from(v.as_slice());
        for (v, vote) in drawn.validators.iter().zip(votes) {
            let hash = vote_commitment(case, *v, *vote, outputs_digest(*vote), salt(v));
            ok(self
                .mediation()
                .commitVote(case, hash)
                .from(*v)
                .send()
                .await)
            .await;
        }
        for (v, vote) in drawn.validators.iter().zip(votes) {
            ok(self
                .mediation()
                .revealVote(case, *vote, outputs_digest(*vote), salt(v))
                .from(*v)
                .send()
                .await)
            .await;
        }
        (case, drawn.validators)
    }
}

/// A provider's result commitment (`pond_bindings::commitment`).
pub use pond_bindings::commitment::result_commitment as commitment;

/// A validator's vote commitment (`pond_bindings::commitment`).
pub use pond_bindings::commitment::vote_commitment;

/// The output digest the testkit's validators reveal for `result`: voters
/// that stand for the same outputs reveal the same digest. (Real
/// validators digest the output files with the round's seed; see
/// `docs/protocol.md`.)
pub fn outputs_digest(result: B256) -> B256 {
    keccak256([b"outputs:".as_slice(), result.as_slice()].concat())
}

/// The receipt of a sent transaction, which must succeed.
pub async fn ok<N: alloy::network::Network>(
    sent: Result<alloy::providers::PendingTransactionBuilder<N>, alloy::contract::Error>,
) -> N::ReceiptResponse
where
    N::ReceiptResponse: alloy::network::ReceiptResponse,
{
    use alloy::network::ReceiptResponse;
    let receipt = sent
        .expect("transaction accepted")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "transaction reverted");
    receipt
}

/// The one event of type `E` in `receipt`.
pub fn event<E: SolEvent>(receipt: &TransactionReceipt) -> E {
    let mut found = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| E::decode_log(&log.inner).ok().map(|l| l.data));
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no {} event", E::SIGNATURE));
    assert!(
        found.next().is_none(),
        "more than one {} event",
        E::SIGNATURE
    );
    first
}

/// The revert data of a call that must fail.
pub fn revert_data<T>(result: Result<T, alloy::contract::Error>) -> alloy::primitives::Bytes {
    let Err(error) = result else {
        panic!("the call must revert")
    };
    error
        .as_revert_data()
        .unwrap_or_else(|| panic!("no revert data in {error:?}"))
}
