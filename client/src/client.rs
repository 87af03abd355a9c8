//! A connection to Pond on a chain, as one account: reads, and
//! transactions that are simulated first (a revert is named and nothing is
//! sent), signed, sent and awaited for the configured confirmations.

use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, TxHash, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use pond_bindings::{
    beacon::IBlockHashBeacon,
    deals::IDeals,
    market::{self, IMarket},
    mediation::IMediation,
    offers::{self, IOfferBook},
    registry::{self, IRegistry},
    states::{state_name, CASE_STATES, DEAL_STATES, JOB_STATES},
    token::IPondToken,
    vault::IVault,
    Deployment, PondRevert,
};

use crate::hardware::Hardware;

mod relay;
pub use relay::{Relayed, SignedJob, SignedPermit};

/// Why a client call failed, classified: retry transport errors; fix the
/// input for reverts and bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The RPC endpoint did not answer (down, refused, timed out):
    /// retryable.
    #[error("cannot reach the chain at {rpc}: {reason}")]
    Transport {
        /// The endpoint.
        rpc: String,
        /// What the transport said.
        reason: String,
    },
    /// The endpoint serves another chain than the deployment's.
    #[error("{rpc} is chain {actual}, but the deployment is for chain {expected}")]
    WrongChain {
        /// The endpoint.
        rpc: String,
        /// The deployment's chain id.
        expected: u64,
        /// The endpoint's chain id.
        actual: u64,
    },
    /// A Pond contract refused, with its named error (nothing was sent).
    #[error("{0}")]
    Revert(PondRevert),
    /// A revert that is no Pond error (raw data; nothing was sent).
    #[error("the call reverted with data {0}")]
    UnknownRevert(Bytes),
    /// A transaction was mined but failed.
    #[error("transaction {0} was mined but reverted")]
    Reverted(TxHash),
    /// The node answered and refused (a transaction that would revert or
    /// whose nonce is taken, say): the same request will not succeed as
    /// it is.
    #[error("the node at {rpc} refused: {message}")]
    Refused {
        /// The endpoint.
        rpc: String,
        /// What the node said.
        message: String,
    },
    /// A transaction needs an account and none was given.
    #[error("this needs an account: pass --keystore NAME, --private-key-env VAR, --private-key-file FILE or --mnemonic-file FILE")]
    NoAccount,
    /// Pond's GraphQL API did not answer, or answered something else:
    /// retryable.
    #[error("cannot read Pond's GraphQL API at {url}: {reason}")]
    Api {
        /// The API's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Pond's GraphQL API answered something this client cannot use (a
    /// bug or a hostile server): not retried.
    #[error("Pond's GraphQL API at {url} gave an unusable answer: {reason}")]
    ApiAnswer {
        /// The API's URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// Input refused before anything was sent (a malformed signed job, one
    /// signed for another deployment…).
    #[error("{0}")]
    BadInput(String),
}

impl ClientError {
    /// Whether trying again later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Api { .. })
    }
}

/// How many times a read is tried while the chain is unreachable.
const READ_TRIES: u32 = 4;

/// Why one `eth_getLogs` failed.
enum LogsError {
    /// The node answered with an error (a range or result cap).
    Refused(ClientError),
    /// The node did not answer.
    Unreachable(ClientError),
}

impl LogsError {
    fn into_inner(self) -> ClientError {
        match self {
            Self::Refused(e) | Self::Unreachable(e) => e,
        }
    }
}

/// Pond on one chain, for one account (or read-only).
#[derive(Clone, Debug)]
pub struct Client {
    provider: DynProvider,
    rpc: String,
    deployment: Deployment,
    account: Option<Address>,
    /// Kept for signing typed data (relayed jobs, permits); its `Debug`
    /// shows the address only.
    signer: Option<PrivateKeySigner>,
    confirmations: u64,
    /// The widest block range `eth_getLogs` is asked for (narrowed when
    /// the node refuses one); shared by the client's clones.
    log_window: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A registered provider as the registry holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Declared hardware.
    pub hardware: Hardware,
    /// Deals completed.
    pub completed: u64,
    /// Deals failed (timed out or rejected).
    pub failed: u64,
    /// Disputes won.
    pub disputes_won: u64,
    /// Disputes lost.
    pub disputes_lost: u64,
    /// Total earned (smallest units).
    pub earned: U256,
    /// Total slashed (smallest units).
    pub slashed: U256,
}

/// The terms of a standing offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferTerms {
    /// The hardware offered (at most what the provider registered).
    pub hardware: Hardware,
    /// Price per job (smallest units).
    pub price: U256,
    /// Shortest job taken, seconds.
    pub min_duration: u64,
    /// Longest job taken, seconds.
    pub max_duration: u64,
    /// Deals at once.
    pub max_concurrent: u32,
    /// Unix time the offer ends.
    pub expiry: u64,
}

/// A standing offer as the offer book holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// Its id.
    pub id: U256,
    /// The provider.
    pub provider: Address,
    /// Whether it is open (not cancelled).
    pub open: bool,
    /// Its terms.
    pub terms: OfferTerms,
    /// Deals running on it now.
    pub active_deals: u32,
}

