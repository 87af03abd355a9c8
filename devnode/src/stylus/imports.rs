//! The host imports, linked into every program (see `crate::hostio` for
//! the list and signatures).

use alloy_primitives::{keccak256, Address, B256, U256};
use wasmi::{Caller, Error as Trap, Linker};

use super::{CallKind, Frame, FUEL_PER_GAS, INK_PRICE, MAX_LOG_TOPICS};

type Ctx<'a> = Caller<'a, Frame>;

// Rough gas costs of host imports (EVM-like; approximate by design).
const GAS_BASE: u64 = 1;
const GAS_STORAGE_LOAD: u64 = 2_100;
const GAS_STORAGE_STORE: u64 = 5_000;
const GAS_LOG: u64 = 375;
const GAS_LOG_PER_BYTE: u64 = 8;
const GAS_KECCAK_PER_WORD: u64 = 6;
const GAS_CALL: u64 = 100;
const GAS_ACCOUNT: u64 = 100;
const GAS_CREATE: u64 = 32_000;

/// A wasm pointer or length as an index into memory.
fn index(value: i32) -> usize {
    u32::from_ne_bytes(value.to_ne_bytes()) as usize
}

/// Charges `gas` (and what grown memory still owes) from the frame's
/// fuel: wasmi's slice first, then the reserve.
fn charge(caller: &mut Ctx<'_>, gas: u64) -> Result<(), Trap> {
    let in_wasmi = caller.get_fuel()?;
    let owed = std::mem::take(&mut caller.data_mut().owed);
    let cost = gas.saturating_mul(FUEL_PER_GAS).saturating_add(owed);
    if in_wasmi >= cost {
        return caller.set_fuel(in_wasmi - cost);
    }
    let from_reserve = cost - in_wasmi;
    if caller.data().reserve < from_reserve {
        caller.set_fuel(0)?;
        caller.data_mut().reserve = 0;
        caller.data_mut().out_of_ink = true;
        return Err(Trap::new("out of ink"));
    }
    caller.data_mut().reserve -= from_reserve;
    caller.set_fuel(0)
}

/// Gas the frame has left: wasmi's slice and the reserve, less what grown
/// memory owes.
fn gas_left(caller: &Ctx<'_>) -> u64 {
    let frame = caller.data();
    caller
        .get_fuel()
        .unwrap_or(0)
        .saturating_add(frame.reserve)
        .saturating_sub(frame.owed)
        / FUEL_PER_GAS
}

fn read(caller: &Ctx<'_>, ptr: i32, len: usize) -> Result<Vec<u8>, Trap> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| Trap::new("program has no memory"))?;
    let mut buffer = vec![0u8; len];
    memory
        .read(caller, index(ptr), &mut buffer)
        .map_err(|_| Trap::new("out-of-bounds memory read"))?;
    Ok(buffer)
}

fn read_word(caller: &Ctx<'_>, ptr: i32) -> Result<B256, Trap> {
    Ok(B256::from_slice(&read(caller, ptr, 32)?))
}

fn read_address(caller: &Ctx<'_>, ptr: i32) -> Result<Address, Trap> {
    Ok(Address::from_slice(&read(caller, ptr, 20)?))
}

fn read_u256(caller: &Ctx<'_>, ptr: i32) -> Result<U256, Trap> {
    Ok(U256::from_be_bytes(read_word(caller, ptr)?.0))
}

fn write(caller: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> Result<(), Trap> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| Trap::new("program has no memory"))?;
    memory
        .write(caller, index(ptr), bytes)
        .map_err(|_| Trap::new("out-of-bounds memory write"))
}

fn write_u256(caller: &mut Ctx<'_>, ptr: i32, value: U256) -> Result<(), Trap> {
    write(caller, ptr, &value.to_be_bytes::<32>())
}

fn write_u32(caller: &mut Ctx<'_>, ptr: i32, value: usize) -> Result<(), Trap> {
    let value = u32::try_from(value).map_err(|_| Trap::new("length exceeds 32 bits"))?;
    write(caller, ptr, &value.to_le_bytes())
}

fn len_i32(len: usize) -> Result<i32, Trap> {
    i32::try_from(len).map_err(|_| Trap::new("length exceeds 32 bits"))
}

fn read_only(caller: &Ctx<'_>, what: &str) -> Result<(), Trap> {
    if caller.data().msg.is_static {
        return Err(Trap::new(format!("{what} in a static call")));
    }
    Ok(())
}

/// The gas a nested call may get: what it asked for, at most 63/64 of what is left.
fn forwardable(caller: &Ctx<'_>, requested: i64) -> u64 {
    let left = gas_left(caller);
    let cap = left - left / 64;
    u64::try_from(requested).unwrap_or(u64::MAX).min(cap)
}

