//! `eth_simulateV1`: calls run in sequence over simulated blocks on top of
//! a block's state, each seeing the changes of the ones before, with state
//! and block overrides per block (what viem's `simulateCalls` and
//! `simulateBlocks` send).
//!
//! Honoured block overrides: `number`, `time` (each must grow), `baseFee`,
//! `gasLimit` and `coinbase`, each for its block only; the others, and
//! `traceTransfers` or `returnFullTransactions`, are refused rather than
//! ignored. Without `validation` a call is free (no fee, balance or nonce
//! checks), as `eth_call`; with it, it must be a valid transaction. A call
//! that reverts or halts is reported in its result and the simulation goes
//! on; an invalid call fails the whole request, as geth does.
//!
//! Bounds: [`MAX_BLOCKS`], [`MAX_CALLS`], one RPC gas cap
//! ([`CALL_GAS_CAP`]) for all the calls together, as geth has it,
//! [`MAX_RESULT_BYTES`] of return data and logs, and one call deadline.

use std::time::Instant;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    simulate::{SimBlock, SimCallResult, SimulateError, SimulatePayload, SimulatedBlock},
    Block, BlockTransactions, Log, TransactionRequest,
};
use revm::{
    context_interface::result::{ExecutionResult, HaltReason, Output},
    database_interface::WrapDatabaseRef,
};

use super::{
    affordable_in_u256, apply_overrides, call_env, invalid, ChainError, PreparedCall,
    BLOCK_GAS_LIMIT, CALL_GAS_CAP, CALL_TIMEOUT, SEQUENCER,
};
use crate::{evm, stylus::TxMeter};

/// Most simulated blocks in one request (geth's bound).
pub const MAX_BLOCKS: usize = 256;
/// Most calls in one request, over all its blocks.
pub const MAX_CALLS: usize = 1_000;
/// Most bytes of return data and log data one simulation may produce.
pub const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;

/// geth's error code for a call that reverted.
const REVERTED: i32 = 3;
/// geth's error code for a call that halted (out of gas, invalid opcode).
const VM_ERROR: i32 = -32_015;

/// The block a simulation builds on.
#[derive(Clone, Copy, Debug)]
pub struct Base {
    /// Its number.
    pub number: u64,
    /// Its timestamp.
    pub timestamp: u64,
    /// Its hash, the first simulated block's parent.
    pub hash: B256,
}