/// A job as its creator posts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRequest {
    /// Content hash of the module.
    pub module_hash: alloy::primitives::B256,
    /// Where the module can be fetched.
    pub module_uri: String,
    /// Content hash of the inputs (parameters included).
    pub input_hash: alloy::primitives::B256,
    /// Where the inputs can be fetched.
    pub input_uri: String,
    /// The least hardware a provider must offer.
    pub min_hardware: Hardware,
    /// Longest the job may run, seconds.
    pub max_duration: u64,
    /// Most the creator pays (smallest units; locked until matched).
    pub max_price: U256,
    /// Unix time after which an unmatched job expires.
    pub match_deadline: u64,
    /// Reverse auction for this many seconds (0: none).
    pub bidding_window: u64,
    /// Match this offer at once (0: none).
    pub offer_id: U256,
}

/// What a posted job became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostedJob {
    /// The job's id.
    pub job_id: U256,
    /// Its deal, when it was matched at once.
    pub deal_id: Option<U256>,
    /// The transaction.
    pub transaction: TxHash,
}

/// A job as the market holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobInfo {
    /// The creator.
    pub creator: Address,
    /// State name (`open`, `bidding`, `matched`, `cancelled`, `expired`).
    pub state: &'static str,
    /// Most the creator pays.
    pub max_price: U256,
    /// Longest run, seconds.
    pub max_duration: u64,
    /// Match deadline (unix seconds).
    pub match_deadline: u64,
    /// End of bidding (0: no auction).
    pub bidding_end: u64,
    /// Its deal (0: none yet).
    pub deal_id: U256,
    /// Best bidder so far (auctions).
    pub best_bidder: Address,
    /// Best bid so far (auctions).
    pub best_price: U256,
    /// The least hardware.
    pub min_hardware: Hardware,
}

/// Where a job's module and inputs are, as its posting announced them (the
/// market announces them in its event and does not keep them in storage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobData {
    /// Content hash of the module.
    pub module_hash: alloy::primitives::B256,
    /// Where the module can be fetched.
    pub module_uri: String,
    /// Content hash of the inputs.
    pub input_hash: alloy::primitives::B256,
    /// Where the inputs can be fetched.
    pub input_uri: String,
}

/// A deal as the deal book holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DealInfo {
    /// Its job.
    pub job_id: U256,
    /// The offer it runs on (0: an auction's winning bid).
    pub offer_id: U256,
    /// The job's creator.
    pub creator: Address,
    /// The provider.
    pub provider: Address,
    /// State name (`active`, `committed`, `revealed`, `challenged`,
    /// `completed`, `timed_out`).
    pub state: &'static str,
    /// Its mediation case (0: none).
    pub case_id: U256,
    /// The agreed price.
    pub price: U256,
    /// The provider's results collateral.
    pub results_collateral: U256,
    /// The provider's timeout collateral.
    pub timeout_collateral: U256,
    /// Commit by (unix seconds).
    pub execution_deadline: u64,
    /// Reveal by (unix seconds; 0 before the commitment).
    pub reveal_deadline: u64,
    /// Judge by (unix seconds; 0 before the reveal).
    pub judge_deadline: u64,
    /// The provider's commitment.
    pub commitment: alloy::primitives::B256,
    /// The revealed result hash.
    pub result_hash: alloy::primitives::B256,
}

/// A validator as the registry holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorInfo {
    /// Stake.
    pub stake: U256,
    /// Amount unbonding.
    pub unbonding: U256,
    /// When the unbonding amount can be withdrawn (unix seconds).
    pub unbonding_ready_at: u64,
    /// Cases it serves now.
    pub active_cases: u32,
    /// Votes with the majority.
    pub with_majority: u64,
    /// Votes against it.
    pub against_majority: u64,
    /// Drawn but did not vote.
    pub no_shows: u64,
    /// Total earned.
    pub earned: U256,
    /// Total slashed.
    pub slashed: U256,
}

/// A mediation case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseInfo {
    /// The challenged deal.
    pub deal_id: U256,
    /// The challenger.
    pub creator: Address,
    /// The provider.
    pub provider: Address,
    /// State name (`awaiting_randomness`, `voting`, `resolved`).
    pub state: &'static str,
    /// Voting round as the contract counts it: 0 for the first committee,
    /// 1 for the redraw (the seed is computed with this number).
    pub round: u8,
    /// Commit votes by (unix seconds).
    pub commit_deadline: u64,
    /// Reveal votes by (unix seconds).
    pub reveal_deadline: u64,
    /// The provider's result under challenge.
    pub provider_result: alloy::primitives::B256,
    /// The validators drawn for the current round.
    pub validators: Vec<Address>,
}

/// An account's token holdings: in its wallet, and in the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balances {
    /// Tokens in the account's wallet (not in the vault).
    pub wallet: U256,
    /// Vault balance free to use or withdraw.
    pub available: U256,
    /// Vault balance locked in jobs, deals, stakes and cases.
    pub locked: U256,
}