#[allow(clippy::too_many_arguments)]
fn nested_call(
    mut caller: Ctx<'_>,
    kind: CallKind,
    contract: i32,
    calldata: i32,
    calldata_len: i32,
    value: U256,
    gas: i64,
    return_data_len: i32,
) -> Result<i32, Trap> {
    charge(&mut caller, GAS_CALL)?;
    let to = read_address(&caller, contract)?;
    let input = read(&caller, calldata, index(calldata_len))?;
    let is_static = caller.data().msg.is_static;
    if is_static && !value.is_zero() {
        return Err(Trap::new("value transfer in a static call"));
    }
    // A call from a static frame stays static.
    let kind = if is_static && kind == CallKind::Call {
        CallKind::Static
    } else {
        kind
    };
    let gas = forwardable(&caller, gas);
    // As Nitro's host: the storage cache is neither flushed nor emptied
    // around a call (the SDK's call helpers flush it themselves).
    let outcome = caller.data_mut().host.call(kind, to, &input, value, gas);
    charge(&mut caller, outcome.gas_used.min(gas))?;
    let len = outcome.output.len();
    caller.data_mut().return_data = outcome.output;
    write_u32(&mut caller, return_data_len, len)?;
    Ok(i32::from(!outcome.success))
}

fn nested_create(
    mut caller: Ctx<'_>,
    code: i32,
    code_len: i32,
    endowment: i32,
    salt: Option<i32>,
    contract: i32,
    revert_data_len: i32,
) -> Result<(), Trap> {
    charge(&mut caller, GAS_CREATE)?;
    read_only(&caller, "contract creation")?;
    let init_code = read(&caller, code, index(code_len))?;
    let value = read_u256(&caller, endowment)?;
    let salt = salt.map(|ptr| read_word(&caller, ptr)).transpose()?;
    let gas = forwardable(&caller, i64::MAX);
    let outcome = caller.data_mut().host.create(&init_code, value, salt, gas);
    charge(&mut caller, outcome.gas_used.min(gas))?;
    let address = outcome.address.unwrap_or(Address::ZERO);
    write(&mut caller, contract, address.as_slice())?;
    let len = outcome.output.len();
    caller.data_mut().return_data = outcome.output;
    write_u32(&mut caller, revert_data_len, len)
}

fn math(caller: &mut Ctx<'_>, ptrs: &[i32], op: impl Fn(&[U256]) -> U256) -> Result<(), Trap> {
    charge(caller, 5)?;
    let values = ptrs
        .iter()
        .map(|ptr| read_u256(caller, *ptr))
        .collect::<Result<Vec<_>, _>>()?;
    write_u256(caller, ptrs[0], op(&values))
}

