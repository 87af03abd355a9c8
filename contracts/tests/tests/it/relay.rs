//! Gasless posting: the creator's EIP-712 signature (valid, wrong signer,
//! replayed, expired, wrong chain) and the permit-funded path.

use alloy_primitives::{Address, B256, U256};
use alloy_signer::SignerSync;
use alloy_sol_types::SolStruct;
use motsu::prelude::*;
use openzeppelin_stylus::utils::nonces::INonces;
use pond_common::types::{JobSpec, PermitData};
use pond_contract_tests::{job_spec, machine, own_error, tokens, Protocol};
use pond_market::JobPosted;
use pond_relay::{JobRelayed, RelayError};

const RELAYER: Address = Address::repeat_byte(0x4e);

alloy_sol_types::sol! {
    struct Permit { address owner; address spender; uint256 value; uint256 nonce; uint256 deadline; }
}

// An independent, standard EIP-712 implementation (alloy's) of the types
// the relay hashes by hand.
mod typed {
    alloy_sol_types::sol! {
        struct Hardware { uint32 gpuCount; uint32 gpuMemoryGb; uint32 cpuCores; uint32 ramGb; uint32 diskGb; }
        struct JobSpec {
            bytes32 moduleHash; string moduleUri; bytes32 inputHash; string inputUri; Hardware minHardware;
            uint64 maxDuration; uint256 maxPrice; uint64 matchDeadline; uint64 biddingWindow; uint256 offerId;
        }
        struct JobRequest { address creator; JobSpec spec; uint256 nonce; uint256 deadline; }
    }
}

fn typed_request(
    creator: Address,
    spec: &JobSpec,
    nonce: U256,
    deadline: U256,
) -> typed::JobRequest {
    let hw = &spec.minHardware;
    typed::JobRequest {
        creator,
        spec: typed::JobSpec {
            moduleHash: spec.moduleHash,
            moduleUri: spec.moduleUri.clone(),
            inputHash: spec.inputHash,
            inputUri: spec.inputUri.clone(),
            minHardware: typed::Hardware {
                gpuCount: hw.gpuCount,
                gpuMemoryGb: hw.gpuMemoryGb,
                cpuCores: hw.cpuCores,
                ramGb: hw.ramGb,
                diskGb: hw.diskGb,
            },
            maxDuration: spec.maxDuration,
            maxPrice: spec.maxPrice,
            matchDeadline: spec.matchDeadline,
            biddingWindow: spec.biddingWindow,
            offerId: spec.offerId,
        },
        nonce,
        deadline,
    }
}

fn sign(
    p: &Protocol,
    signer: &Account,
    creator: Address,
    spec: &JobSpec,
    nonce: U256,
    deadline: U256,
    chain_id: u64,
) -> (u8, B256, B256) {
    let domain = alloy_sol_types::eip712_domain! {
        name: pond_relay::DOMAIN_NAME,
        version: pond_relay::DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: p.relay.address(),
    };
    let hash = typed_request(creator, spec, nonce, deadline).eip712_signing_hash(&domain);
    let signature = signer.signer().sign_hash_sync(&hash).unwrap();
    (
        27 + u8::from(signature.v()),
        B256::from(signature.r()),
        B256::from(signature.s()),
    )
}

#[test]
fn struct_hash_matches_alloys_eip712() {
    let p = Protocol::deploy();
    let spec = job_spec(p.now(), machine(2), tokens(5));
    let creator = Address::repeat_byte(0xc1);
    let ours = pond_relay::job_request_hash(creator, &spec, U256::from(3), U256::from(99));
    let theirs = typed_request(creator, &spec, U256::from(3), U256::from(99)).eip712_hash_struct();
    assert_eq!(ours, theirs);
    let domain = alloy_sol_types::eip712_domain! {
        name: pond_relay::DOMAIN_NAME,
        version: pond_relay::DOMAIN_VERSION,
        chain_id: 42_161,
        verifying_contract: p.relay.address(),
    };
    assert_eq!(
        p.relay.sender(creator).domain_separator(),
        domain.separator()
    );
}

#[test]
fn a_valid_signature_posts_for_the_creator_and_cannot_be_replayed() {
    let p = Protocol::deploy();
    let creator = Account::from_seed("creator");
    p.fund(creator.address(), tokens(100));
    let spec = job_spec(p.now(), machine(1), tokens(40));
    let deadline = U256::from(p.now() + 600);
    let (v, r, s) = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::ZERO,
        deadline,
        42_161,
    );
    let job = p
        .relay
        .sender(RELAYER)
        .post_job_for(
            spec.clone(),
            creator.address(),
            U256::ZERO,
            deadline,
            v,
            r,
            s,
            PermitData::default(),
        )
        .motsu_unwrap();
    p.relay.assert_emitted(&JobRelayed {
        jobId: job,
        creator: creator.address(),
        relayer: RELAYER,
        nonce: U256::ZERO,
        permitAmount: U256::ZERO,
    });
    let posted = p.market.sender(RELAYER).job(job);
    assert_eq!(posted.0, creator.address());
    assert_eq!(p.balances(creator.address()), (tokens(60), tokens(40)));
    assert_eq!(p.balances(RELAYER), (U256::ZERO, U256::ZERO));
    assert!(p.market.emitted(&JobPosted {
        jobId: job,
        creator: creator.address(),
        relayer: RELAYER,
        moduleHash: spec.moduleHash,
        moduleUri: spec.moduleUri.clone(),
        inputHash: spec.inputHash,
        inputUri: spec.inputUri.clone(),
        minGpuCount: 1,
        minGpuMemoryGb: 24,
        minCpuCores: 16,
        minRamGb: 64,
        minDiskGb: 500,
        maxDuration: spec.maxDuration,
        maxPrice: spec.maxPrice,
        matchDeadline: spec.matchDeadline,
        biddingEnd: 0,
    }));
    assert_eq!(
        p.relay.sender(RELAYER).nonces(creator.address()),
        U256::from(1)
    );
    // Replay: the nonce has moved on.
    let err = own_error(p.relay.sender(RELAYER).post_job_for(
        spec,
        creator.address(),
        U256::ZERO,
        deadline,
        v,
        r,
        s,
        PermitData::default(),
    ));
    assert!(matches!(err, RelayError::InvalidNonce(_)));
    assert_eq!(p.balances(creator.address()), (tokens(60), tokens(40)));
}