impl Client {
    /// Connects to `rpc` (HTTP) for `deployment`, signing as `signer` when
    /// given; checks that the endpoint serves the deployment's chain.
    ///
    /// # Errors
    /// The endpoint is unreachable or serves another chain.
    pub async fn connect(
        rpc: &str,
        deployment: Deployment,
        signer: Option<PrivateKeySigner>,
    ) -> Result<Self, ClientError> {
        let url = rpc.parse().map_err(|_| ClientError::Transport {
            rpc: rpc.to_owned(),
            reason: "not an http(s) URL".to_owned(),
        })?;
        let account = signer.as_ref().map(PrivateKeySigner::address);
        let kept = signer.clone();
        let provider = match signer {
            // The nonce is asked of the node for every transaction, never
            // cached: a transaction the node refused (another agent's
            // identical step won the race) must not leave a gap that
            // blocks every later one, and other processes may sign for the
            // same account (an agent and a person's command).
            Some(signer) => ProviderBuilder::new()
                .disable_recommended_fillers()
                .with_gas_estimation()
                .with_simple_nonce_management()
                .fetch_chain_id()
                .wallet(EthereumWallet::from(signer))
                .connect_http(url)
                .erased(),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let client = Self {
            provider,
            rpc: rpc.to_owned(),
            deployment,
            account,
            signer: kept,
            confirmations: 1,
            log_window: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)),
        };
        let actual = client
            .provider
            .get_chain_id()
            .await
            .map_err(|e| client.transport(&e))?;
        if actual != client.deployment.chain_id {
            return Err(ClientError::WrongChain {
                rpc: client.rpc,
                expected: client.deployment.chain_id,
                actual,
            });
        }
        Ok(client)
    }

    /// Waits for `confirmations` blocks on each transaction (default 1).
    #[must_use]
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations.max(1);
        self
    }

    /// The signing account.
    ///
    /// # Errors
    /// None was given.
    pub fn account(&self) -> Result<Address, ClientError> {
        self.account.ok_or(ClientError::NoAccount)
    }

    /// The deployment.
    #[must_use]
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    fn transport(&self, error: &impl std::fmt::Display) -> ClientError {
        ClientError::Transport {
            rpc: self.rpc.clone(),
            reason: error.to_string(),
        }
    }

    /// Calls a view, trying again (after 100 ms, then doubling, 4 tries in
    /// all) while the chain is unreachable: reads are idempotent, so a blip
    /// of the RPC endpoint does not fail a command or an agent's step.
    async fn view<D: alloy::contract::CallDecoder>(
        &self,
        called: &str,
        call: alloy::contract::CallBuilder<&&DynProvider, D>,
    ) -> Result<D::CallOutput, ClientError> {
        let mut pause = std::time::Duration::from_millis(100);
        let mut tries = 1;
        loop {
            match call.call().await {
                Ok(output) => return Ok(output),
                Err(e) => {
                    let error = self.classify(called, &e);
                    if !error.is_retryable() || tries >= READ_TRIES {
                        return Err(error);
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            tries += 1;
        }
    }

    /// Classifies a contract call's error: a revert (named when it is a
    /// Pond error, `called` being the contract called) or a transport
    /// failure.
    fn classify(&self, called: &str, error: &alloy::contract::Error) -> ClientError {
        if let Some(data) = error.as_revert_data() {
            return PondRevert::decode(&data, Some(called))
                .map_or(ClientError::UnknownRevert(data), ClientError::Revert);
        }
        match error {
            // Rate limits (EIP-1474's -32005) pass: retried like an outage.
            alloy::contract::Error::TransportError(alloy::transports::RpcError::ErrorResp(
                payload,
            )) if payload.code != -32005 => ClientError::Refused {
                rpc: self.rpc.clone(),
                message: payload.message.chars().take(300).collect(),
            },
            other => self.transport(other),
        }
    }

    /// The token's decimals.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn token_decimals(&self) -> Result<u8, ClientError> {
        let token = self.token();
        self.view("PondToken", token.decimals()).await
    }

    /// `account`'s balances.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn balances(&self, account: Address) -> Result<Balances, ClientError> {
        let token = self.token();
        let vault = self.vault();
        let wallet = self.view("PondToken", token.balanceOf(account)).await?;
        let available = self.view("Vault", vault.availableOf(account)).await?;
        let locked = self.view("Vault", vault.lockedOf(account)).await?;
        Ok(Balances {
            wallet,
            available,
            locked,
        })
    }

    /// Moves `amount` from the account's wallet into its vault balance,
    /// approving the vault first when its allowance is short. Returns the
    /// deposit's transaction hash.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn deposit(&self, amount: U256) -> Result<TxHash, ClientError> {
        let account = self.account()?;
        let vault_address = self.deployment.contracts.vault;
        let token = self.token();
        let allowance = self
            .view("PondToken", token.allowance(account, vault_address))
            .await?;
        if allowance < amount {
            let approve = token.approve(vault_address, amount);
            self.transact("PondToken", approve).await?;
        }
        let vault = self.vault();
        self.transact("Vault", vault.deposit(amount)).await
    }

    /// Withdraws `amount` of the account's available vault balance to its
    /// wallet.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn withdraw(&self, amount: U256) -> Result<TxHash, ClientError> {
        let vault = self.vault();
        self.transact("Vault", vault.withdraw(amount)).await
    }

    /// Registers the account as a provider of `hardware`, with a metadata
    /// URI (contact, region, terms).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn register_provider(
        &self,
        hardware: Hardware,
        metadata_uri: &str,
    ) -> Result<TxHash, ClientError> {
        let registry = self.registry();
        let call = registry.registerProvider(sol_hardware(hardware), metadata_uri.to_owned());
        self.transact("Registry", call).await
    }

    /// Replaces the account's declared hardware and metadata URI.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn update_provider(
        &self,
        hardware: Hardware,
        metadata_uri: &str,
    ) -> Result<TxHash, ClientError> {
        let registry = self.registry();
        let call = registry.updateProvider(sol_hardware(hardware), metadata_uri.to_owned());
        self.transact("Registry", call).await
    }

    /// `provider`'s registration, or `None` when it is not registered.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn provider(&self, provider: Address) -> Result<Option<ProviderInfo>, ClientError> {
        let registry = self.registry();
        let hw = self
            .view("Registry", registry.providerHardware(provider))
            .await?;
        if !hw._0 {
            return Ok(None);
        }
        let r = self
            .view("Registry", registry.providerRecord(provider))
            .await?;
        Ok(Some(ProviderInfo {
            hardware: Hardware {
                gpu_count: hw._1,
                gpu_memory_gb: hw._2,
                cpu_cores: hw._3,
                ram_gb: hw._4,
                disk_gb: hw._5,
            },
            completed: r._0,
            failed: r._1,
            disputes_won: r._2,
            disputes_lost: r._3,
            earned: r._4,
            slashed: r._5,
        }))
    }

    /// Posts a standing offer; returns its id and the transaction.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn post_offer(&self, terms: OfferTerms) -> Result<(U256, TxHash), ClientError> {
        let book = self.offer_book();
        let call = book.postOffer(
            offers::Hardware {
                gpuCount: terms.hardware.gpu_count,
                gpuMemoryGb: terms.hardware.gpu_memory_gb,
                cpuCores: terms.hardware.cpu_cores,
                ramGb: terms.hardware.ram_gb,
                diskGb: terms.hardware.disk_gb,
            },
            terms.price,
            terms.min_duration,
            terms.max_duration,
            terms.max_concurrent,
            terms.expiry,
        );
        let receipt = self.transact_receipt("OfferBook", call).await?;
        let id = receipt
            .decoded_log::<IOfferBook::OfferPosted>()
            .map(|log| log.data.offerId)
            .ok_or(ClientError::Reverted(receipt.transaction_hash))?;
        Ok((id, receipt.transaction_hash))
    }

    /// Cancels one of the account's offers (running deals continue).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn cancel_offer(&self, id: U256) -> Result<TxHash, ClientError> {
        let book = self.offer_book();
        self.transact("OfferBook", book.cancelOffer(id)).await
    }

    /// The number of offers ever posted (ids run from 1).
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn offer_count(&self) -> Result<U256, ClientError> {
        let book = self.offer_book();
        self.view("OfferBook", book.offerCount()).await
    }

    /// The number of jobs ever posted (ids run from 1).
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn job_count(&self) -> Result<U256, ClientError> {
        let market = self.market();
        self.view("Market", market.jobCount()).await
    }

    /// The number of deals ever made (ids run from 1).
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn deal_count(&self) -> Result<U256, ClientError> {
        let deals = self.deals();
        self.view("Deals", deals.dealCount()).await
    }

    /// The number of mediation cases ever opened (ids run from 1).
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn case_count(&self) -> Result<U256, ClientError> {
        let mediation = self.mediation();
        self.view("Mediation", mediation.caseCount()).await
    }

    /// Offer `id`, or `None` when there is none.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn offer(&self, id: U256) -> Result<Option<Offer>, ClientError> {
        let book = self.offer_book();
        let o = self.view("OfferBook", book.offer(id)).await?;
        if o._0.is_zero() {
            return Ok(None);
        }
        Ok(Some(Offer {
            id,
            provider: o._0,
            open: o._1,
            terms: OfferTerms {
                hardware: Hardware {
                    gpu_count: o._8.gpuCount,
                    gpu_memory_gb: o._8.gpuMemoryGb,
                    cpu_cores: o._8.cpuCores,
                    ram_gb: o._8.ramGb,
                    disk_gb: o._8.diskGb,
                },
                price: o._2,
                min_duration: o._3,
                max_duration: o._4,
                max_concurrent: o._5,
                expiry: o._7,
            },
            active_deals: o._6,
        }))
    }

    /// Posts a job (its maximum price is locked from the vault balance).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn post_job(&self, job: JobRequest) -> Result<PostedJob, ClientError> {
        let market = self.market();
        let receipt = self
            .transact_receipt("Market", market.postJob(market_spec(job)))
            .await?;
        posted(&receipt)
    }

    /// Cancels one of the account's unmatched jobs (its price comes back).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn cancel_job(&self, id: U256) -> Result<TxHash, ClientError> {
        let market = self.market();
        self.transact("Market", market.cancelJob(id)).await
    }

    /// Job `id`, or `None` when there is none.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn job(&self, id: U256) -> Result<Option<JobInfo>, ClientError> {
        let market = self.market();
        let j = self.view("Market", market.job(id)).await?;
        if j._1 == 0 {
            return Ok(None);
        }
        Ok(Some(JobInfo {
            creator: j._0,
            state: state_name(&JOB_STATES, j._1),
            max_price: j._2,
            max_duration: j._3,
            match_deadline: j._4,
            bidding_end: j._5,
            deal_id: j._6,
            best_bidder: j._7,
            best_price: j._8,
            min_hardware: Hardware {
                gpu_count: j._9.gpuCount,
                gpu_memory_gb: j._9.gpuMemoryGb,
                cpu_cores: j._9.cpuCores,
                ram_gb: j._9.ramGb,
                disk_gb: j._9.diskGb,
            },
        }))
    }

    /// Job `id`'s module and inputs, from the `JobPosted` event that
    /// announced it (`None`: no such job). Read again while the chain is
    /// unreachable, like every view.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn job_data(&self, id: U256) -> Result<Option<JobData>, ClientError> {
        use alloy::sol_types::SolEvent;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.deployment.contracts.market)
            .event_signature(IMarket::JobPosted::SIGNATURE_HASH)
            .topic1(alloy::primitives::B256::from(id))
            .from_block(self.deployment.deployment_block);
        let logs = self.logs(&filter).await?;
        Ok(logs
            .iter()
            .filter(|log| log.address() == self.deployment.contracts.market)
            .find_map(|log| log.log_decode::<IMarket::JobPosted>().ok())
            .map(|log| {
                let posted = log.inner.data;
                JobData {
                    module_hash: posted.moduleHash,
                    module_uri: posted.moduleUri,
                    input_hash: posted.inputHash,
                    input_uri: posted.inputUri,
                }
            }))
    }

    /// The logs `filter` selects (a block range), read in windows of
    /// blocks: the whole range at first, and a window half as wide each
    /// time the node refuses one (most public endpoints cap the range or
    /// the results of `eth_getLogs`), remembered for later reads. Each
    /// window is read again while the chain is unreachable, like every
    /// view.
    async fn logs(
        &self,
        filter: &alloy::rpc::types::Filter,
    ) -> Result<Vec<alloy::rpc::types::Log>, ClientError> {
        use alloy::eips::BlockNumberOrTag as Tag;
        if filter.block_option.as_block_hash().is_some() {
            // One block, named by hash: nothing to page.
            return self.logs_once(filter).await.map_err(LogsError::into_inner);
        }
        let number = |tag: Option<Tag>| match tag {
            Some(Tag::Number(n)) => Some(n),
            Some(Tag::Earliest) => Some(0),
            _ => None,
        };
        let from = number(filter.block_option.get_from_block().copied()).unwrap_or(0);
        let to = match number(filter.block_option.get_to_block().copied()) {
            Some(to) => to,
            None => self
                .provider
                .get_block_number()
                .await
                .map_err(|e| self.transport(&e))?,
        };
        let mut found = Vec::new();
        let mut start = from;
        // The window that last worked; narrowed here on a refusal, kept
        // for later reads only once a narrower one has worked, and widened
        // again after a run of successes (a refusal may have been a rate
        // limit, not a range cap).
        let mut window = self.log_window.load(std::sync::atomic::Ordering::Relaxed);
        let mut successes = 0u32;
        while start <= to {
            let end = start.saturating_add(window - 1).min(to);
            let part = filter.clone().from_block(start).to_block(end);
            match self.logs_once(&part).await {
                Ok(logs) => {
                    found.extend(logs);
                    self.log_window
                        .store(window, std::sync::atomic::Ordering::Relaxed);
                    successes += 1;
                    if successes.is_multiple_of(8) {
                        window = window.saturating_mul(2);
                    }
                }
                Err(LogsError::Refused(_)) if end > start => {
                    window = (end - start).div_ceil(2).max(1);
                    successes = 0;
                    continue;
                }
                // Refused for one block: not a range cap.
                Err(e) => return Err(e.into_inner()),
            }
            start = end.saturating_add(1);
            if end == u64::MAX {
                break;
            }
        }
        Ok(found)
    }

    /// One `eth_getLogs`, tried again while the chain is unreachable.
    async fn logs_once(
        &self,
        filter: &alloy::rpc::types::Filter,
    ) -> Result<Vec<alloy::rpc::types::Log>, LogsError> {
        let mut pause = std::time::Duration::from_millis(100);
        let mut tries = 1;
        loop {
            match self.provider.get_logs(filter).await {
                Ok(logs) => return Ok(logs),
                // The node answered: trying the same range again is futile.
                Err(e @ alloy::transports::RpcError::ErrorResp(_)) => {
                    return Err(LogsError::Refused(self.transport(&e)))
                }
                Err(e) if tries >= READ_TRIES => {
                    return Err(LogsError::Unreachable(self.transport(&e)))
                }
                Err(_) => {}
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            tries += 1;
        }
    }

    /// The result deal `id`'s provider revealed and where its outputs are
    /// (`None`: not revealed), from the `ResultRevealed` event.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn revealed_result(
        &self,
        id: U256,
    ) -> Result<Option<(alloy::primitives::B256, String)>, ClientError> {
        use alloy::sol_types::SolEvent;
        let deals = self.deployment.contracts.deals;
        let filter = alloy::rpc::types::Filter::new()
            .address(deals)
            .event_signature(IDeals::ResultRevealed::SIGNATURE_HASH)
            .topic1(alloy::primitives::B256::from(id))
            .from_block(self.deployment.deployment_block);
        Ok(self
            .logs(&filter)
            .await?
            .iter()
            .filter(|log| log.address() == deals)
            .find_map(|log| log.log_decode::<IDeals::ResultRevealed>().ok())
            .map(|log| (log.inner.data.resultHash, log.inner.data.resultUri)))
    }

    /// The seed of case `case`'s voting round `round` (what the committee
    /// was drawn with, and what output digests are bound to), or `None`
    /// while its randomness is unknown or no longer available.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn case_seed(
        &self,
        case: U256,
        round: u8,
    ) -> Result<Option<alloy::primitives::B256>, ClientError> {
        use alloy::sol_types::{SolEvent, SolValue};
        let mediation = self.deployment.contracts.mediation;
        let filter = alloy::rpc::types::Filter::new()
            .address(mediation)
            .event_signature(IMediation::RandomnessRequested::SIGNATURE_HASH)
            .topic1(alloy::primitives::B256::from(case))
            .from_block(self.deployment.deployment_block);
        // The last request of the round is the one it was drawn from (an
        // expired round is requested again).
        let Some(beacon_round) = self
            .logs(&filter)
            .await?
            .iter()
            .filter(|log| log.address() == mediation)
            .filter_map(|log| log.log_decode::<IMediation::RandomnessRequested>().ok())
            .filter(|log| log.inner.data.round == round)
            .map(|log| log.inner.data.beaconRound)
            .next_back()
        else {
            return Ok(None);
        };
        let beacon = IBlockHashBeacon::new(self.deployment.contracts.beacon, &self.provider);
        let mut randomness = self
            .view("BlockHashBeacon", beacon.randomness(beacon_round))
            .await?;
        if randomness.is_zero() {
            // The beacon answers only for blocks its chain still serves
            // hashes for (about a day on Arbitrum through the EIP-2935
            // history, 256 blocks without it); the block's hash stays
            // readable from any node.
            match self.randomness_from_block(beacon_round).await? {
                Some(derived) => randomness = derived,
                None => return Ok(None),
            }
        }
        Ok(Some(alloy::primitives::keccak256(
            (randomness, case, U256::from(round)).abi_encode(),
        )))
    }

    /// A beacon round's randomness computed from its block's header, as
    /// `BlockHashBeacon.randomness` computes it on chain
    /// (`keccak256(abi.encode(blockhash(round), round))`), for rounds the
    /// beacon no longer answers for. `None`: no such block yet.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn randomness_from_block(
        &self,
        round: U256,
    ) -> Result<Option<alloy::primitives::B256>, ClientError> {
        use alloy::sol_types::SolValue;
        let Ok(number) = u64::try_from(round) else {
            return Ok(None);
        };
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.transport(&e))?;
        Ok(block.map(|b| alloy::primitives::keccak256((b.header.hash, round).abi_encode())))
    }

    /// Commits to a result with `commitment` (see
    /// `pond_bindings::commitment::result_commitment`; keep its salt).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn commit_result(
        &self,
        deal: U256,
        commitment: alloy::primitives::B256,
    ) -> Result<TxHash, ClientError> {
        let deals = self.deals();
        self.transact("Deals", deals.commitResult(deal, commitment))
            .await
    }

    /// Reveals the committed result with its URI and salt.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn reveal_result(
        &self,
        deal: U256,
        result_hash: alloy::primitives::B256,
        result_uri: &str,
        salt: alloy::primitives::B256,
    ) -> Result<TxHash, ClientError> {
        let deals = self.deals();
        let call = deals.revealResult(deal, result_hash, result_uri.to_owned(), salt);
        self.transact("Deals", call).await
    }

    /// Accepts a revealed result (the creator): the provider is paid.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn accept_result(&self, deal: U256) -> Result<TxHash, ClientError> {
        let deals = self.deals();
        self.transact("Deals", deals.acceptResult(deal)).await
    }

    /// Challenges a revealed result (the creator, paying the mediation
    /// fee); returns the case id and the transaction.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn challenge_result(&self, deal: U256) -> Result<(U256, TxHash), ClientError> {
        let deals = self.deals();
        let receipt = self
            .transact_receipt("Deals", deals.challengeResult(deal))
            .await?;
        let case = receipt
            .decoded_log::<IDeals::DealChallenged>()
            .map(|log| log.data.caseId)
            .ok_or(ClientError::Reverted(receipt.transaction_hash))?;
        Ok((case, receipt.transaction_hash))
    }

    /// Finalizes a revealed deal after its judge window (anyone).
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn finalize_deal(&self, deal: U256) -> Result<TxHash, ClientError> {
        let deals = self.deals();
        self.transact("Deals", deals.finalizeDeal(deal)).await
    }

    /// Claims a missed commit or reveal deadline (anyone).
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn claim_timeout(&self, deal: U256) -> Result<TxHash, ClientError> {
        let deals = self.deals();
        self.transact("Deals", deals.claimTimeout(deal)).await
    }

    /// Deal `id`, or `None` when there is none.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn deal(&self, id: U256) -> Result<Option<DealInfo>, ClientError> {
        let deals = self.deals();
        let p = self.view("Deals", deals.dealParties(id)).await?;
        if p._4 == 0 {
            return Ok(None);
        }
        let t = self.view("Deals", deals.dealTerms(id)).await?;
        Ok(Some(DealInfo {
            job_id: p._0,
            offer_id: p._1,
            creator: p._2,
            provider: p._3,
            state: state_name(&DEAL_STATES, p._4),
            case_id: p._5,
            price: t._0,
            results_collateral: t._1,
            timeout_collateral: t._2,
            execution_deadline: t._3,
            reveal_deadline: t._4,
            judge_deadline: t._5,
            commitment: t._6,
            result_hash: t._7,
        }))
    }

    /// Takes an open job with one of the account's offers (a provider);
    /// returns the deal id.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn take_offer(&self, job: U256, offer: U256) -> Result<(U256, TxHash), ClientError> {
        let market = self.market();
        let receipt = self
            .transact_receipt("Market", market.takeOffer(job, offer))
            .await?;
        let deal = receipt
            .decoded_log::<IMarket::JobMatched>()
            .map(|log| log.data.dealId)
            .ok_or(ClientError::Reverted(receipt.transaction_hash))?;
        Ok((deal, receipt.transaction_hash))
    }

    /// Bids `price` in a job's reverse auction (a provider).
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn bid(&self, job: U256, price: U256) -> Result<TxHash, ClientError> {
        let market = self.market();
        self.transact("Market", market.bid(job, price)).await
    }

    /// Closes an auction after its window (anyone); the deal id when a
    /// bid won.
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn close_auction(&self, job: U256) -> Result<(Option<U256>, TxHash), ClientError> {
        let market = self.market();
        let receipt = self
            .transact_receipt("Market", market.closeAuction(job))
            .await?;
        let deal = receipt
            .decoded_log::<IMarket::JobMatched>()
            .map(|log| log.data.dealId);
        Ok((deal, receipt.transaction_hash))
    }

    /// Expires an unmatched job past its match deadline (anyone).
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn expire_job(&self, job: U256) -> Result<TxHash, ClientError> {
        let market = self.market();
        self.transact("Market", market.expireJob(job)).await
    }

    /// Stakes `amount` of the account's available vault balance.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn stake(&self, amount: U256) -> Result<TxHash, ClientError> {
        let registry = self.registry();
        self.transact("Registry", registry.stake(amount)).await
    }

    /// Starts unbonding `amount` of the stake.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn request_unbond(&self, amount: U256) -> Result<TxHash, ClientError> {
        let registry = self.registry();
        self.transact("Registry", registry.requestUnbond(amount))
            .await
    }

    /// Withdraws the unbonded amount to the vault balance.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn withdraw_unbonded(&self) -> Result<TxHash, ClientError> {
        let registry = self.registry();
        self.transact("Registry", registry.withdrawUnbonded()).await
    }

    /// `validator`'s stake and record.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn validator(&self, validator: Address) -> Result<ValidatorInfo, ClientError> {
        let registry = self.registry();
        let st = self
            .view("Registry", registry.validatorState(validator))
            .await?;
        let r = self
            .view("Registry", registry.validatorRecord(validator))
            .await?;
        Ok(ValidatorInfo {
            active_cases: st._1,
            stake: st._2,
            unbonding: st._3,
            unbonding_ready_at: st._4,
            with_majority: r._0,
            against_majority: r._1,
            no_shows: r._2,
            earned: r._3,
            slashed: r._4,
        })
    }

    /// Draws a case's validators once its randomness is known (anyone).
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn draw_validators(&self, case: U256) -> Result<TxHash, ClientError> {
        let mediation = self.mediation();
        self.transact("Mediation", mediation.drawValidators(case))
            .await
    }

    /// Commits a drawn validator's vote.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn commit_vote(
        &self,
        case: U256,
        commitment: alloy::primitives::B256,
    ) -> Result<TxHash, ClientError> {
        let mediation = self.mediation();
        self.transact("Mediation", mediation.commitVote(case, commitment))
            .await
    }

    /// Reveals a committed vote.
    ///
    /// # Errors
    /// No account, a refusal (named; nothing sent), or the chain fails.
    pub async fn reveal_vote(
        &self,
        case: U256,
        result_hash: alloy::primitives::B256,
        output_digest: alloy::primitives::B256,
        salt: alloy::primitives::B256,
    ) -> Result<TxHash, ClientError> {
        let mediation = self.mediation();
        let call = mediation.revealVote(case, result_hash, output_digest, salt);
        self.transact("Mediation", call).await
    }

    /// Resolves a case after its reveal deadline (anyone).
    ///
    /// # Errors
    /// A refusal (named; nothing sent), or the chain fails.
    pub async fn resolve_case(&self, case: U256) -> Result<TxHash, ClientError> {
        let mediation = self.mediation();
        self.transact("Mediation", mediation.resolveCase(case))
            .await
    }

    /// Case `id`, or `None` when there is none.
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn case(&self, id: U256) -> Result<Option<CaseInfo>, ClientError> {
        let mediation = self.mediation();
        let c = self.view("Mediation", mediation.caseInfo(id)).await?;
        if c._3 == 0 {
            return Ok(None);
        }
        let validators = self.view("Mediation", mediation.caseValidators(id)).await?;
        Ok(Some(CaseInfo {
            deal_id: c._0,
            creator: c._1,
            provider: c._2,
            state: state_name(&CASE_STATES, c._3),
            round: c._4,
            commit_deadline: c._7,
            reveal_deadline: c._8,
            provider_result: c._9,
            validators,
        }))
    }

    /// The latest block's timestamp (the chain's now).
    ///
    /// # Errors
    /// The chain cannot be read.
    pub async fn now(&self) -> Result<u64, ClientError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| self.transport(&e))?;
        Ok(block.map_or(0, |b| b.header.timestamp))
    }

    fn market(&self) -> IMarket::IMarketInstance<&DynProvider> {
        IMarket::new(self.deployment.contracts.market, &self.provider)
    }

    fn deals(&self) -> IDeals::IDealsInstance<&DynProvider> {
        IDeals::new(self.deployment.contracts.deals, &self.provider)
    }

    fn registry(&self) -> IRegistry::IRegistryInstance<&DynProvider> {
        IRegistry::new(self.deployment.contracts.registry, &self.provider)
    }

    fn offer_book(&self) -> IOfferBook::IOfferBookInstance<&DynProvider> {
        IOfferBook::new(self.deployment.contracts.offers, &self.provider)
    }

    fn mediation(&self) -> IMediation::IMediationInstance<&DynProvider> {
        IMediation::new(self.deployment.contracts.mediation, &self.provider)
    }

    fn vault(&self) -> IVault::IVaultInstance<&DynProvider> {
        IVault::new(self.deployment.contracts.vault, &self.provider)
    }
    fn token(&self) -> IPondToken::IPondTokenInstance<&DynProvider> {
        IPondToken::new(self.deployment.token, &self.provider)
    }

    /// Simulates `call` to the contract `called` from the account (a
    /// refusal is named and nothing is sent), then signs and sends it and
    /// awaits its receipt for the configured confirmations.
    async fn transact<D: alloy::contract::CallDecoder>(
        &self,
        called: &str,
        call: alloy::contract::CallBuilder<&&DynProvider, D>,
    ) -> Result<TxHash, ClientError> {
        self.transact_receipt(called, call)
            .await
            .map(|receipt| receipt.transaction_hash)
    }

    /// [`Self::transact`], returning the successful receipt.
    async fn transact_receipt<D: alloy::contract::CallDecoder>(
        &self,
        called: &str,
        call: alloy::contract::CallBuilder<&&DynProvider, D>,
    ) -> Result<TransactionReceipt, ClientError> {
        let call = call.from(self.account()?);
        call.call_raw()
            .await
            .map_err(|e| self.classify(called, &e))?;
        let pending = call.send().await.map_err(|e| self.classify(called, &e))?;
        let receipt = pending
            .with_required_confirmations(self.confirmations)
            .get_receipt()
            .await
            .map_err(|e| self.transport(&e))?;
        if receipt.status() {
            Ok(receipt)
        } else {
            Err(ClientError::Reverted(receipt.transaction_hash))
        }
    }
}

