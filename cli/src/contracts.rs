//! `pond contracts`: the contract code embedded in this binary.

use alloy::primitives::{keccak256, B256};
use eyre::eyre;
use pond_contract_code::CONTRACTS;

/// One embedded contract as it is deployed.
pub(crate) struct Embedded {
    /// Contract name.
    pub(crate) name: &'static str,
    /// Raw WebAssembly size.
    pub(crate) wasm_bytes: usize,
    /// The deployed code: Stylus prefix plus brotli-compressed module.
    pub(crate) code: Vec<u8>,
    /// keccak256 of `code` (what `EXTCODEHASH` returns once deployed).
    pub(crate) code_hash: B256,
}

/// The embedded contract called `name`, as deployed code.
pub(crate) fn embedded(name: &str) -> eyre::Result<Embedded> {
    let contract = pond_contract_code::by_name(name)
        .ok_or_else(|| eyre!("no embedded contract called {name}"))?;
    let code = pond_stylus_code::deployable_code(contract.wasm)
        .map_err(|e| eyre!("the embedded {name} is not deployable: {e}"))?;
    Ok(Embedded {
        name: contract.name,
        wasm_bytes: contract.wasm.len(),
        code_hash: keccak256(&code),
        code,
    })
}

/// Prints every embedded contract: a table, or JSON with `json`.
pub(crate) fn print(json: bool) -> eyre::Result<()> {
    let all = CONTRACTS
        .iter()
        .map(|c| embedded(c.name))
        .collect::<eyre::Result<Vec<_>>>()?;
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "wasmBytes": e.wasm_bytes,
                    "deployedBytes": e.code.len(),
                    "codeHash": e.code_hash,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<16} {:>10} {:>14}  code hash",
        "contract", "wasm", "deployed"
    );
    for e in &all {
        println!(
            "{:<16} {:>10} {:>14}  {}",
            e.name,
            e.wasm_bytes,
            e.code.len(),
            e.code_hash
        );
    }
    Ok(())
}
