//! Property tests: thousands of random action sequences (random actors,
//! amounts and timing) against the wired protocol. After every step: the
//! vault invariant holds, no token is created or lost, and no deal is
//! settled twice; while a committee draw is pending the stake it is drawn
//! from does not move (validators stake, unbond and are slashed at random
//! meanwhile). At the end, permissionless calls alone bring every job,
//! deal and case to a terminal state, leaving only validator stake locked,
//! and every party holds exactly what the protocol's outcomes give it: no
//! creator, provider or validator ends with more (or less) than its
//! settled deals, cases and votes account for.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
use pond_common::{
    commitment::{result_commitment, vote_commitment},
    MIN_JOB_DURATION,
};
use pond_contract_tests::{advance, job_spec, machine, outputs_digest, salt_of, tokens, Protocol};
use pond_deals::{deal_state, DealCompleted, DealOpened, DealRejected, DealTimedOut};
use pond_market::job_state;
use pond_mediation::{case_state, CaseOpened, CaseResolved, ValidatorsDrawn, VoteSettled};
use proptest::prelude::*;

const CREATORS: [Address; 2] = [Address::repeat_byte(0xc1), Address::repeat_byte(0xc2)];
const PROVIDERS: [Address; 3] = [
    Address::repeat_byte(0xa1),
    Address::repeat_byte(0xa2),
    Address::repeat_byte(0xa3),
];
const VALIDATORS: [Address; 4] = [
    Address::repeat_byte(0x41),
    Address::repeat_byte(0x42),
    Address::repeat_byte(0x43),
    Address::repeat_byte(0x44),
];
const CALLER: Address = Address::repeat_byte(0x99);
const RESULT: B256 = B256::repeat_byte(0xee);

#[derive(Debug, Clone)]
enum Action {
    PostOffer {
        provider: usize,
        price: u64,
        capacity: u32,
    },
    PostJob {
        creator: usize,
        max_price: u64,
        gpus: u32,
        mode: u8,
        pick: usize,
    },
    Take {
        job: usize,
        offer: usize,
    },
    Bid {
        provider: usize,
        job: usize,
        price: u64,
    },
    CloseAuction {
        job: usize,
    },
    CancelJob {
        job: usize,
    },
    ExpireJob {
        job: usize,
    },
    Commit {
        deal: usize,
        honest: bool,
    },
    Reveal {
        deal: usize,
    },
    Accept {
        deal: usize,
    },
    Challenge {
        deal: usize,
    },
    Finalize {
        deal: usize,
    },
    Timeout {
        deal: usize,
    },
    Draw {
        case: usize,
        seed: u8,
    },
    Vote {
        case: usize,
        member: usize,
        agree: bool,
    },
    RevealVote {
        case: usize,
        member: usize,
    },
    Resolve {
        case: usize,
    },
    Withdraw {
        who: usize,
        amount: u64,
    },
    Stake {
        validator: usize,
        amount: u64,
    },
    Unbond {
        validator: usize,
        amount: u64,
    },
    Advance {
        seconds: u64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..3usize, 1..60u64, 1..3u32).prop_map(|(provider, price, capacity)| Action::PostOffer { provider, price, capacity }),
        5 => (0..2usize, 1..120u64, 0..4u32, 0..3u8, any::<usize>())
            .prop_map(|(creator, max_price, gpus, mode, pick)| Action::PostJob { creator, max_price, gpus, mode, pick }),
        5 => (any::<usize>(), any::<usize>()).prop_map(|(job, offer)| Action::Take { job, offer }),
        3 => (0..3usize, any::<usize>(), 1..120u64).prop_map(|(provider, job, price)| Action::Bid { provider, job, price }),
        2 => any::<usize>().prop_map(|job| Action::CloseAuction { job }),
        1 => any::<usize>().prop_map(|job| Action::CancelJob { job }),
        1 => any::<usize>().prop_map(|job| Action::ExpireJob { job }),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(deal, honest)| Action::Commit { deal, honest }),
        4 => any::<usize>().prop_map(|deal| Action::Reveal { deal }),
        2 => any::<usize>().prop_map(|deal| Action::Accept { deal }),
        4 => any::<usize>().prop_map(|deal| Action::Challenge { deal }),
        1 => any::<usize>().prop_map(|deal| Action::Finalize { deal }),
        1 => any::<usize>().prop_map(|deal| Action::Timeout { deal }),
        4 => (any::<usize>(), any::<u8>()).prop_map(|(case, seed)| Action::Draw { case, seed }),
        5 => (any::<usize>(), 0..3usize, any::<bool>()).prop_map(|(case, member, agree)| Action::Vote { case, member, agree }),
        5 => (any::<usize>(), 0..3usize).prop_map(|(case, member)| Action::RevealVote { case, member }),
        3 => any::<usize>().prop_map(|case| Action::Resolve { case }),
        1 => (0..9usize, 1..50u64).prop_map(|(who, amount)| Action::Withdraw { who, amount }),
        2 => (0..4usize, 1..120u64).prop_map(|(validator, amount)| Action::Stake { validator, amount }),
        1 => (0..4usize, 1..120u64).prop_map(|(validator, amount)| Action::Unbond { validator, amount }),
        3 => prop_oneof![4 => 1..600u64, 2 => 3_000..4_000u64, 1 => 86_000..90_000u64].prop_map(|seconds| Action::Advance { seconds }),
    ]
}