/// The market's form of a job request.
fn market_spec(job: JobRequest) -> market::JobSpec {
    let h = job.min_hardware;
    market::JobSpec {
        moduleHash: job.module_hash,
        moduleUri: job.module_uri,
        inputHash: job.input_hash,
        inputUri: job.input_uri,
        minHardware: market::Hardware {
            gpuCount: h.gpu_count,
            gpuMemoryGb: h.gpu_memory_gb,
            cpuCores: h.cpu_cores,
            ramGb: h.ram_gb,
            diskGb: h.disk_gb,
        },
        maxDuration: job.max_duration,
        maxPrice: job.max_price,
        matchDeadline: job.match_deadline,
        biddingWindow: job.bidding_window,
        offerId: job.offer_id,
    }
}

/// The job (and deal, if matched at once) a posting receipt reports.
fn posted(receipt: &TransactionReceipt) -> Result<PostedJob, ClientError> {
    let job_id = receipt
        .decoded_log::<IMarket::JobPosted>()
        .map(|log| log.data.jobId)
        .ok_or(ClientError::Reverted(receipt.transaction_hash))?;
    let deal_id = receipt
        .decoded_log::<IMarket::JobMatched>()
        .map(|log| log.data.dealId);
    Ok(PostedJob {
        job_id,
        deal_id,
        transaction: receipt.transaction_hash,
    })
}

fn sol_hardware(h: Hardware) -> registry::Hardware {
    registry::Hardware {
        gpuCount: h.gpu_count,
        gpuMemoryGb: h.gpu_memory_gb,
        cpuCores: h.cpu_cores,
        ramGb: h.ram_gb,
        diskGb: h.disk_gb,
    }
}
