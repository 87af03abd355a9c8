//! Deploying Stylus programs over JSON-RPC, the way cargo-stylus does:
//! turn `cargo build` output into deployable code (custom sections
//! stripped, brotli, `EF F0 00 00`), deploy it with the standard init-code
//! prelude, then activate it through ArbWasm, paying the data fee.
//!
//! Nothing here is devnode-specific: the same calls work against a real
//! Arbitrum endpoint. The data fee is read first with an `eth_call` (the
//! sender's balance overridden so the estimate never fails for funds), and
//! the activation sends it with a 20 % margin; ArbWasm refunds the excess.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, B256, U256},
    providers::Provider,
    rpc::types::{state::StateOverridesBuilder, TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolInterface},
};

pub use pond_stylus_code::{
    deployable_code, init_code, init_code_recording_deployer, POND_DEPLOYER_SLOT,
};

use crate::arbwasm::{IArbWasm, ARB_WASM};

/// Why a deployment step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// The module cannot be turned into deployable code.
    #[error("cannot make deployable code: {0}")]
    Code(#[from] pond_stylus_code::CodeError),
    /// The deployable code is over the 24 KiB limit.
    #[error("deployable code is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The node refused or failed a request.
    #[error("{step}: {reason}")]
    Rpc {
        /// What was being done.
        step: &'static str,
        /// The node's answer.
        reason: String,
    },
    /// A transaction was mined but failed.
    #[error("{step}: transaction {tx} reverted")]
    Reverted {
        /// What was being done.
        step: &'static str,
        /// The transaction.
        tx: B256,
    },
    /// ArbWasm refused the activation (decoded error when known).
    #[error("activation refused: {0}")]
    Activation(String),
}

/// A deployed program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedProgram {
    /// Its address.
    pub address: Address,
    /// The deployment transaction.
    pub deploy_tx: B256,
    /// The block it was deployed in.
    pub block: u64,
    /// The deployed code's size (bytes).
    pub code_size: usize,
    /// The activation, unless the code hash was already active.
    pub activation: Option<Activation>,
}

/// An activation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activation {
    /// The activation transaction.
    pub tx: B256,
    /// Data fee paid.
    pub data_fee: U256,
    /// Stylus version activated at.
    pub version: u16,
}

/// Init code that deploys `runtime` as plain EVM code (for small helper
/// contracts; at most 255 bytes): `PUSH1 len DUP1 PUSH1 12 PUSH1 0
/// CODECOPY PUSH1 0 RETURN STOP`, then the runtime.
///
/// # Panics
/// When `runtime` is longer than 255 bytes.
#[must_use]
pub fn evm_init_code(runtime: &[u8]) -> Vec<u8> {
    let len = u8::try_from(runtime.len()).expect("runtime of at most 255 bytes");
    let mut init = vec![
        0x60, len, 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0x00,
    ];
    init.extend_from_slice(runtime);
    init
}

fn rpc(step: &'static str) -> impl Fn(String) -> DeployError {
    move |reason| DeployError::Rpc { step, reason }
}

async fn send<P: Provider>(
    provider: &P,
    step: &'static str,
    tx: TransactionRequest,
) -> Result<TransactionReceipt, DeployError> {
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(|e| rpc(step)(e.to_string()))?
        .get_receipt()
        .await
        .map_err(|e| rpc(step)(e.to_string()))?;
    if !receipt.status() {
        return Err(DeployError::Reverted {
            step,
            tx: receipt.transaction_hash,
        });
    }
    Ok(receipt)
}

/// Deploys `wasm` (a `cargo build` module) from `from` and activates it.
///
/// # Errors
/// The module cannot be prepared, is too large, or a transaction fails.
pub async fn deploy_program<P: Provider>(
    provider: &P,
    from: Address,
    wasm: &[u8],
) -> Result<DeployedProgram, DeployError> {
    deploy_program_with(provider, from, wasm, init_code).await
}

/// Like [`deploy_program`], with the deployment's EVM init code made by
/// `make_init` from the Stylus code (e.g. [`init_code_recording_deployer`]).
///
/// # Errors
/// The module cannot be prepared, is too large, or a transaction fails.
pub async fn deploy_program_with<P: Provider>(
    provider: &P,
    from: Address,
    wasm: &[u8],
    make_init: impl Fn(&[u8]) -> Vec<u8>,
) -> Result<DeployedProgram, DeployError> {
    let code = pond_stylus_code::deployable_code(wasm)?;
    if code.len() > pond_stylus_code::MAX_CODE_SIZE {
        return Err(DeployError::TooLarge {
            size: code.len(),
            limit: pond_stylus_code::MAX_CODE_SIZE,
        });
    }
    let init = make_init(&code);
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_deploy_code(Bytes::from(init));
    let receipt = send(provider, "deploy", tx).await?;
    let address = receipt.contract_address.ok_or_else(|| DeployError::Rpc {
        step: "deploy",
        reason: "receipt has no contract address".into(),
    })?;
    let activation = activate_program(provider, from, address).await?;
    Ok(DeployedProgram {
        address,
        deploy_tx: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
        code_size: code.len(),
        activation,
    })
}

/// Activates the program at `program`, paying the data fee from `from`.
/// Returns `None` when its code is already activated (same code hash).
///
/// # Errors
/// ArbWasm refuses (error decoded), or the transaction fails.
pub async fn activate_program<P: Provider>(
    provider: &P,
    from: Address,
    program: Address,
) -> Result<Option<Activation>, DeployError> {
    let input = IArbWasm::activateProgramCall { program }.abi_encode();
    // Estimate with plenty of value; the balance override keeps the
    // estimate independent of the sender's funds.
    let probe_value = U256::from(10u128.pow(18));
    let estimate = TransactionRequest::default()
        .with_from(from)
        .with_to(ARB_WASM)
        .with_input(input.clone())
        .with_value(probe_value);
    let overrides = StateOverridesBuilder::default()
        .with_balance(from, U256::MAX >> 1)
        .build();
    let fee = match provider.call(estimate).overrides(overrides).await {
        Ok(output) => {
            IArbWasm::activateProgramCall::abi_decode_returns(&output)
                .map_err(|e| rpc("estimate activation")(e.to_string()))?
                .dataFee
        }
        Err(error) => {
            let data = error
                .as_error_resp()
                .and_then(|e| e.as_revert_data())
                .unwrap_or_default();
            return match IArbWasm::IArbWasmErrors::abi_decode(&data) {
                Ok(IArbWasm::IArbWasmErrors::ProgramUpToDate(_)) => Ok(None),
                Ok(refusal) => Err(DeployError::Activation(format!("{refusal:?}"))),
                Err(_) => Err(rpc("estimate activation")(error.to_string())),
            };
        }
    };
    let value = fee * U256::from(6) / U256::from(5);
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_to(ARB_WASM)
        .with_input(input)
        .with_value(value);
    let receipt = send(provider, "activate", tx).await?;
    Ok(Some(Activation {
        tx: receipt.transaction_hash,
        data_fee: fee,
        version: crate::arbwasm::STYLUS_VERSION,
    }))
}