impl PreparedCall {
    /// Runs `payload` on this call's state, one simulated block per entry.
    ///
    /// # Errors
    /// Too many blocks or calls, an override devnode cannot honour, a block
    /// number or time that does not grow, an invalid call (with
    /// `validation`, or malformed), or `deadline` passed.
    pub fn simulate(
        &self,
        payload: SimulatePayload,
        base: Base,
        deadline: Instant,
    ) -> Result<Vec<SimulatedBlock<Block>>, ChainError> {
        let calls: usize = payload
            .block_state_calls
            .iter()
            .map(|b| b.calls.len())
            .sum();
        if payload.block_state_calls.len() > MAX_BLOCKS || calls > MAX_CALLS {
            return Err(ChainError::Invalid(format!(
                "at most {MAX_BLOCKS} blocks and {MAX_CALLS} calls per simulation"
            )));
        }
        if payload.trace_transfers || payload.return_full_transactions {
            return Err(ChainError::Invalid(
                "devnode does not trace transfers or return simulated transactions".to_owned(),
            ));
        }
        let too_far = || ChainError::Invalid("block number or time out of range".to_owned());
        // One gas cap for every call together, and a bound on what they
        // return, so a request cannot make gigabytes of return data.
        let mut gas_budget = CALL_GAS_CAP;
        let mut result_bytes = 0usize;
        let mut state = (*self.state).clone();
        let mut env = self.env.clone();
        let mut cfg = self.cfg.clone();
        if payload.validation {
            cfg.disable_nonce_check = false;
            cfg.disable_balance_check = false;
            cfg.disable_base_fee = false;
        }
        let mut parent_hash = base.hash;
        // The first simulated block follows the base block (at the head,
        // at the time the next block would have).
        let first_time = env
            .timestamp
            .saturating_to::<u64>()
            .max(base.timestamp.checked_add(1).ok_or_else(too_far)?);
        let base_fee = env.basefee;
        let mut previous: Option<(u64, u64)> = None;
        let mut out = Vec::with_capacity(payload.block_state_calls.len());
        for block in payload.block_state_calls {
            let SimBlock {
                block_overrides,
                state_overrides,
                calls,
            } = block;
            let (mut number, mut time) = match previous {
                Some((n, t)) => (
                    n.checked_add(1).ok_or_else(too_far)?,
                    t.checked_add(1).ok_or_else(too_far)?,
                ),
                None => (base.number.checked_add(1).ok_or_else(too_far)?, first_time),
            };
            env.basefee = base_fee;
            let mut gas_limit = BLOCK_GAS_LIMIT;
            let mut beneficiary = SEQUENCER;
            if let Some(o) = block_overrides {
                if o.difficulty.is_some()
                    || o.random.is_some()
                    || o.blob_base_fee.is_some()
                    || o.beacon_root.is_some()
                    || o.block_hash.is_some()
                {
                    return Err(ChainError::Invalid(
                        "devnode honours the block overrides number, time, baseFee, gasLimit and coinbase only"
                            .to_owned(),
                    ));
                }
                number = o.number.map_or(Ok(number), |n| {
                    u64::try_from(n).map_err(|_| {
                        ChainError::Invalid("block number override out of range".to_owned())
                    })
                })?;
                time = o.time.unwrap_or(time);
                if let Some(fee) = o.base_fee {
                    env.basefee = u64::try_from(fee).map_err(|_| {
                        ChainError::Invalid("base fee override out of range".to_owned())
                    })?;
                }
                gas_limit = o.gas_limit.unwrap_or(gas_limit);
                beneficiary = o.coinbase.unwrap_or(beneficiary);
            }
            let (n, t) = previous.unwrap_or((base.number, base.timestamp));
            if number <= n || time < t {
                return Err(ChainError::Invalid(format!(
                    "simulated blocks must grow: block {number} at {time} after block {n} at {t}"
                )));
            }
            previous = Some((number, time));
            env.number = U256::from(number);
            env.timestamp = U256::from(time);
            env.beneficiary = beneficiary;
            env.gas_limit = gas_limit;
            if let Some(overrides) = state_overrides {
                apply_overrides(&mut state, overrides)?;
            }
            let mut results = Vec::with_capacity(calls.len());
            let mut logs_of_block = 0u64;
            let mut gas_used = 0u64;
            for (index, request) in calls.into_iter().enumerate() {
                if Instant::now() >= deadline {
                    return Err(ChainError::Timeout(CALL_TIMEOUT));
                }
                let gas_left = gas_limit.saturating_sub(gas_used).min(gas_budget);
                let request = with_defaults(request, &state, gas_left);
                let tx = call_env(&request, self.chain_id, gas_left);
                affordable_in_u256(&tx)?;
                let meter = std::sync::Arc::new(TxMeter::with_deadline(deadline));
                let executed = evm::transact(
                    WrapDatabaseRef(&state),
                    self.programs.clone(),
                    cfg.clone(),
                    env.clone(),
                    tx,
                    meter.clone(),
                )
                .map_err(invalid)?;
                if meter.timed_out() {
                    return Err(ChainError::Timeout(CALL_TIMEOUT));
                }
                state.apply(executed.state, &mut Vec::new());
                let result = executed.result;
                gas_used = gas_used.saturating_add(result.tx_gas_used());
                gas_budget = gas_budget.saturating_sub(result.tx_gas_used());
                let logged: usize = result
                    .logs()
                    .iter()
                    .map(|log| log.data.data.len() + 32 * log.topics().len())
                    .sum();
                result_bytes = result_bytes
                    .saturating_add(result.output().map_or(0, |output| output.len()))
                    .saturating_add(logged);
                if result_bytes > MAX_RESULT_BYTES {
                    return Err(ChainError::Invalid(format!(
                        "the simulation's results exceed {MAX_RESULT_BYTES} bytes"
                    )));
                }
                results.push(call_result(
                    result,
                    number,
                    index as u64,
                    &mut logs_of_block,
                ));
            }
            let header = Header {
                parent_hash,
                number,
                timestamp: time,
                gas_limit,
                gas_used,
                base_fee_per_gas: Some(env.basefee),
                beneficiary,
                difficulty: U256::from(1),
                mix_hash: B256::with_last_byte(1),
                ..Header::default()
            };
            let hash = header.hash_slow();
            for result in &mut results {
                for log in &mut result.logs {
                    log.block_hash = Some(hash);
                    log.block_timestamp = Some(time);
                }
            }
            let size = header.length() + 2;
            out.push(SimulatedBlock {
                inner: Block {
                    header: alloy_rpc_types_eth::Header {
                        hash,
                        inner: header,
                        total_difficulty: Some(U256::from(number + 1)),
                        size: Some(U256::from(size + alloy_rlp::length_of_length(size))),
                    },
                    uncles: Vec::new(),
                    transactions: BlockTransactions::Hashes(Vec::new()),
                    withdrawals: None,
                },
                calls: results,
            });
            parent_hash = hash;
        }
        Ok(out)
    }
}

/// A call's sender, nonce and gas as geth fills them in a simulation: the
/// zero address, the sender's next nonce, the gas left (the block's and
/// the simulation's).
fn with_defaults(
    mut request: TransactionRequest,
    state: &crate::state::WorldState,
    gas_left: u64,
) -> TransactionRequest {
    let from = *request.from.get_or_insert(Address::ZERO);
    request.nonce.get_or_insert(state.nonce(&from));
    request.gas.get_or_insert(gas_left.min(CALL_GAS_CAP));
    request
}

/// One call's result, its logs numbered on from `log_index`.
fn call_result(
    result: ExecutionResult,
    number: u64,
    index: u64,
    log_index: &mut u64,
) -> SimCallResult {
    let gas_used = result.tx_gas_used();
    let logs: Vec<Log> = result
        .logs()
        .iter()
        .map(|inner| {
            let log = Log {
                inner: inner.clone(),
                block_hash: None,
                block_number: Some(number),
                block_timestamp: None,
                transaction_hash: None,
                transaction_index: Some(index),
                log_index: Some(*log_index),
                removed: false,
            };
            *log_index += 1;
            log
        })
        .collect();
    let (status, return_data, error) = match result {
        ExecutionResult::Success { output, .. } => (true, output_data(output), None),
        ExecutionResult::Revert { output, .. } => (
            false,
            output.clone(),
            Some(SimulateError {
                code: REVERTED,
                message: "execution reverted".to_owned(),
                data: Some(output),
            }),
        ),
        ExecutionResult::Halt { reason, .. } => (
            false,
            Bytes::new(),
            Some(SimulateError {
                code: VM_ERROR,
                message: match reason {
                    HaltReason::OutOfGas(_) => "out of gas".to_owned(),
                    other => format!("{other:?}"),
                },
                data: None,
            }),
        ),
    };
    SimCallResult {
        return_data,
        logs,
        gas_used,
        max_used_gas: None,
        status,
        error,
    }
}

fn output_data(output: Output) -> Bytes {
    output.into_data()
}