fn everyone() -> Vec<Address> {
    CREATORS
        .iter()
        .chain(&PROVIDERS)
        .chain(&VALIDATORS)
        .copied()
        .collect()
}

/// The simulation: the protocol plus what the test remembers to pick ids.
struct World {
    p: Protocol,
    supply: U256,
    /// Per deal: (provider, the result it committed to).
    deals: Vec<(Address, B256)>,
    /// The draw weight when the current stake freeze began, and how many
    /// draws or resolutions had happened then (either may end a freeze).
    frozen_weight: Option<(U256, usize)>,
    /// What each party held (wallet and vault) after funding.
    initial: std::collections::HashMap<Address, U256>,
}

fn pick(n: U256, i: usize) -> Option<U256> {
    let n: usize = n.to();
    (n > 0).then(|| U256::from(i % n + 1))
}

impl World {
    fn new() -> Self {
        let p = Protocol::deploy();
        for c in CREATORS {
            p.fund(c, tokens(500));
        }
        for (i, provider) in PROVIDERS.iter().enumerate() {
            p.fund(*provider, tokens(800));
            p.register_provider(*provider, machine(u32::try_from(i).unwrap() + 1));
        }
        for v in VALIDATORS {
            p.stake_validator(v, tokens(150));
            // Available for random top-ups.
            p.fund(v, tokens(200));
        }
        let supply = p.token.sender(CALLER).total_supply();
        let initial = everyone()
            .into_iter()
            .map(|a| (a, holdings(&p, a)))
            .collect();
        World {
            p,
            supply,
            deals: Vec::new(),
            frozen_weight: None,
            initial,
        }
    }

    fn job(&self, i: usize) -> Option<U256> {
        pick(self.p.market.sender(CALLER).job_count(), i)
    }

    fn deal(&self, i: usize) -> Option<U256> {
        pick(self.p.deals.sender(CALLER).deal_count(), i)
    }

    fn case(&self, i: usize) -> Option<U256> {
        pick(self.p.mediation.sender(CALLER).case_count(), i)
    }

    fn track_new_deals(&mut self) {
        let count: usize = self.p.deals.sender(CALLER).deal_count().to();
        while self.deals.len() < count {
            let id = U256::from(self.deals.len() + 1);
            let provider = self.p.deals.sender(CALLER).deal_parties(id).3;
            self.deals.push((provider, RESULT));
        }
    }

