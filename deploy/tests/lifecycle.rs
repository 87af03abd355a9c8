//! End to end on devnode, through JSON-RPC with signed transactions: Pond's
//! real contract WebAssembly deployed, activated and wired, then the job
//! lifecycle with every matching mode, accept, finalize, both timeouts and
//! both mediation outcomes; balances to the unit, events, decoded custom
//! errors, reentrancy refusal and deep-revert rollback.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolInterface},
};
use pond_bindings::PondRevert;
use pond_bindings::{deals::IDeals, market::IMarket, mediation::IMediation, vault::IVault};
use pond_deploy::testkit::{commitment, event, ok, revert_data, tokens, Stack};
use pond_devnode::arbwasm::{IArbWasm, ARB_WASM};

const RESULT: B256 = B256::repeat_byte(0xee);
const OTHER: B256 = B256::repeat_byte(0xdd);

fn creator(s: &Stack) -> Address {
    s.accounts[1]
}
fn provider(s: &Stack) -> Address {
    s.accounts[2]
}

/// Creator funded with 1 000, provider with 500, a direct match of a job
/// (max 100) with the provider's offer at 80; returns the deal id.
async fn direct_deal(s: &Stack) -> U256 {
    s.fund(creator(s), tokens(1_000)).await;
    s.fund(provider(s), tokens(500)).await;
    s.register_provider(provider(s), 2).await;
    let offer = s.post_offer(provider(s), tokens(80)).await;
    let spec = s.job_spec(tokens(100), offer, 0).await;
    let receipt = s.post_job(creator(s), spec).await;
    let matched: IMarket::JobMatched = event(&receipt);
    assert_eq!(matched.mode, 0, "direct");
    assert_eq!(matched.provider, provider(s));
    assert_eq!(matched.price, tokens(80));
    // Posting refunded the 20 over the price; collateral locked: 2× the
    // price (160) plus ½× the job's maximum price (50).
    assert_eq!(s.balances(creator(s)).await, (tokens(920), tokens(80)));
    assert_eq!(s.balances(provider(s)).await, (tokens(290), tokens(210)));
    matched.dealId
}

/// A direct deal, delivered and challenged by its creator: the deal and
/// the challenge's receipt.
async fn challenged_deal(s: &Stack) -> (U256, alloy::rpc::types::TransactionReceipt) {
    let deal = direct_deal(s).await;
    s.deliver(provider(s), deal, RESULT).await;
    let receipt = ok(s
        .deals()
        .challengeResult(deal)
        .from(creator(s))
        .send()
        .await)
    .await;
    (deal, receipt)
}

