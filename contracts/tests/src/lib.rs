//! The shared fixture for Pond's native contract tests.
//!
//! [`Protocol::deploy`] creates every contract under motsu, wires them as a
//! deployment script would and funds nothing; helpers then fund accounts,
//! register providers, stake validators and run the common steps, and
//! [`Protocol::assert_vault_invariant`] checks the escrow invariant.
//! Randomness comes from [`TestBeacon`], whose rounds a test fulfils by
//! hand; time moves with [`advance`].

extern crate alloc;

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
pub use pond_common::clock::advance;
use pond_common::{
    commitment::{result_commitment, vote_commitment},
    interfaces::Revert,
    types::{Hardware, JobSpec},
    MIN_JOB_DURATION,
};
use pond_deals::Deals;
use pond_market::Market;
use pond_mediation::Mediation;
use pond_offers::OfferBook;
use pond_registry::Registry;
use pond_relay::JobRelay;
use pond_timelock::Timelock;
use pond_token::PondToken;
use pond_vault::Vault;
use stylus_sdk::{
    prelude::*,
    storage::{StorageB256, StorageMap, StorageU256},
};

/// One whole token (6 decimals).
pub const TOKEN: u64 = 1_000_000;
/// Minimum validator stake the fixture initializes the registry with.
pub const MIN_STAKE: u64 = 100 * TOKEN;
/// Mediation fee the fixture initializes mediation with.
pub const MEDIATION_FEE: u64 = 10 * TOKEN;

/// `n` whole tokens as a `U256`.
#[must_use]
pub fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(TOKEN)
}

mod beacon_errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        #[derive(Debug)]
        error TestRandomnessNotReady(uint256 round);
    }
}
pub use beacon_errors::TestRandomnessNotReady;

/// Errors of [`TestBeacon`].
#[derive(SolidityError, Debug)]
pub enum TestBeaconError {
    /// The round was not fulfilled yet.
    NotReady(TestRandomnessNotReady),
}

/// A randomness beacon whose rounds tests fulfil by hand.
#[storage]
pub struct TestBeacon {
    rounds: StorageU256,
    values: StorageMap<U256, StorageB256>,
    fulfilled: StorageMap<U256, StorageU256>,
}

// SAFETY: used only as a motsu contract's top-level storage.
unsafe impl TopLevelStorage for TestBeacon {}

#[public]
impl TestBeacon {
    /// Opens the next round.
    pub fn request_randomness(&mut self) -> U256 {
        let round = self.rounds.get() + U256::from(1);
        self.rounds.set(round);
        round
    }

    /// The round's value (zero means expired), or an error until fulfilled.
    ///
    /// # Errors
    /// The round was not fulfilled yet.
    pub fn randomness(&self, round: U256) -> Result<B256, TestBeaconError> {
        if self.fulfilled.get(round).is_zero() {
            return Err(TestBeaconError::NotReady(TestRandomnessNotReady { round }));
        }
        Ok(self.values.get(round))
    }

    /// Test control: sets a round's value (zero: the round expired).
    pub fn fulfil(&mut self, round: U256, value: B256) {
        self.values.setter(round).set(value);
        self.fulfilled.setter(round).set(U256::from(1));
    }

    /// Test control: the latest round requested.
    pub fn latest_round(&self) -> U256 {
        self.rounds.get()
    }
}

/// Every Pond contract, wired together.
pub struct Protocol {
    /// Payment token.
    pub token: Contract<PondToken>,
    /// Escrow.
    pub vault: Contract<Vault>,
    /// Providers and validators.
    pub registry: Contract<Registry>,
    /// Standing offers.
    pub offers: Contract<OfferBook>,
    /// Jobs and matching.
    pub market: Contract<Market>,
    /// Deal lifecycle.
    pub deals: Contract<Deals>,
    /// Challenged results.
    pub mediation: Contract<Mediation>,
    /// Hand-driven randomness.
    pub beacon: Contract<TestBeacon>,
    /// Gasless posting.
    pub relay: Contract<JobRelay>,
    /// Governance delay (owns nothing until [`Protocol::hand_to_timelock`]).
    pub timelock: Contract<Timelock>,
    /// Owner of every contract.
    pub owner: Address,
    /// Fee collector.
    pub treasury: Address,
    _precompiles: Box<dyn std::any::Any>,
}