    fn apply(&mut self, action: &Action) {
        let p = &self.p;
        // Every call's error is fine (random actions are often invalid);
        // `motsu_res` rolls a failed call back, and the checks below catch
        // anything a failure might have leaked.
        match *action {
            Action::PostOffer {
                provider,
                price,
                capacity,
            } => {
                let expiry = p.now() + 2 * 86_400;
                let hw = machine(u32::try_from(provider).unwrap() + 1);
                let _ = p
                    .offers
                    .sender(PROVIDERS[provider])
                    .post_offer(hw, tokens(price), MIN_JOB_DURATION, 7_200, capacity, expiry)
                    .motsu_res();
            }
            Action::PostJob {
                creator,
                max_price,
                gpus,
                mode,
                pick: choice,
            } => {
                let mut spec = job_spec(p.now(), machine(gpus), tokens(max_price));
                match mode {
                    1 => spec.biddingWindow = 900,
                    2 => {
                        if let Some(offer) = pick(p.offers.sender(CALLER).offer_count(), choice) {
                            spec.offerId = offer;
                        }
                    }
                    _ => {}
                }
                let _ = p
                    .market
                    .sender(CREATORS[creator])
                    .post_job(spec)
                    .motsu_res();
            }
            Action::Take { job, offer } => {
                if let (Some(job), Some(offer)) = (
                    self.job(job),
                    pick(p.offers.sender(CALLER).offer_count(), offer),
                ) {
                    let _ = p.market.sender(CALLER).take_offer(job, offer).motsu_res();
                }
            }
            Action::Bid {
                provider,
                job,
                price,
            } => {
                if let Some(job) = self.job(job) {
                    let _ = p
                        .market
                        .sender(PROVIDERS[provider])
                        .bid(job, tokens(price))
                        .motsu_res();
                }
            }
            Action::CloseAuction { job } => {
                if let Some(job) = self.job(job) {
                    let _ = p.market.sender(CALLER).close_auction(job).motsu_res();
                }
            }
            Action::CancelJob { job } => {
                if let Some(job) = self.job(job) {
                    let creator = p.market.sender(CALLER).job(job).0;
                    let _ = p.market.sender(creator).cancel_job(job).motsu_res();
                }
            }
            Action::ExpireJob { job } => {
                if let Some(job) = self.job(job) {
                    let _ = p.market.sender(CALLER).expire_job(job).motsu_res();
                }
            }
            Action::Commit { deal, honest } => {
                self.track_new_deals();
                if let Some(id) = self.deal(deal) {
                    let index = id.to::<usize>() - 1;
                    let provider = self.deals[index].0;
                    let result = if honest {
                        RESULT
                    } else {
                        B256::repeat_byte(0xbb)
                    };
                    let commitment = result_commitment(id, provider, result, salt_of(provider));
                    if self
                        .p
                        .deals
                        .sender(provider)
                        .commit_result(id, commitment)
                        .motsu_res()
                        .is_ok()
                    {
                        self.deals[index].1 = result;
                    }
                }
            }
            Action::Reveal { deal } => {
                self.track_new_deals();
                if let Some(id) = self.deal(deal) {
                    let (provider, result) = self.deals[id.to::<usize>() - 1];
                    let _ = self
                        .p
                        .deals
                        .sender(provider)
                        .reveal_result(id, result, "ipfs://r".into(), salt_of(provider))
                        .motsu_res();
                }
            }
            Action::Accept { deal } => {
                if let Some(id) = self.deal(deal) {
                    let creator = p.deals.sender(CALLER).deal_parties(id).2;
                    let _ = p.deals.sender(creator).accept_result(id).motsu_res();
                }
            }
            Action::Challenge { deal } => {
                if let Some(id) = self.deal(deal) {
                    let creator = p.deals.sender(CALLER).deal_parties(id).2;
                    let _ = p.deals.sender(creator).challenge_result(id).motsu_res();
                }
            }
            Action::Finalize { deal } => {
                if let Some(id) = self.deal(deal) {
                    let _ = p.deals.sender(CALLER).finalize_deal(id).motsu_res();
                }
            }
            Action::Timeout { deal } => {
                if let Some(id) = self.deal(deal) {
                    let _ = p.deals.sender(CALLER).claim_timeout(id).motsu_res();
                }
            }
            Action::Draw { case, seed } => {
                if let Some(id) = self.case(case) {
                    let round = p.mediation.sender(CALLER).case_info(id).6;
                    p.beacon
                        .sender(CALLER)
                        .fulfil(round, B256::repeat_byte(seed));
                    let _ = p.mediation.sender(CALLER).draw_validators(id).motsu_res();
                }
            }
            Action::Vote {
                case,
                member,
                agree,
            } => {
                if let Some(id) = self.case(case) {
                    let members = p.mediation.sender(CALLER).case_validators(id);
                    if let Some(v) = members.get(member) {
                        let result = if agree {
                            vote_for(p, id)
                        } else {
                            B256::repeat_byte(0x0d)
                        };
                        let commitment =
                            vote_commitment(id, *v, result, outputs_digest(result), salt_of(*v));
                        let _ = p
                            .mediation
                            .sender(*v)
                            .commit_vote(id, commitment)
                            .motsu_res();
                    }
                }
            }
            Action::RevealVote { case, member } => {
                if let Some(id) = self.case(case) {
                    let members = p.mediation.sender(CALLER).case_validators(id);
                    if let Some(v) = members.get(member) {
                        // Try both votes: only the committed one matches.
                        for result in [vote_for(p, id), B256::repeat_byte(0x0d)] {
                            if p.mediation
                                .sender(*v)
                                .reveal_vote(id, result, outputs_digest(result), salt_of(*v))
                                .motsu_res()
                                .is_ok()
                            {
                                break;
                            }
                        }
                    }
                }
            }
            Action::Resolve { case } => {
                if let Some(id) = self.case(case) {
                    let _ = p.mediation.sender(CALLER).resolve_case(id).motsu_res();
                }
            }
            Action::Withdraw { who, amount } => {
                let account = everyone()[who];
                let _ = p.vault.sender(account).withdraw(tokens(amount)).motsu_res();
            }
            Action::Stake { validator, amount } => {
                let _ = p
                    .registry
                    .sender(VALIDATORS[validator])
                    .stake(tokens(amount))
                    .motsu_res();
            }
            Action::Unbond { validator, amount } => {
                let _ = p
                    .registry
                    .sender(VALIDATORS[validator])
                    .request_unbond(tokens(amount))
                    .motsu_res();
            }
            Action::Advance { seconds } => advance(seconds),
        }
        self.track_new_deals();
    }