async fn assert_completed(s: &Stack, deal: U256) {
    assert_eq!(s.balances(creator(s)).await, (tokens(920), U256::ZERO));
    assert_eq!(s.balances(provider(s)).await, (tokens(578), U256::ZERO));
    assert_eq!(
        s.balances(s.owner()).await,
        (tokens(2), U256::ZERO),
        "treasury fee"
    );
    assert_eq!(s.deal_state(deal).await, 5, "completed");
    s.assert_vault_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_activates_every_contract() {
    let s = Stack::start().await;
    for (name, address) in s.deployment.contracts.named() {
        let code = s.provider.get_code_at(address).await.expect("code");
        assert!(
            code.starts_with(&[0xef, 0xf0, 0x00]),
            "{name} is a Stylus program"
        );
        let input = IArbWasm::programVersionCall { program: address }.abi_encode();
        let output = s
            .provider
            .call(
                TransactionRequest::default()
                    .to(ARB_WASM)
                    .input(input.into()),
            )
            .await
            .expect("programVersion");
        let version = IArbWasm::programVersionCall::abi_decode_returns(&output).expect("u16");
        assert_eq!(
            version,
            pond_devnode::arbwasm::STYLUS_VERSION,
            "{name} is activated"
        );
    }
    assert_eq!(s.deployment.chain_id, 412_346);
    assert!(s.deployment.deployment_block >= 1);
    assert_eq!(s.token().decimals().call().await.expect("decimals"), 6);
}

/// The revert catalogue on the real WebAssembly: a contract's own error,
/// and the vault's error bubbled up through `Market.postJob`, each named
/// with its arguments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverts_are_named_by_the_catalogue_even_through_nested_calls() {
    let s = Stack::start().await;
    let c = creator(&s);
    s.fund(c, tokens(100)).await;
    let mut spec = s.job_spec(tokens(10), U256::ZERO, 0).await;
    spec.moduleUri = "m".repeat(90_000);
    let data = revert_data(s.market().postJob(spec).from(c).call().await);
    let revert = PondRevert::decode(&data, Some("Market")).expect("a Pond error");
    assert_eq!(revert.to_string(), "Market.UriTooLong(90000, 2048)");

    let spec = s.job_spec(tokens(101), U256::ZERO, 0).await;
    let data = revert_data(s.market().postJob(spec).from(c).call().await);
    let revert = PondRevert::decode(&data, Some("Market")).expect("a Pond error");
    assert_eq!(
        revert.to_string(),
        format!("Vault.InsufficientAvailable({c}, 101000000, 100000000)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_match_accepted_pays_the_provider_and_errors_decode() {
    let s = Stack::start().await;
    let deal = direct_deal(&s).await;
    s.deliver(provider(&s), deal, RESULT).await;
    assert_eq!(s.deal_state(deal).await, 3, "revealed");

    // Only the creator may judge: the contract's custom error comes back.
    let data = revert_data(s.deals().acceptResult(deal).from(provider(&s)).call().await);
    let decoded = IDeals::IDealsErrors::abi_decode(&data).expect("a Deals error");
    assert!(
        matches!(decoded, IDeals::IDealsErrors::NotDealCreator(_)),
        "{decoded:?}"
    );

    let receipt = ok(s.deals().acceptResult(deal).from(creator(&s)).send().await).await;
    let completed: IDeals::DealCompleted = event(&receipt);
    assert_eq!(
        (
            completed.provider,
            completed.creator,
            completed.how,
            completed.paid,
            completed.fee
        ),
        (provider(&s), creator(&s), 0, tokens(78), tokens(2))
    );
    assert_completed(&s, deal).await;
    let record = s
        .registry()
        .providerRecord(provider(&s))
        .call()
        .await
        .expect("record");
    assert_eq!((record._0, record._1, record._4), (1, 0, tokens(78)));

    // Terminal: a second accept is refused with the state error.
    let data = revert_data(s.deals().acceptResult(deal).from(creator(&s)).call().await);
    assert!(matches!(
        IDeals::IDealsErrors::abi_decode(&data),
        Ok(IDeals::IDealsErrors::WrongDealState(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_and_auction_matching() {
    let s = Stack::start().await;
    let (c, p) = (creator(&s), provider(&s));
    let bidder = s.accounts[3];
    s.fund(c, tokens(1_000)).await;
    s.fund(p, tokens(500)).await;
    s.fund(bidder, tokens(500)).await;
    s.register_provider(p, 2).await;
    s.register_provider(bidder, 2).await;

    // Take: an open job, then the provider's offer taken by the creator.
    let offer = s.post_offer(p, tokens(70)).await;
    let posted: IMarket::JobPosted = event(
        &s.post_job(c, s.job_spec(tokens(100), U256::ZERO, 0).await)
            .await,
    );
    assert_eq!(s.job_state(posted.jobId).await.0, 1, "open");
    let receipt = ok(s
        .market()
        .takeOffer(posted.jobId, offer)
        .from(c)
        .send()
        .await)
    .await;
    let matched: IMarket::JobMatched = event(&receipt);
    assert_eq!(
        (matched.mode, matched.price, matched.provider),
        (1, tokens(70), p)
    );
    assert_eq!(s.job_state(posted.jobId).await, (3, matched.dealId));

    // Auction: two bids, the lower one wins when the window closes.
    let spec = s.job_spec(tokens(100), U256::ZERO, 600).await;
    let posted: IMarket::JobPosted = event(&s.post_job(c, spec).await);
    assert_eq!(s.job_state(posted.jobId).await.0, 2, "bidding");
    ok(s.market()
        .bid(posted.jobId, tokens(90))
        .from(p)
        .send()
        .await)
    .await;
    let receipt = ok(s
        .market()
        .bid(posted.jobId, tokens(60))
        .from(bidder)
        .send()
        .await)
    .await;
    let outbid: IMarket::BidPlaced = event(&receipt);
    assert_eq!(outbid.previousBidder, p);
    // The outbid provider's collateral is released at once.
    assert_eq!(
        s.balances(p).await.1,
        tokens(140 + 50),
        "only the take deal's collateral"
    );
    let data = revert_data(s.market().closeAuction(posted.jobId).from(c).call().await);
    assert!(
        IMarket::IMarketErrors::abi_decode(&data).is_ok(),
        "a Market error before the window ends"
    );
    s.advance(601).await;
    let receipt = ok(s.market().closeAuction(posted.jobId).from(c).send().await).await;
    let closed: IMarket::AuctionClosed = event(&receipt);
    assert_eq!((closed.winner, closed.price), (bidder, tokens(60)));
    let matched: IMarket::JobMatched = event(&receipt);
    assert_eq!(matched.mode, 2);
    s.assert_vault_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_after_the_judge_window_and_both_timeouts() {
    let s = Stack::start().await;
    // Finalize: nobody judged within a day.
    let deal = direct_deal(&s).await;
    s.deliver(provider(&s), deal, RESULT).await;
    let data = revert_data(
        s.deals()
            .finalizeDeal(deal)
            .from(s.accounts[9])
            .call()
            .await,
    );
    assert!(matches!(
        IDeals::IDealsErrors::abi_decode(&data),
        Ok(IDeals::IDealsErrors::DeadlineNotPassed(_))
    ));
    s.advance(24 * 3600 + 1).await;
    let receipt = ok(s
        .deals()
        .finalizeDeal(deal)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let completed: IDeals::DealCompleted = event(&receipt);
    assert_eq!(completed.how, 1, "finalized");
    assert_completed(&s, deal).await;

    // Timeout before commit: the creator gets the price back plus the
    // 35 timeout collateral (price 70 → collateral 140 + 35).
    let (c, p) = (creator(&s), provider(&s));
    let offer = s.post_offer(p, tokens(70)).await;
    let matched: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(70), offer, 0).await).await);
    s.advance(3600 + 1).await;
    let receipt = ok(s
        .deals()
        .claimTimeout(matched.dealId)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let timed_out: IDeals::DealTimedOut = event(&receipt);
    assert_eq!((timed_out.stage, timed_out.compensation), (0, tokens(35)));
    assert_eq!(s.balances(c).await, (tokens(920 + 35), U256::ZERO));
    assert_eq!(s.balances(p).await, (tokens(578 - 35), U256::ZERO));

    // Timeout after commit, before reveal.
    let matched: IMarket::JobMatched =
        event(&s.post_job(c, s.job_spec(tokens(70), offer, 0).await).await);
    let salt = B256::repeat_byte(9);
    ok(s.deals()
        .commitResult(matched.dealId, commitment(matched.dealId, p, RESULT, salt))
        .from(p)
        .send()
        .await)
    .await;
    s.advance(3600 + 1).await;
    let receipt = ok(s
        .deals()
        .claimTimeout(matched.dealId)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let timed_out: IDeals::DealTimedOut = event(&receipt);
    assert_eq!(timed_out.stage, 1);
    assert_eq!(s.balances(c).await, (tokens(920 + 70), U256::ZERO));
    assert_eq!(s.deal_state(matched.dealId).await, 6, "timed out");
    s.assert_vault_invariant().await;
}

/// Stakes five validators, challenges a delivered direct deal, and has
/// the three drawn validators vote `votes`; returns (deal, case, drawn).
async fn mediate(s: &Stack, votes: [B256; 3]) -> (U256, U256, Vec<Address>) {
    s.stake_validators(&s.accounts[4..9], tokens(200)).await;
    let deal = direct_deal(s).await;
    s.deliver(provider(s), deal, RESULT).await;
    let (case, drawn) = s.mediate(creator(s), deal, &votes).await;
    assert_eq!(s.deal_state(deal).await, 4, "challenged");
    (deal, case, drawn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_the_provider_wins() {
    let s = Stack::start().await;
    let (deal, case, members) = mediate(&s, [RESULT, RESULT, OTHER]).await;
    let receipt = ok(s
        .mediation()
        .resolveCase(case)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let resolved: IMediation::CaseResolved = event(&receipt);
    assert_eq!(
        (
            resolved.dealId,
            resolved.outcome,
            resolved.agree,
            resolved.disagree
        ),
        (deal, 0, 2, 1)
    );
    assert_eq!(s.deal_state(deal).await, 5, "completed");
    assert_eq!(s.balances(provider(&s)).await, (tokens(578), U256::ZERO));
    // The creator paid the 10 mediation fee: 1 000 - 80 - 10.
    assert_eq!(s.balances(creator(&s)).await, (tokens(910), U256::ZERO));
    for v in &members[..2] {
        assert_eq!(
            s.balances(*v).await,
            (tokens(5), tokens(200)),
            "fee split by the majority"
        );
    }
    assert_eq!(
        s.balances(members[2]).await,
        (U256::ZERO, tokens(180)),
        "minority slashed 10 %"
    );
    s.assert_vault_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_the_provider_loses() {
    let s = Stack::start().await;
    let (deal, case, members) = mediate(&s, [OTHER, OTHER, RESULT]).await;
    let receipt = ok(s
        .mediation()
        .resolveCase(case)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let resolved: IMediation::CaseResolved = event(&receipt);
    assert_eq!(
        (resolved.outcome, resolved.agree, resolved.disagree),
        (1, 1, 2)
    );
    let rejected: IDeals::DealRejected = event(&receipt);
    assert_eq!(rejected.dealId, deal);
    // Results collateral 160: 20 % (32) to the two-validator majority,
    // the rest to the creator, who also gets the price and the fee back.
    assert_eq!(rejected.collateralToValidators, tokens(32));
    assert_eq!(
        s.balances(creator(&s)).await,
        (tokens(910 + 80 + 10 + 128), U256::ZERO)
    );
    // The provider keeps its timeout collateral only.
    assert_eq!(s.balances(provider(&s)).await, (tokens(340), U256::ZERO));
    for v in &members[..2] {
        assert_eq!(s.balances(*v).await, (tokens(16), tokens(200)));
    }
    assert_eq!(
        s.balances(members[2]).await,
        (U256::ZERO, tokens(180)),
        "minority slashed"
    );
    s.assert_vault_invariant().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_revert_rolls_back_everything_and_bubbles_the_inner_error() {
    let s = Stack::start().await;
    let c = creator(&s);
    s.fund(c, tokens(10)).await;
    let jobs_before = s.market().jobCount().call().await.expect("jobCount");
    // Market → Vault.lock fails for lack of funds: the Vault's error comes
    // back through the Market, and nothing the Market did survives.
    let spec = s.job_spec(tokens(100), U256::ZERO, 0).await;
    let data = revert_data(s.market().postJob(spec.clone()).from(c).call().await);
    let vault_error = IVault::IVaultErrors::abi_decode(&data).expect("the Vault's error, bubbled");
    assert!(
        matches!(vault_error, IVault::IVaultErrors::InsufficientAvailable(_)),
        "{vault_error:?}"
    );
    // Sent anyway (gas set so no estimate refuses it): mined, reverted.
    let pending = s
        .market()
        .postJob(spec)
        .from(c)
        .gas(5_000_000)
        .send()
        .await
        .expect("accepted");
    let receipt = pending.get_receipt().await.expect("receipt");
    assert!(!receipt.status());
    assert!(
        receipt.inner.logs().is_empty(),
        "no event survives the revert"
    );
    assert_eq!(
        s.market().jobCount().call().await.expect("jobCount"),
        jobs_before
    );
    assert_eq!(s.balances(c).await, (tokens(10), U256::ZERO));
    s.assert_vault_invariant().await;
}

/// EVM code standing in for a token: `balanceOf` returns slot 2; any
/// other call (the vault's `transferFrom`) calls `vault.deposit(1)` back,
/// stores that call's success flag in slot 0 and its revert data size in
/// slot 1, adds 1 to slot 2 and returns `true`.
fn reentering_token(vault: Address) -> Vec<u8> {
    const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
    // selector == balanceOf ? jump to the balance branch
    let mut code = vec![0x60, 0x00, 0x35, 0x60, 0xe0, 0x1c, 0x63];
    code.extend_from_slice(&BALANCE_OF);
    code.extend_from_slice(&[0x14, 0x60, 0x00, 0x57]); // EQ PUSH1 <patched> JUMPI
    let jump_target_at = code.len() - 2;
    code.push(0x63); // PUSH4 deposit selector
    code.extend_from_slice(&IVault::depositCall::SELECTOR);
    code.extend_from_slice(&[0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52]); // <<224, MSTORE at 0
    code.extend_from_slice(&[0x60, 0x01, 0x60, 0x04, 0x52]); // MSTORE(4, 1)
                                                             // CALL(gas, vault, 0, 0, 36, 0, 0)
    code.extend_from_slice(&[
        0x60, 0x00, 0x60, 0x00, 0x60, 0x24, 0x60, 0x00, 0x60, 0x00, 0x73,
    ]);
    code.extend_from_slice(vault.as_slice());
    code.extend_from_slice(&[0x5a, 0xf1]); // GAS CALL
    code.extend_from_slice(&[0x60, 0x00, 0x55]); // SSTORE(0, success)
    code.extend_from_slice(&[0x3d, 0x60, 0x01, 0x55]); // SSTORE(1, RETURNDATASIZE)
    code.extend_from_slice(&[0x60, 0x02, 0x54, 0x60, 0x01, 0x01, 0x60, 0x02, 0x55]); // slot 2 += 1
    code.extend_from_slice(&[0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]); // return true
    code[jump_target_at] = u8::try_from(code.len()).expect("short code");
    code.extend_from_slice(&[
        0x5b, 0x60, 0x02, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ]);
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stylus_program_refuses_reentry_and_only_its_deployer_initializes_it() {
    let s = Stack::start().await;
    let owner = s.owner();
    // A second Vault (same code: already activated) whose "token" is EVM
    // code that calls back into that Vault.
    let vault_code = s
        .provider
        .get_code_at(s.deployment.contracts.vault)
        .await
        .expect("code");
    let init = pond_devnode::deploy::init_code_recording_deployer(
        &vault_code,
        pond_devnode::deploy::POND_DEPLOYER_SLOT,
    );
    let receipt = s
        .provider
        .send_transaction(
            TransactionRequest::default()
                .from(owner)
                .into_create()
                .input(init.into()),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("receipt");
    let vault = receipt.contract_address.expect("vault address");
    let receipt = s
        .provider
        .send_transaction(
            TransactionRequest::default()
                .from(owner)
                .into_create()
                .input(
                    Bytes::from(pond_devnode::deploy::evm_init_code(&reentering_token(
                        vault,
                    )))
                    .into(),
                ),
        )
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("receipt");
    let token = receipt.contract_address.expect("token address");
    let second = IVault::new(vault, &s.provider);
    // Only the deployer may initialize (the front-running of finding 9).
    let stranger = s.accounts[5];
    let data = revert_data(
        second
            .initialize(token, stranger, vec![], stranger)
            .from(stranger)
            .call()
            .await,
    );
    assert!(matches!(
        IVault::IVaultErrors::abi_decode(&data),
        Ok(IVault::IVaultErrors::UnauthorizedCaller(_))
    ));
    ok(second
        .initialize(token, owner, vec![], owner)
        .from(owner)
        .send()
        .await)
    .await;

    // deposit → balanceOf, token.transferFrom → vault.deposit again:
    // refused; balanceOf again (one more unit) → credited.
    ok(second.deposit(tokens(1)).from(s.accounts[1]).send().await).await;
    let success = s
        .provider
        .get_storage_at(token, U256::ZERO)
        .await
        .expect("slot 0");
    let revert_len = s
        .provider
        .get_storage_at(token, U256::from(1))
        .await
        .expect("slot 1");
    assert_eq!(success, U256::ZERO, "the reentrant call failed");
    assert_eq!(
        revert_len,
        U256::ZERO,
        "refused by the entrypoint, before any contract error"
    );
    // The outer deposit went through: the refusal was the inner frame's only.
    assert_eq!(
        second
            .availableOf(s.accounts[1])
            .call()
            .await
            .expect("availableOf"),
        U256::from(1)
    );
}

/// The committee findings of the adversarial review, on devnode with the
/// real WebAssembly: stake cannot move between a committee's request and
/// its draw, and a validator that copies the provider's public hash
/// without holding the outputs is outvoted and slashed, not paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committee_attacks_fail_on_devnode() {
    use pond_bindings::registry::IRegistry;
    use pond_deploy::testkit::{outputs_digest, vote_commitment};
    let s = Stack::start().await;
    let validators = &s.accounts[4..9];
    s.stake_validators(validators, tokens(200)).await;
    let attacker = validators[0];
    s.fund(attacker, tokens(500)).await;
    let (deal, receipt) = challenged_deal(&s).await;
    let case = event::<IDeals::DealChallenged>(&receipt).caseId;
    // The round is requested; its randomness is public one block later.
    s.mine().await;
    assert_eq!(s.registry().pendingDraws().call().await.expect("view"), 1);
    for amount in [1u64, 7, 50, 133, 400] {
        let data = revert_data(
            s.registry()
                .stake(tokens(amount))
                .from(attacker)
                .call()
                .await,
        );
        assert!(
            matches!(
                IRegistry::IRegistryErrors::abi_decode(&data),
                Ok(IRegistry::IRegistryErrors::DrawPending(_))
            ),
            "a top-up while the draw is pending is refused"
        );
    }
    let data = revert_data(
        s.registry()
            .requestUnbond(tokens(100))
            .from(validators[1])
            .call()
            .await,
    );
    assert!(matches!(
        IRegistry::IRegistryErrors::abi_decode(&data),
        Ok(IRegistry::IRegistryErrors::DrawPending(_))
    ));
    let receipt = ok(s
        .mediation()
        .drawValidators(case)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let drawn = event::<IMediation::ValidatorsDrawn>(&receipt).validators;
    assert_eq!(s.registry().pendingDraws().call().await.expect("view"), 0);
    // Drawn: stake moves again.
    ok(s.registry().stake(tokens(50)).from(attacker).send().await).await;

    // Two validators hold the outputs; the third copies the hash.
    let salt = |v: &Address| B256::left_padding_from(v.as_slice());
    let junk = B256::repeat_byte(0x1a);
    let digests = [outputs_digest(RESULT), outputs_digest(RESULT), junk];
    for (v, digest) in drawn.iter().zip(digests) {
        let hash = vote_commitment(case, *v, RESULT, digest, salt(v));
        ok(s.mediation().commitVote(case, hash).from(*v).send().await).await;
    }
    for (v, digest) in drawn.iter().zip(digests) {
        ok(s.mediation()
            .revealVote(case, RESULT, digest, salt(v))
            .from(*v)
            .send()
            .await)
        .await;
    }
    let receipt = ok(s
        .mediation()
        .resolveCase(case)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let resolved: IMediation::CaseResolved = event(&receipt);
    assert_eq!((resolved.outcome, resolved.agree), (0, 3), "provider right");
    assert_eq!(s.deal_state(deal).await, 5, "completed");
    // The attacker's own top-up left it 450 available besides.
    let spare = |v: &Address| {
        if *v == attacker {
            tokens(450)
        } else {
            U256::ZERO
        }
    };
    for v in &drawn[..2] {
        assert_eq!(
            s.balances(*v).await.0,
            tokens(5) + spare(v),
            "fee split by the two"
        );
    }
    let copier = drawn[2];
    let (available, locked) = s.balances(copier).await;
    let expected_stake = if copier == attacker { 250 } else { 200 };
    assert_eq!(
        locked,
        tokens(expected_stake) - tokens(expected_stake) / U256::from(10),
        "the copier loses 10 % of its stake"
    );
    assert_eq!(available, spare(&copier), "and earns nothing");
    s.assert_vault_invariant().await;
}

/// Issue 10, finding 5, on devnode with the real WebAssembly: a draw made
/// 300 blocks after its round (past ArbSys's 256) gives the same committee
/// as a draw made at once, because the beacon reads the round's hash from
/// the EIP-2935 history. An attacker who starves the draw of gas, hoping the
/// history read fails and reads as an expired round, gets a failed
/// transaction, never a new round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_draw_is_the_same_committee_on_devnode() {
    let s = Stack::start().await;
    let validators = &s.accounts[4..9];
    s.stake_validators(validators, tokens(200)).await;
    let (_, receipt) = challenged_deal(&s).await;
    let case = event::<IDeals::DealChallenged>(&receipt).caseId;
    let requested: IMediation::RandomnessRequested = event(&receipt);
    s.mine().await;
    let dev = |method: &'static str, params: serde_json::Value| {
        let provider = s.provider.clone();
        async move {
            provider
                .raw_request::<_, serde_json::Value>(method.into(), params)
                .await
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        }
    };
    let draw = |from: Address, gas: Option<u64>| {
        let mediation = s.mediation();
        async move {
            let call = mediation.drawValidators(case).from(from);
            let call = match gas {
                Some(gas) => call.gas(gas),
                None => call,
            };
            call.send()
                .await
                .expect("accepted")
                .get_receipt()
                .await
                .expect("receipt")
        }
    };
    let snapshot = dev("evm_snapshot", serde_json::json!([])).await;
    let at_once = draw(s.accounts[9], None).await;
    assert!(at_once.status());
    let committee = event::<IMediation::ValidatorsDrawn>(&at_once).validators;
    dev("evm_revert", serde_json::json!([snapshot])).await;

    dev("anvil_mine", serde_json::json!(["0x12c"])).await;
    let head = s.provider.get_block_number().await.expect("head");
    assert!(
        head - requested.beaconRound.to::<u64>() > 256,
        "past ArbSys"
    );
    let estimate = s
        .mediation()
        .drawValidators(case)
        .from(s.accounts[9])
        .estimate_gas()
        .await
        .expect("estimate");
    // The attacker's starved draws: each fails or draws the same
    // committee; none requests a new round.
    let mut drawn = None;
    for percent in [20u64, 40, 60, 70, 80, 90, 95, 100, 110] {
        // Never below a call's intrinsic gas, which the node refuses.
        let gas = (estimate * percent / 100).max(25_000);
        let receipt = draw(s.accounts[3], Some(gas)).await;
        let rerolled = receipt.inner.logs().iter().any(|log| {
            <IMediation::RandomnessRequested as alloy::sol_types::SolEvent>::decode_log(&log.inner)
                .is_ok()
        });
        assert!(!rerolled, "a new round at {percent} % of the estimate");
        if receipt.status() {
            drawn = Some(event::<IMediation::ValidatorsDrawn>(&receipt).validators);
            break;
        }
    }
    assert_eq!(
        drawn,
        Some(committee),
        "the same committee, 300 blocks late"
    );

    // A caller that limits the gas it gives the beacon, step by step
    // through the range where the history read runs out: the read fails
    // or gives the round's randomness, never zero (an expired round).
    // Runtime: STATICCALL(gas = calldata[0], beacon, randomness(calldata[32]))
    // and return (success, the answer).
    let selector = pond_bindings::beacon::IBlockHashBeacon::randomnessCall::SELECTOR;
    let wrapper = Address::repeat_byte(0x5a);
    let code = format!(
        "0x63{}5f52602035602052602060406024601c73{}5f35fa60205260406020f3",
        alloy::primitives::hex::encode(selector),
        alloy::primitives::hex::encode(s.deployment.contracts.beacon),
    );
    dev("anvil_setCode", serde_json::json!([wrapper, code])).await;
    let beacon =
        pond_bindings::beacon::IBlockHashBeacon::new(s.deployment.contracts.beacon, &s.provider);
    let expected = beacon
        .randomness(requested.beaconRound)
        .call()
        .await
        .expect("randomness");
    assert!(!expected.is_zero());
    let (mut failed, mut answered) = (0, 0);
    for gas in (2_000u64..60_000).step_by(250) {
        let mut input = U256::from(gas).to_be_bytes::<32>().to_vec();
        input.extend(requested.beaconRound.to_be_bytes::<32>());
        let output = s
            .provider
            .call(
                TransactionRequest::default()
                    .with_to(wrapper)
                    .with_input(input),
            )
            .await
            .expect("wrapper call");
        let (success, value) = (output[31] == 1, B256::from_slice(&output[32..64]));
        if success {
            assert_eq!(value, expected, "with {gas} gas");
            answered += 1;
        } else {
            failed += 1;
        }
    }
    assert!(
        failed > 0 && answered > 0,
        "the sweep crossed the edge: {failed} failed, {answered} answered"
    );
}

/// On devnode every parameterized contract is governed by the timelock:
/// the operator's direct change is refused, a scheduled one
/// waits out the delay, then anyone runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_change_only_through_the_timelock() {
    let s = Stack::start().await;
    let owner = s.owner();
    let timelock = s.deployment.contracts.timelock;
    for (name, address) in [
        ("Vault", s.deployment.contracts.vault),
        ("Registry", s.deployment.contracts.registry),
        ("Market", s.deployment.contracts.market),
        ("Deals", s.deployment.contracts.deals),
        ("Mediation", s.deployment.contracts.mediation),
    ] {
        let actual = IVault::new(address, &s.provider)
            .governor()
            .call()
            .await
            .expect("governor");
        assert_eq!(actual, timelock, "{name} is governed by the timelock");
    }
    assert_eq!(s.timelock().admin().call().await.expect("admin"), owner);
    let data = revert_data(
        s.mediation()
            .setParameters(tokens(10), 3, 60, 60, 0, 5_000)
            .from(owner)
            .call()
            .await,
    );
    assert!(
        !data.is_empty(),
        "the operator cannot change parameters directly"
    );
    let call: Bytes = s
        .mediation()
        .setParameters(tokens(10), 3, 600, 600, 2_000, 1_000)
        .calldata()
        .clone();
    let target = s.deployment.contracts.mediation;
    ok(s.timelock()
        .schedule(target, call.clone(), B256::ZERO)
        .from(owner)
        .send()
        .await)
    .await;
    let delay = s.timelock().delay().call().await.expect("delay");
    let early = revert_data(
        s.timelock()
            .execute(target, call.clone(), B256::ZERO)
            .from(s.accounts[9])
            .call()
            .await,
    );
    assert!(!early.is_empty(), "not before the delay");
    s.advance(delay + 1).await;
    ok(s.timelock()
        .execute(target, call, B256::ZERO)
        .from(s.accounts[9])
        .send()
        .await)
    .await;
    let parameters = s.mediation().parameters().call().await.expect("parameters");
    assert_eq!((parameters._2, parameters._3), (600, 600));
}

/// The off-chain copies of the offer book's bounds (`pond_bindings::
/// MIN_JOB_DURATION`, `MAX_PERIOD`) are the contracts' own: one second
/// past either is refused, the bound itself accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offer_bounds_clients_check_are_the_contracts() {
    use pond_bindings::{MAX_PERIOD, MIN_JOB_DURATION};
    let s = Stack::start().await;
    let provider = s.node.accounts()[2].address;
    s.register_provider(provider, 1).await;
    let now = s.now().await + 10;
    let post = |min: u64, max: u64, expiry: u64| {
        let offers = s.offers();
        async move {
            offers
                .postOffer(
                    pond_bindings::offers::Hardware {
                        gpuCount: 1,
                        gpuMemoryGb: 0,
                        cpuCores: 0,
                        ramGb: 0,
                        diskGb: 0,
                    },
                    tokens(1),
                    min,
                    max,
                    1,
                    expiry,
                )
                .from(provider)
                .call()
                .await
                .is_ok()
        }
    };
    assert!(post(MIN_JOB_DURATION, MAX_PERIOD, now + MAX_PERIOD - 20).await);
    assert!(!post(MIN_JOB_DURATION - 1, 3600, now + 3600).await);
    assert!(!post(MIN_JOB_DURATION, MAX_PERIOD + 1, now + 3600).await);
    assert!(!post(MIN_JOB_DURATION, 3600, now + MAX_PERIOD + 20).await);
}