impl Protocol {
    /// Deploys and wires every contract with the fixture's owner as their
    /// governor (so unit tests set parameters directly); resets the test
    /// clock.
    ///
    /// # Panics
    /// If wiring fails (a fixture bug).
    #[must_use]
    pub fn deploy() -> Self {
        let protocol = Self::contracts();
        protocol.wire(protocol.owner);
        protocol
    }

    /// Deploys and wires every contract governed by the timelock, whose
    /// admin is the fixture's owner, as a production deployment does.
    ///
    /// # Panics
    /// If wiring fails (a fixture bug).
    #[must_use]
    pub fn deploy_governed(delay: u64) -> Self {
        let protocol = Self::contracts();
        protocol
            .timelock
            .sender(protocol.owner)
            .initialize(protocol.owner, delay)
            .motsu_unwrap();
        protocol.wire(protocol.timelock.address());
        protocol
    }

    fn contracts() -> Self {
        pond_common::clock::reset();
        // motsu's precompiles (ecrecover) live as long as the fixture.
        let precompiles: Box<dyn std::any::Any> = Box::new(deploy_precompiles());
        Protocol {
            token: Contract::new(),
            vault: Contract::new(),
            registry: Contract::new(),
            offers: Contract::new(),
            market: Contract::new(),
            deals: Contract::new(),
            mediation: Contract::new(),
            beacon: Contract::new(),
            relay: Contract::new(),
            timelock: Contract::new(),
            owner: Address::repeat_byte(0x0e),
            treasury: Address::repeat_byte(0x7e),
            _precompiles: precompiles,
        }
    }

    fn wire(&self, governor: Address) {
        let deployer = self.owner;
        self.token
            .sender(deployer)
            .initialize(self.owner)
            .motsu_unwrap();
        let protocol_contracts = vec![
            self.registry.address(),
            self.market.address(),
            self.deals.address(),
            self.mediation.address(),
        ];
        self.vault
            .sender(deployer)
            .initialize(
                self.token.address(),
                self.treasury,
                protocol_contracts,
                governor,
            )
            .motsu_unwrap();
        self.registry
            .sender(deployer)
            .initialize(
                self.vault.address(),
                self.deals.address(),
                self.mediation.address(),
                U256::from(MIN_STAKE),
                governor,
            )
            .motsu_unwrap();
        self.offers
            .sender(deployer)
            .initialize(
                self.registry.address(),
                self.market.address(),
                self.deals.address(),
            )
            .motsu_unwrap();
        self.market
            .sender(deployer)
            .initialize(
                self.vault.address(),
                self.registry.address(),
                self.offers.address(),
                self.deals.address(),
                self.relay.address(),
                governor,
            )
            .motsu_unwrap();
        self.deals
            .sender(deployer)
            .initialize(
                self.vault.address(),
                self.registry.address(),
                self.market.address(),
                self.offers.address(),
                self.mediation.address(),
                governor,
            )
            .motsu_unwrap();
        self.mediation
            .sender(deployer)
            .initialize(
                self.vault.address(),
                self.registry.address(),
                self.deals.address(),
                self.beacon.address(),
                U256::from(MEDIATION_FEE),
                governor,
            )
            .motsu_unwrap();
        self.relay
            .sender(deployer)
            .initialize(self.market.address(), self.vault.address())
            .motsu_unwrap();
    }

    /// Mints `amount` to `account` and deposits it into the vault.
    pub fn fund(&self, account: Address, amount: U256) {
        self.token
            .sender(self.owner)
            .mint(account, amount)
            .motsu_unwrap();
        self.token
            .sender(account)
            .approve(self.vault.address(), amount)
            .motsu_unwrap();
        self.vault.sender(account).deposit(amount).motsu_unwrap();
    }

    /// `account`'s (available, locked) vault balances.
    #[must_use]
    pub fn balances(&self, account: Address) -> (U256, U256) {
        (
            self.vault.sender(account).available_of(account),
            self.vault.sender(account).locked_of(account),
        )
    }

    /// Asserts `token.balanceOf(vault) == Σ available + Σ locked`.
    ///
    /// # Panics
    /// When the invariant does not hold.
    pub fn assert_vault_invariant(&self) {
        let anyone = Address::repeat_byte(0x01);
        let held = self.token.sender(anyone).balance_of(self.vault.address());
        let available = self.vault.sender(anyone).total_available();
        let locked = self.vault.sender(anyone).total_locked();
        assert_eq!(held, available + locked, "vault invariant broken");
    }