    fn check(&mut self) {
        let p = &self.p;
        p.assert_vault_invariant();
        // A pending committee is drawn from the stake of its request: no
        // stake, unbond or slash moves the draw weight until it is drawn.
        let weight = p.registry.sender(CALLER).total_draw_weight();
        let draws = p
            .mediation
            .all_events()
            .iter()
            .filter(|log| {
                log.topics().first().is_some_and(|topic| {
                    [
                        ValidatorsDrawn::SIGNATURE_HASH,
                        CaseResolved::SIGNATURE_HASH,
                    ]
                    .contains(topic)
                })
            })
            .count();
        match self.frozen_weight {
            _ if p.registry.sender(CALLER).pending_draws() == 0 => self.frozen_weight = None,
            Some((frozen, since)) if since == draws => {
                assert_eq!(weight, frozen, "draw weight moved during a pending draw");
            }
            _ => self.frozen_weight = Some((weight, draws)),
        }
        // Conservation: every token is in a wallet or in the vault, and
        // every vault token belongs to a known account.
        let mut accounts = everyone();
        accounts.push(p.treasury);
        let wallets: U256 = accounts
            .iter()
            .map(|a| p.token.sender(CALLER).balance_of(*a))
            .sum();
        let vault_held = p.token.sender(CALLER).balance_of(p.vault.address());
        assert_eq!(wallets + vault_held, self.supply, "tokens created or lost");
        let in_vault: U256 = accounts
            .iter()
            .map(|a| {
                let (available, locked) = p.balances(*a);
                available + locked
            })
            .sum();
        assert_eq!(
            in_vault, vault_held,
            "vault balance not owned by the accounts"
        );
        // No deal settled twice.
        let mut settled = std::collections::HashMap::<U256, u32>::new();
        for log in p.deals.all_events() {
            let Some(topic) = log.topics().first() else {
                continue;
            };
            let is_terminal = [
                DealCompleted::SIGNATURE_HASH,
                DealTimedOut::SIGNATURE_HASH,
                DealRejected::SIGNATURE_HASH,
            ]
            .contains(topic);
            if is_terminal {
                let deal = U256::from_be_bytes(log.topics()[1].0);
                *settled.entry(deal).or_default() += 1;
            }
        }
        assert!(
            settled.values().all(|n| *n == 1),
            "a deal was settled twice: {settled:?}"
        );
    }