/// Links every host import into `linker`.
///
/// # Panics
/// Never: each import is defined once (a duplicate would be a bug caught by the tests).
pub(super) fn link(linker: &mut Linker<Frame>) {
    macro_rules! wrap {
        ($module:literal, $name:literal, $func:expr) => {
            // SAFETY of expect: the names below are distinct and linked once.
            linker.func_wrap($module, $name, $func).expect(concat!(
                "host import ",
                $name,
                " linked twice"
            ));
        };
    }

    wrap!("vm_hooks", "read_args", |mut c: Ctx<'_>,
                                    dest: i32|
     -> Result<(), Trap> {
        charge(&mut c, GAS_BASE)?;
        let args = c.data().args.clone();
        write(&mut c, dest, &args)
    });
    wrap!("vm_hooks", "write_result", |mut c: Ctx<'_>,
                                       data: i32,
                                       len: i32|
     -> Result<(), Trap> {
        charge(&mut c, GAS_BASE)?;
        let output = read(&c, data, index(len))?;
        c.data_mut().output = output;
        Ok(())
    });
    wrap!("vm_hooks", "exit_early", |_c: Ctx<'_>,
                                     status: i32|
     -> Result<(), Trap> {
        Err(Trap::i32_exit(status))
    });
    wrap!(
        "vm_hooks",
        "storage_load_bytes32",
        |mut c: Ctx<'_>, key: i32, dest: i32| -> Result<(), Trap> {
            let key = read_word(&c, key)?;
            let cached = c.data().cache.get(&key).map(|(value, _)| *value);
            let value = match cached {
                Some(value) => {
                    charge(&mut c, GAS_BASE)?;
                    value
                }
                None => {
                    charge(&mut c, GAS_STORAGE_LOAD)?;
                    let value = c.data_mut().host.storage_load(key);
                    c.data_mut().cache.insert(key, (value, false));
                    value
                }
            };
            write(&mut c, dest, value.as_slice())
        }
    );
    wrap!("vm_hooks", "storage_cache_bytes32", |mut c: Ctx<'_>,
                                                key: i32,
                                                value: i32|
     -> Result<
        (),
        Trap,
    > {
        charge(&mut c, GAS_BASE)?;
        let key = read_word(&c, key)?;
        let value = read_word(&c, value)?;
        c.data_mut().cache.insert(key, (value, true));
        Ok(())
    });
    wrap!("vm_hooks", "storage_flush_cache", |mut c: Ctx<'_>,
                                              clear: i32|
     -> Result<(), Trap> {
        let dirty = c.data().cache.values().filter(|(_, dirty)| *dirty).count() as u64;
        charge(&mut c, GAS_BASE + dirty * GAS_STORAGE_STORE)?;
        c.data_mut().flush(clear != 0)
    });
    wrap!("vm_hooks", "transient_load_bytes32", |mut c: Ctx<'_>,
                                                 key: i32,
                                                 dest: i32|
     -> Result<
        (),
        Trap,
    > {
        charge(&mut c, GAS_ACCOUNT)?;
        let key = read_word(&c, key)?;
        let value = c.data_mut().host.transient_load(key);
        write(&mut c, dest, value.as_slice())
    });
    wrap!("vm_hooks", "transient_store_bytes32", |mut c: Ctx<'_>,
                                                  key: i32,
                                                  value: i32|
     -> Result<
        (),
        Trap,
    > {
        charge(&mut c, GAS_ACCOUNT)?;
        read_only(&c, "transient store")?;
        let key = read_word(&c, key)?;
        let value = read_word(&c, value)?;
        c.data_mut().host.transient_store(key, value);
        Ok(())
    });
    wrap!("vm_hooks", "call_contract", |mut c: Ctx<'_>,
                                        contract: i32,
                                        data: i32,
                                        len: i32,
                                        value: i32,
                                        gas: i64,
                                        ret_len: i32|
     -> Result<i32, Trap> {
        let value = read_u256(&c, value)?;
        charge(&mut c, 0)?;
        nested_call(c, CallKind::Call, contract, data, len, value, gas, ret_len)
    });
    wrap!("vm_hooks", "delegate_call_contract", |c: Ctx<'_>,
                                                 contract: i32,
                                                 data: i32,
                                                 len: i32,
                                                 gas: i64,
                                                 ret_len: i32|
     -> Result<
        i32,
        Trap,
    > {
        nested_call(
            c,
            CallKind::Delegate,
            contract,
            data,
            len,
            U256::ZERO,
            gas,
            ret_len,
        )
    });
    wrap!("vm_hooks", "static_call_contract", |c: Ctx<'_>,
                                               contract: i32,
                                               data: i32,
                                               len: i32,
                                               gas: i64,
                                               ret_len: i32|
     -> Result<
        i32,
        Trap,
    > {
        nested_call(
            c,
            CallKind::Static,
            contract,
            data,
            len,
            U256::ZERO,
            gas,
            ret_len,
        )
    });
    wrap!("vm_hooks", "create1", |c: Ctx<'_>,
                                  code: i32,
                                  len: i32,
                                  endowment: i32,
                                  contract: i32,
                                  revert_len: i32|
     -> Result<(), Trap> {
        nested_create(c, code, len, endowment, None, contract, revert_len)
    });
    wrap!("vm_hooks", "create2", |c: Ctx<'_>,
                                  code: i32,
                                  len: i32,
                                  endowment: i32,
                                  salt: i32,
                                  contract: i32,
                                  revert_len: i32|
     -> Result<(), Trap> {
        nested_create(c, code, len, endowment, Some(salt), contract, revert_len)
    });
    wrap!("vm_hooks", "read_return_data", |mut c: Ctx<'_>,
                                           dest: i32,
                                           offset: i32,
                                           size: i32|
     -> Result<i32, Trap> {
        charge(&mut c, GAS_BASE)?;
        let data = &c.data().return_data;
        let start = index(offset).min(data.len());
        let end = start.saturating_add(index(size)).min(data.len());
        let chunk = data[start..end].to_vec();
        write(&mut c, dest, &chunk)?;
        len_i32(chunk.len())
    });
    wrap!(
        "vm_hooks",
        "return_data_size",
        |mut c: Ctx<'_>| -> Result<i32, Trap> {
            charge(&mut c, GAS_BASE)?;
            len_i32(c.data().return_data.len())
        }
    );
    wrap!("vm_hooks", "emit_log", |mut c: Ctx<'_>,
                                   data: i32,
                                   len: i32,
                                   topics: i32|
     -> Result<(), Trap> {
        read_only(&c, "log")?;
        let topics = index(topics);
        if topics > MAX_LOG_TOPICS {
            return Err(Trap::new(format!(
                "log with {topics} topics, at most {MAX_LOG_TOPICS}"
            )));
        }
        let bytes = read(&c, data, index(len))?;
        if bytes.len() < topics * 32 {
            return Err(Trap::new("log shorter than its topics"));
        }
        charge(&mut c, GAS_LOG + GAS_LOG_PER_BYTE * bytes.len() as u64)?;
        let (topic_bytes, payload) = bytes.split_at(topics * 32);
        let topic_words: Vec<B256> = topic_bytes.chunks(32).map(B256::from_slice).collect();
        c.data_mut().host.emit_log(&topic_words, payload);
        Ok(())
    });
    wrap!("vm_hooks", "account_balance", |mut c: Ctx<'_>,
                                          address: i32,
                                          dest: i32|
     -> Result<(), Trap> {
        charge(&mut c, GAS_ACCOUNT)?;
        let address = read_address(&c, address)?;
        let balance = c.data_mut().host.balance(address);
        write_u256(&mut c, dest, balance)
    });
    wrap!("vm_hooks", "account_code", |mut c: Ctx<'_>,
                                       address: i32,
                                       offset: i32,
                                       size: i32,
                                       dest: i32|
     -> Result<i32, Trap> {
        charge(&mut c, GAS_ACCOUNT)?;
        let address = read_address(&c, address)?;
        let code = c.data_mut().host.code(address);
        let start = index(offset).min(code.len());
        let end = start.saturating_add(index(size)).min(code.len());
        write(&mut c, dest, &code[start..end])?;
        len_i32(end - start)
    });
    wrap!("vm_hooks", "account_code_size", |mut c: Ctx<'_>,
                                            address: i32|
     -> Result<i32, Trap> {
        charge(&mut c, GAS_ACCOUNT)?;
        let address = read_address(&c, address)?;
        let len = c.data_mut().host.code(address).len();
        len_i32(len)
    });
    wrap!("vm_hooks", "account_codehash", |mut c: Ctx<'_>,
                                           address: i32,
                                           dest: i32|
     -> Result<(), Trap> {
        charge(&mut c, GAS_ACCOUNT)?;
        let address = read_address(&c, address)?;
        let hash = c.data_mut().host.code_hash(address);
        write(&mut c, dest, hash.as_slice())
    });
    wrap!(
        "vm_hooks",
        "evm_gas_left",
        |c: Ctx<'_>| -> Result<i64, Trap> { Ok(i64::try_from(gas_left(&c)).unwrap_or(i64::MAX)) }
    );
    wrap!(
        "vm_hooks",
        "evm_ink_left",
        |c: Ctx<'_>| -> Result<i64, Trap> {
            Ok(
                i64::try_from(gas_left(&c).saturating_mul(u64::from(INK_PRICE)))
                    .unwrap_or(i64::MAX),
            )
        }
    );
    wrap!("vm_hooks", "block_basefee", |mut c: Ctx<'_>,
                                        dest: i32|
     -> Result<(), Trap> {
        let value = c.data().env.basefee;
        write_u256(&mut c, dest, value)
    });
    wrap!("vm_hooks", "chainid", |c: Ctx<'_>| -> Result<i64, Trap> {
        Ok(c.data().env.chain_id.cast_signed())
    });
    wrap!("vm_hooks", "block_coinbase", |mut c: Ctx<'_>,
                                         dest: i32|
     -> Result<(), Trap> {
        let value = c.data().env.coinbase;
        write(&mut c, dest, value.as_slice())
    });
    wrap!(
        "vm_hooks",
        "block_gas_limit",
        |c: Ctx<'_>| -> Result<i64, Trap> { Ok(c.data().env.gas_limit.cast_signed()) }
    );
    wrap!(
        "vm_hooks",
        "block_number",
        |c: Ctx<'_>| -> Result<i64, Trap> { Ok(c.data().env.number.cast_signed()) }
    );
    wrap!(
        "vm_hooks",
        "block_timestamp",
        |c: Ctx<'_>| -> Result<i64, Trap> { Ok(c.data().env.timestamp.cast_signed()) }
    );
    wrap!("vm_hooks", "contract_address", |mut c: Ctx<'_>,
                                           dest: i32|
     -> Result<(), Trap> {
        let value = c.data().msg.contract;
        write(&mut c, dest, value.as_slice())
    });
    wrap!("vm_hooks", "math_div", |mut c: Ctx<'_>,
                                   value: i32,
                                   divisor: i32|
     -> Result<(), Trap> {
        math(&mut c, &[value, divisor], |v| {
            v[0].checked_div(v[1]).unwrap_or_default()
        })
    });
    wrap!("vm_hooks", "math_mod", |mut c: Ctx<'_>,
                                   value: i32,
                                   modulus: i32|
     -> Result<(), Trap> {
        math(&mut c, &[value, modulus], |v| {
            v[0].checked_rem(v[1]).unwrap_or_default()
        })
    });
    wrap!("vm_hooks", "math_pow", |mut c: Ctx<'_>,
                                   value: i32,
                                   exponent: i32|
     -> Result<(), Trap> {
        math(&mut c, &[value, exponent], |v| v[0].wrapping_pow(v[1]))
    });
    wrap!("vm_hooks", "math_add_mod", |mut c: Ctx<'_>,
                                       value: i32,
                                       addend: i32,
                                       modulus: i32|
     -> Result<(), Trap> {
        math(&mut c, &[value, addend, modulus], |v| {
            v[0].add_mod(v[1], v[2])
        })
    });
    wrap!("vm_hooks", "math_mul_mod", |mut c: Ctx<'_>,
                                       value: i32,
                                       multiplier: i32,
                                       modulus: i32|
     -> Result<(), Trap> {
        math(&mut c, &[value, multiplier, modulus], |v| {
            v[0].mul_mod(v[1], v[2])
        })
    });
    wrap!(
        "vm_hooks",
        "msg_reentrant",
        |c: Ctx<'_>| -> Result<i32, Trap> { Ok(i32::from(c.data().msg.reentrant)) }
    );
    wrap!("vm_hooks", "msg_sender", |mut c: Ctx<'_>,
                                     dest: i32|
     -> Result<(), Trap> {
        let value = c.data().msg.sender;
        write(&mut c, dest, value.as_slice())
    });
    wrap!("vm_hooks", "msg_value", |mut c: Ctx<'_>,
                                    dest: i32|
     -> Result<(), Trap> {
        let value = c.data().msg.value;
        write_u256(&mut c, dest, value)
    });
    wrap!("vm_hooks", "native_keccak256", |mut c: Ctx<'_>,
                                           data: i32,
                                           len: i32,
                                           dest: i32|
     -> Result<(), Trap> {
        let bytes = read(&c, data, index(len))?;
        charge(
            &mut c,
            30 + GAS_KECCAK_PER_WORD * (bytes.len() as u64).div_ceil(32),
        )?;
        write(&mut c, dest, keccak256(&bytes).as_slice())
    });
    wrap!("vm_hooks", "tx_gas_price", |mut c: Ctx<'_>,
                                       dest: i32|
     -> Result<(), Trap> {
        let value = c.data().env.gas_price;
        write_u256(&mut c, dest, value)
    });
    wrap!(
        "vm_hooks",
        "tx_ink_price",
        |_c: Ctx<'_>| -> Result<i32, Trap> { Ok(INK_PRICE.cast_signed()) }
    );
    wrap!("vm_hooks", "tx_origin", |mut c: Ctx<'_>,
                                    dest: i32|
     -> Result<(), Trap> {
        let value = c.data().env.origin;
        write(&mut c, dest, value.as_slice())
    });
    // Memory is paid for when it actually grows (the limiter, Nitro's
    // model); the SDK's announcement before `memory.grow` costs a hostio.
    wrap!("vm_hooks", "pay_for_memory_grow", |mut c: Ctx<'_>,
                                              _pages: i32|
     -> Result<(), Trap> {
        charge(&mut c, GAS_BASE)
    });
    wrap!("console", "log_txt", |c: Ctx<'_>,
                                 text: i32,
                                 len: i32|
     -> Result<(), Trap> {
        let text = read(&c, text, index(len))?;
        tracing_free_log(&String::from_utf8_lossy(&text));
        Ok(())
    });
    wrap!("console", "log_i32", |_c: Ctx<'_>,
                                 value: i32|
     -> Result<(), Trap> {
        tracing_free_log(&value.to_string());
        Ok(())
    });
    wrap!("console", "log_i64", |_c: Ctx<'_>,
                                 value: i64|
     -> Result<(), Trap> {
        tracing_free_log(&value.to_string());
        Ok(())
    });
}

/// Console output of debug builds of programs, on standard error.
fn tracing_free_log(line: &str) {
    eprintln!("[stylus console] {line}");
}
