//! The host imports of Stylus programs and their WebAssembly signatures.
//!
//! Pointers and lengths are `i32` (wasm32); 64-bit values (gas, block
//! numbers, chain id) are `i64`; booleans are `i32`. The SDK's `console`
//! also declares `log_f32` and `log_f64`; they are left out because Stylus
//! programs may not use floating point at all (a module that declares them
//! fails validation).

use wasmparser::ValType::{self, I32, I64};

/// A host import a program may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostImport {
    /// Import module: `vm_hooks` or `console`.
    pub module: &'static str,
    /// Function name.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
}

const fn hook(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostImport {
    HostImport {
        module: "vm_hooks",
        name,
        params,
        results,
    }
}

const fn console(name: &'static str, params: &'static [ValType]) -> HostImport {
    HostImport {
        module: "console",
        name,
        params,
        results: &[],
    }
}

/// Every host import, `vm_hooks` first.
pub const HOST_IMPORTS: &[HostImport] = &[
    hook("read_args", &[I32], &[]),
    hook("write_result", &[I32, I32], &[]),
    hook("exit_early", &[I32], &[]),
    hook("storage_load_bytes32", &[I32, I32], &[]),
    hook("storage_cache_bytes32", &[I32, I32], &[]),
    hook("storage_flush_cache", &[I32], &[]),
    hook("transient_load_bytes32", &[I32, I32], &[]),
    hook("transient_store_bytes32", &[I32, I32], &[]),
    hook("call_contract", &[I32, I32, I32, I32, I64, I32], &[I32]),
    hook("delegate_call_contract", &[I32, I32, I32, I64, I32], &[I32]),
    hook("static_call_contract", &[I32, I32, I32, I64, I32], &[I32]),
    hook("create1", &[I32, I32, I32, I32, I32], &[]),
    hook("create2", &[I32, I32, I32, I32, I32, I32], &[]),
    hook("read_return_data", &[I32, I32, I32], &[I32]),
    hook("return_data_size", &[], &[I32]),
    hook("emit_log", &[I32, I32, I32], &[]),
    hook("account_balance", &[I32, I32], &[]),
    hook("account_code", &[I32, I32, I32, I32], &[I32]),
    hook("account_code_size", &[I32], &[I32]),
    hook("account_codehash", &[I32, I32], &[]),
    hook("evm_gas_left", &[], &[I64]),
    hook("evm_ink_left", &[], &[I64]),
    hook("block_basefee", &[I32], &[]),
    hook("chainid", &[], &[I64]),
    hook("block_coinbase", &[I32], &[]),
    hook("block_gas_limit", &[], &[I64]),
    hook("block_number", &[], &[I64]),
    hook("block_timestamp", &[], &[I64]),
    hook("contract_address", &[I32], &[]),
    hook("math_div", &[I32, I32], &[]),
    hook("math_mod", &[I32, I32], &[]),
    hook("math_pow", &[I32, I32], &[]),
    hook("math_add_mod", &[I32, I32, I32], &[]),
    hook("math_mul_mod", &[I32, I32, I32], &[]),
    hook("msg_reentrant", &[], &[I32]),
    hook("msg_sender", &[I32], &[]),
    hook("msg_value", &[I32], &[]),
    hook("native_keccak256", &[I32, I32, I32], &[]),
    hook("tx_gas_price", &[I32], &[]),
    hook("tx_ink_price", &[], &[I32]),
    hook("tx_origin", &[I32], &[]),
    hook("pay_for_memory_grow", &[I32], &[]),
    console("log_txt", &[I32, I32]),
    console("log_i32", &[I32]),
    console("log_i64", &[I64]),
];

/// The host import `module.name`, if there is one.
#[must_use]
pub fn find(module: &str, name: &str) -> Option<&'static HostImport> {
    HOST_IMPORTS
        .iter()
        .find(|import| import.module == module && import.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, import) in HOST_IMPORTS.iter().enumerate() {
            assert_eq!(find(import.module, import.name), Some(import));
            assert!(HOST_IMPORTS[i + 1..]
                .iter()
                .all(|other| other.name != import.name));
        }
        assert!(find("vm_hooks", "does_not_exist").is_none());
        assert!(find("env", "read_args").is_none());
    }
}