    /// Drives everything to a terminal state with permissionless calls only.
    fn wind_down(&mut self) {
        if std::env::var("POND_PROPERTY_STATS").is_ok() {
            eprintln!(
                "stats jobs={} deals={} cases={}",
                self.p.market.sender(CALLER).job_count(),
                self.p.deals.sender(CALLER).deal_count(),
                self.p.mediation.sender(CALLER).case_count()
            );
        }
        for _ in 0..4 {
            let p = &self.p;
            advance(31 * 86_400);
            let jobs: usize = p.market.sender(CALLER).job_count().to();
            for j in 1..=jobs {
                let _ = p
                    .market
                    .sender(CALLER)
                    .close_auction(U256::from(j))
                    .motsu_res();
                let _ = p
                    .market
                    .sender(CALLER)
                    .expire_job(U256::from(j))
                    .motsu_res();
            }
            let deals: usize = p.deals.sender(CALLER).deal_count().to();
            for d in 1..=deals {
                let _ = p
                    .deals
                    .sender(CALLER)
                    .claim_timeout(U256::from(d))
                    .motsu_res();
                let _ = p
                    .deals
                    .sender(CALLER)
                    .finalize_deal(U256::from(d))
                    .motsu_res();
            }
            let cases: usize = p.mediation.sender(CALLER).case_count().to();
            for c in 1..=cases {
                let id = U256::from(c);
                let info = p.mediation.sender(CALLER).case_info(id);
                if info.3 == case_state::AWAITING_DRAW {
                    p.beacon
                        .sender(CALLER)
                        .fulfil(info.6, B256::repeat_byte(0x77));
                    let _ = p.mediation.sender(CALLER).draw_validators(id).motsu_res();
                }
            }
            advance(31 * 86_400);
            for c in 1..=cases {
                let _ = p
                    .mediation
                    .sender(CALLER)
                    .resolve_case(U256::from(c))
                    .motsu_res();
            }
            self.check();
        }
        let p = &self.p;
        let jobs: usize = p.market.sender(CALLER).job_count().to();
        for j in 1..=jobs {
            let state = p.market.sender(CALLER).job(U256::from(j)).1;
            assert!(
                [job_state::MATCHED, job_state::CANCELLED, job_state::EXPIRED].contains(&state),
                "job {j} stuck in {state}"
            );
        }
        let deals: usize = p.deals.sender(CALLER).deal_count().to();
        for d in 1..=deals {
            let state = p.deals.sender(CALLER).deal_parties(U256::from(d)).4;
            assert!(state >= deal_state::COMPLETED, "deal {d} stuck in {state}");
        }
        let cases: usize = p.mediation.sender(CALLER).case_count().to();
        for c in 1..=cases {
            assert_eq!(
                p.mediation.sender(CALLER).case_info(U256::from(c)).3,
                case_state::RESOLVED
            );
        }
        // Only validator stake (bonded or unbonding) stays locked; every
        // validator is free, and no draw is pending.
        let stakes: U256 = VALIDATORS
            .iter()
            .map(|v| {
                let state = p.registry.sender(CALLER).validator_state(*v);
                state.2 + state.3
            })
            .sum();
        assert_eq!(p.registry.sender(CALLER).pending_draws(), 0);
        assert_eq!(p.vault.sender(CALLER).total_locked(), stakes);
        for v in VALIDATORS {
            assert_eq!(p.registry.sender(CALLER).validator_state(v).1, 0);
        }
        // Every party holds exactly what its recorded outcomes give it.
        let changes = expected_changes(p);
        for account in everyone() {
            let (gain, loss) = changes.get(&account).copied().unwrap_or_default();
            assert_eq!(
                holdings(p, account) + loss,
                self.initial[&account] + gain,
                "{account} holds other than its outcomes give it"
            );
        }
        for provider in PROVIDERS {
            let offers: usize = p.offers.sender(CALLER).offer_count().to();
            for o in 1..=offers {
                let offer = p.offers.sender(CALLER).offer(U256::from(o));
                if offer.0 == provider {
                    assert_eq!(offer.6, 0, "offer {o} still holds a deal slot");
                }
            }
        }
    }
}