    /// Registers `provider` with `hardware`.
    pub fn register_provider(&self, provider: Address, hardware: Hardware) {
        self.registry
            .sender(provider)
            .register_provider(hardware, "ipfs://provider".into())
            .motsu_unwrap();
    }

    /// Funds and stakes `amount` for `validator`.
    pub fn stake_validator(&self, validator: Address, amount: U256) {
        self.fund(validator, amount);
        self.registry.sender(validator).stake(amount).motsu_unwrap();
    }

    /// Posts an offer for `provider` valid for a day, taking jobs from the
    /// protocol's shortest duration up to `max_duration`; returns its id.
    pub fn post_offer(
        &self,
        provider: Address,
        hardware: Hardware,
        price: U256,
        max_duration: u64,
        max_concurrent: u32,
    ) -> U256 {
        let expiry = self.now() + 24 * 3600;
        self.offers
            .sender(provider)
            .post_offer(
                hardware,
                price,
                MIN_JOB_DURATION,
                max_duration,
                max_concurrent,
                expiry,
            )
            .motsu_unwrap()
    }

    /// Posts `spec` for `creator`; returns the job id.
    pub fn post_job(&self, creator: Address, spec: JobSpec) -> U256 {
        self.market.sender(creator).post_job(spec).motsu_unwrap()
    }

    /// The deal id and state of a job: (state, deal id).
    #[must_use]
    pub fn job_state(&self, job_id: U256) -> (u8, U256) {
        let job = self.market.sender(self.owner).job(job_id);
        (job.1, job.6)
    }

    /// A deal's state.
    #[must_use]
    pub fn deal_state(&self, deal_id: U256) -> u8 {
        self.deals.sender(self.owner).deal_parties(deal_id).4
    }

    /// Commits and reveals `result` for a deal as its provider.
    pub fn deliver(&self, provider: Address, deal_id: U256, result: B256) {
        let salt = B256::repeat_byte(0x5a);
        let commitment = result_commitment(deal_id, provider, result, salt);
        self.deals
            .sender(provider)
            .commit_result(deal_id, commitment)
            .motsu_unwrap();
        self.deals
            .sender(provider)
            .reveal_result(deal_id, result, "ipfs://result".into(), salt)
            .motsu_unwrap();
    }

    /// Fulfils the beacon's latest round and draws validators for `case_id`.
    pub fn draw(&self, case_id: U256, randomness: B256) {
        let round = self.beacon.sender(self.owner).latest_round();
        self.beacon.sender(self.owner).fulfil(round, randomness);
        self.mediation
            .sender(self.owner)
            .draw_validators(case_id)
            .motsu_unwrap();
    }

    /// Commits `validator`'s vote for `result` in `case_id`, with the
    /// digest of outputs it really holds ([`outputs_digest`]). Reveals open
    /// once everyone committed, so commit for all validators first when
    /// some must stay silent.
    pub fn vote_commit(&self, case_id: U256, validator: Address, result: B256) {
        self.vote_commit_with(case_id, validator, result, outputs_digest(result));
    }

    /// Commits a vote for `result` with any `digest` (a lazy or lying voter).
    pub fn vote_commit_with(&self, case_id: U256, validator: Address, result: B256, digest: B256) {
        let commitment = vote_commitment(case_id, validator, result, digest, salt_of(validator));
        self.mediation
            .sender(validator)
            .commit_vote(case_id, commitment)
            .motsu_unwrap();
    }

    /// Reveals a vote committed with [`Protocol::vote_commit`].
    pub fn vote_reveal(&self, case_id: U256, validator: Address, result: B256) {
        self.vote_reveal_with(case_id, validator, result, outputs_digest(result));
    }

    /// Reveals a vote committed with [`Protocol::vote_commit_with`].
    pub fn vote_reveal_with(&self, case_id: U256, validator: Address, result: B256, digest: B256) {
        self.mediation
            .sender(validator)
            .reveal_vote(case_id, result, digest, salt_of(validator))
            .motsu_unwrap();
    }

    /// Registers `provider` (two GPUs), posts an offer at `price` and a job
    /// by `creator` naming it (direct match, maximum price `max_price`).
    /// Returns the deal id. The parties must be funded.
    pub fn direct_deal(
        &self,
        creator: Address,
        provider: Address,
        price: U256,
        max_price: U256,
    ) -> U256 {
        self.register_provider(provider, machine(2));
        let offer = self.post_offer(provider, machine(1), price, 7_200, 2);
        let mut spec = job_spec(self.now(), machine(1), max_price);
        spec.offerId = offer;
        let job = self.post_job(creator, spec);
        self.job_state(job).1
    }