#[test]
fn wrong_signer_expired_and_wrong_chain_are_refused() {
    let p = Protocol::deploy();
    let creator = Account::from_seed("creator");
    let mallory = Account::from_seed("mallory");
    p.fund(creator.address(), tokens(100));
    let spec = job_spec(p.now(), machine(1), tokens(40));
    let deadline = U256::from(p.now() + 600);
    let post = |sig: (u8, B256, B256), spec: JobSpec, deadline: U256, nonce: U256| {
        own_error(p.relay.sender(RELAYER).post_job_for(
            spec,
            creator.address(),
            nonce,
            deadline,
            sig.0,
            sig.1,
            sig.2,
            PermitData::default(),
        ))
    };
    let forged = sign(
        &p,
        &mallory,
        creator.address(),
        &spec,
        U256::ZERO,
        deadline,
        42_161,
    );
    assert!(matches!(
        post(forged, spec.clone(), deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    let other_chain = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::ZERO,
        deadline,
        1,
    );
    assert!(matches!(
        post(other_chain, spec.clone(), deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    let good = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::ZERO,
        deadline,
        42_161,
    );
    // Tampering with any field breaks the signature.
    let mut tampered = spec.clone();
    tampered.maxPrice = tokens(41);
    assert!(matches!(
        post(good, tampered, deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    // A signature for a future nonce is valid but not usable yet.
    let ahead = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::from(1),
        deadline,
        42_161,
    );
    assert!(matches!(
        post(ahead, spec.clone(), deadline, U256::from(1)),
        RelayError::InvalidNonce(_)
    ));
    let past = U256::from(p.now() - 1);
    let expired = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::ZERO,
        past,
        42_161,
    );
    assert!(matches!(
        post(expired, spec.clone(), past, U256::ZERO),
        RelayError::SignatureExpired(_)
    ));
    // The same signature is refused after the chain id changes (a fork).
    VM::context().set_chain_id(1);
    assert!(matches!(
        post(good, spec.clone(), deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    VM::context().set_chain_id(42_161);
    // Malformed signature values.
    assert!(matches!(
        post((29, good.1, good.2), spec.clone(), deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    let high_s = B256::repeat_byte(0xff);
    assert!(matches!(
        post((good.0, good.1, high_s), spec.clone(), deadline, U256::ZERO),
        RelayError::InvalidSignature(_)
    ));
    // Nothing was posted or moved.
    assert_eq!(p.market.sender(RELAYER).job_count(), U256::ZERO);
    assert_eq!(p.balances(creator.address()), (tokens(100), U256::ZERO));
    // The untouched good signature still works.
    p.relay
        .sender(RELAYER)
        .post_job_for(
            spec,
            creator.address(),
            U256::ZERO,
            deadline,
            good.0,
            good.1,
            good.2,
            PermitData::default(),
        )
        .motsu_unwrap();
}

#[test]
fn a_permit_funds_the_job_from_the_creators_wallet_in_the_same_call() {
    let p = Protocol::deploy();
    let creator = Account::from_seed("researcher");
    p.token
        .sender(p.owner)
        .mint(creator.address(), tokens(40))
        .motsu_unwrap();
    let spec = job_spec(p.now(), machine(1), tokens(40));
    let deadline = U256::from(p.now() + 600);
    let token_domain = alloy_sol_types::eip712_domain! {
        name: pond_token::NAME,
        version: "1",
        chain_id: 42_161,
        verifying_contract: p.token.address(),
    };
    let permit = Permit {
        owner: creator.address(),
        spender: p.vault.address(),
        value: tokens(40),
        nonce: U256::ZERO,
        deadline,
    };
    let ps = creator
        .signer()
        .sign_hash_sync(&permit.eip712_signing_hash(&token_domain))
        .unwrap();
    let permit = PermitData {
        amount: tokens(40),
        deadline,
        v: 27 + u8::from(ps.v()),
        r: B256::from(ps.r()),
        s: B256::from(ps.s()),
    };
    let (v, r, s) = sign(
        &p,
        &creator,
        creator.address(),
        &spec,
        U256::ZERO,
        deadline,
        42_161,
    );
    p.relay
        .sender(RELAYER)
        .post_job_for(
            spec,
            creator.address(),
            U256::ZERO,
            deadline,
            v,
            r,
            s,
            permit,
        )
        .motsu_unwrap();
    assert_eq!(p.balances(creator.address()), (U256::ZERO, tokens(40)));
    p.assert_vault_invariant();
}