/// What `account` holds: its wallet plus its vault balances.
fn holdings(p: &Protocol, account: Address) -> U256 {
    let (available, locked) = p.balances(account);
    p.token.sender(CALLER).balance_of(account) + available + locked
}

/// Every event `E` among `logs`.
fn decoded<E: SolEvent>(logs: &[alloy_primitives::LogData]) -> Vec<E> {
    logs.iter()
        .filter(|log| log.topics().first() == Some(&E::SIGNATURE_HASH))
        .map(|log| E::decode_log_data(log, true).expect("a well-formed event"))
        .collect()
}

/// Each party's net gain from the protocol's recorded outcomes: creators
/// pay the price of completed deals and the fee of cases they lost, and
/// receive timeout and rejection compensation; providers receive what
/// completed deals paid and lose compensation and what validators took;
/// validators receive their earnings and lose their slashes. Signed, as
/// (gain, loss).
fn expected_changes(p: &Protocol) -> std::collections::HashMap<Address, (U256, U256)> {
    let mut changes: std::collections::HashMap<Address, (U256, U256)> =
        std::collections::HashMap::new();
    let mut gain = |who: Address, amount: U256| changes.entry(who).or_default().0 += amount;
    let deals = p.deals.all_events();
    let price: std::collections::HashMap<U256, U256> = decoded::<DealOpened>(&deals)
        .into_iter()
        .map(|d| (d.dealId, d.price))
        .collect();
    let mut losses: Vec<(Address, U256)> = Vec::new();
    for c in decoded::<DealCompleted>(&deals) {
        gain(c.provider, c.paid);
        losses.push((c.creator, price[&c.dealId]));
    }
    for t in decoded::<DealTimedOut>(&deals) {
        gain(t.creator, t.compensation);
        losses.push((t.provider, t.compensation));
    }
    for r in decoded::<DealRejected>(&deals) {
        gain(r.creator, r.compensation);
        losses.push((r.provider, r.compensation + r.collateralToValidators));
    }
    let cases = p.mediation.all_events();
    let opened: std::collections::HashMap<U256, CaseOpened> = decoded::<CaseOpened>(&cases)
        .into_iter()
        .map(|c| (c.caseId, c))
        .collect();
    for r in decoded::<CaseResolved>(&cases) {
        // The fee is spent only when the provider was right.
        if r.outcome == pond_common::interfaces::outcome::MEDIATION_PROVIDER_RIGHT {
            let case = &opened[&r.caseId];
            losses.push((case.creator, case.fee));
        }
    }
    for v in decoded::<VoteSettled>(&cases) {
        gain(v.validator, v.earned);
        losses.push((v.validator, v.slashed));
    }
    for (who, amount) in losses {
        changes.entry(who).or_default().1 += amount;
    }
    changes
}

/// The result a validator must vote to agree with the case's provider.
fn vote_for(p: &Protocol, case: U256) -> B256 {
    p.mediation.sender(CALLER).case_info(case).9
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_sequences_keep_every_invariant(actions in proptest::collection::vec(action(), 1..120)) {
        let mut world = World::new();
        for action in &actions {
            world.apply(action);
            world.check();
        }
        world.wind_down();
    }
}