    /// A new direct deal at `price` (maximum price equal) whose provider
    /// delivers `result` and whose creator challenges it: (deal, case).
    /// Both parties must be funded.
    pub fn challenged_deal(
        &self,
        creator: Address,
        provider: Address,
        price: U256,
        result: B256,
    ) -> (U256, U256) {
        let deal = self.direct_deal(creator, provider, price, price);
        self.deliver(provider, deal, result);
        let case = self
            .deals
            .sender(creator)
            .challenge_result(deal)
            .motsu_unwrap();
        (deal, case)
    }

    /// Every `(validator, result)` commits, then every one reveals (reveals
    /// open once all committed), each with the digest of outputs it holds.
    pub fn vote_round(&self, case_id: U256, votes: &[(Address, B256)]) {
        for (validator, result) in votes {
            self.vote_commit(case_id, *validator, *result);
        }
        for (validator, result) in votes {
            self.vote_reveal(case_id, *validator, *result);
        }
    }

    /// Resolves `case_id`; anyone may.
    pub fn resolve(&self, case_id: U256) {
        self.mediation
            .sender(Address::repeat_byte(0x01))
            .resolve_case(case_id)
            .motsu_unwrap();
    }

    /// The protocol clock now.
    #[must_use]
    pub fn now(&self) -> u64 {
        pond_common::clock::now(&stylus_sdk::host::WasmVM {})
    }
}

/// The contract's own error of a call that must fail (rolled back).
///
/// # Panics
/// If the call succeeded or failed with another contract's revert data.
#[track_caller]
pub fn own_error<T: core::fmt::Debug, E: core::fmt::Debug>(result: Result<T, Revert<E>>) -> E {
    match result.motsu_unwrap_err() {
        Revert::Own(error) => error,
        Revert::Bubbled(data) => panic!("expected the contract's own error, got bubbled {data:?}"),
    }
}

/// The selector of another contract's error, passed through by a call that must fail.
///
/// # Panics
/// If the call succeeded or failed with the called contract's own error.
#[track_caller]
pub fn bubbled_selector<T: core::fmt::Debug, E: core::fmt::Debug>(
    result: Result<T, Revert<E>>,
) -> [u8; 4] {
    match result.motsu_unwrap_err() {
        Revert::Bubbled(data) if data.len() >= 4 => [data[0], data[1], data[2], data[3]],
        other => panic!("expected a bubbled custom error, got {other:?}"),
    }
}

/// The output digest of a validator that holds the outputs whose result
/// hash is `result`. Off chain it is computed over the output files and the
/// round's seed (see `docs/protocol.md`); here the result stands in for
/// the outputs: voters holding the same outputs reveal the same digest,
/// and one that never fetched them cannot.
#[must_use]
pub fn outputs_digest(result: B256) -> B256 {
    alloy_primitives::keccak256([b"outputs:".as_slice(), result.as_slice()].concat())
}

/// A validator's vote salt in the fixture.
#[must_use]
pub fn salt_of(validator: Address) -> B256 {
    let mut salt = B256::repeat_byte(0x33);
    salt[12..].copy_from_slice(validator.as_slice());
    salt
}

/// A machine with `gpus` GPUs of 24 GB, 16 cores, 64 GB RAM, 500 GB disk.
#[must_use]
pub fn machine(gpus: u32) -> Hardware {
    Hardware {
        gpuCount: gpus,
        gpuMemoryGb: 24,
        cpuCores: 16,
        ramGb: 64,
        diskGb: 500,
    }
}

/// A job spec needing `minimum`, paying at most `max_price`, running at
/// most an hour, matchable for a day, with no direct offer and no auction.
#[must_use]
pub fn job_spec(now: u64, minimum: Hardware, max_price: U256) -> JobSpec {
    JobSpec {
        moduleHash: B256::repeat_byte(0x11),
        moduleUri: "oci://pond/llm-infer@sha256:11".into(),
        inputHash: B256::repeat_byte(0x22),
        inputUri: "ipfs://inputs".into(),
        minHardware: minimum,
        maxDuration: 3600,
        maxPrice: max_price,
        matchDeadline: now + 24 * 3600,
        biddingWindow: 0,
        offerId: U256::ZERO,
    }
}
