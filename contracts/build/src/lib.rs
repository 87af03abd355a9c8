//! Builds Pond's contracts to WebAssembly and measures them as Nitro does.
//!
//! The build uses the `contract` profile (size-optimised, LTO, overflow
//! checks on) and rebuilds the standard library with panics as immediate
//! aborts: panic messages and the formatting code behind them would
//! otherwise take about a third of each contract. That needs `-Zbuild-std`,
//! which the stable toolchain allows with `RUSTC_BOOTSTRAP=1` and the
//! `rust-src` component (both set up by `rust-toolchain.toml` and this
//! crate). Target features are pinned to what Stylus activation accepts
//! (no reference types, which Rust enables by default since 1.82).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// One deployable contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contract {
    /// Contract name (as in `contracts/abi/<name>.sol`).
    pub name: &'static str,
    /// Cargo package.
    pub package: &'static str,
}

impl Contract {
    /// File name of the built WebAssembly.
    #[must_use]
    pub fn wasm_file(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }
}

/// Every contract, in deployment order.
pub const CONTRACTS: &[Contract] = &[
    Contract {
        name: "PondToken",
        package: "pond-token",
    },
    Contract {
        name: "Vault",
        package: "pond-vault",
    },
    Contract {
        name: "Registry",
        package: "pond-registry",
    },
    Contract {
        name: "OfferBook",
        package: "pond-offers",
    },
    Contract {
        name: "Market",
        package: "pond-market",
    },
    Contract {
        name: "Deals",
        package: "pond-deals",
    },
    Contract {
        name: "Mediation",
        package: "pond-mediation",
    },
    Contract {
        name: "BlockHashBeacon",
        package: "pond-beacon",
    },
    Contract {
        name: "JobRelay",
        package: "pond-relay",
    },
    Contract {
        name: "Timelock",
        package: "pond-timelock",
    },
];

/// Rust target of Stylus programs.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Cargo profile of contract builds.
pub const PROFILE: &str = "contract";
/// Compiler flags of contract builds.
pub const RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Ctarget-cpu=mvp \
     -Ctarget-feature=+bulk-memory,+sign-ext,+mutable-globals,+nontrapping-fptoint,+multivalue";
/// Nitro's limit on a program's deployed code, prefix included.
pub const MAX_COMPRESSED_CODE: usize = pond_stylus_code::MAX_CODE_SIZE;

/// Why a build or measurement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `cargo` could not be started.
    #[error("cannot run cargo: {0}")]
    Spawn(#[source] std::io::Error),
    /// `cargo build` failed.
    #[error("cargo build of the contracts failed ({0})")]
    Cargo(std::process::ExitStatus),
    /// An earlier build in this process failed.
    #[error("the contract build failed earlier: {0}")]
    Earlier(String),
    /// A built module could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The module's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A built module could not be turned into deployable code.
    #[error("cannot make deployable code: {0}")]
    Code(#[source] pond_stylus_code::CodeError),
}

/// The repository root (two levels above this crate).
#[must_use]
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The contracts' own cargo workspace (`contracts/`).
#[must_use]
pub fn contracts_workspace() -> PathBuf {
    repo_root().join("contracts")
}

/// The target directory: `CARGO_TARGET_DIR`, or the `target/` both
/// workspaces share at the repository root.
#[must_use]
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), Into::into)
}

/// The built WebAssembly of `contract`, building every contract first
/// (once per process; cargo skips the work when nothing changed).
///
/// # Errors
/// The build fails or the module cannot be read.
pub fn built_wasm(contract: &Contract) -> Result<Vec<u8>, BuildError> {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let target = target_dir();
    BUILT
        .get_or_init(|| build_all(&contracts_workspace(), &target).map_err(|e| e.to_string()))
        .clone()
        .map_err(BuildError::Earlier)?;
    let path = output_dir(&target).join(contract.wasm_file());
    std::fs::read(&path).map_err(|source| BuildError::Read { path, source })
}

/// The contract built from `package`.
#[must_use]
pub fn contract(package: &str) -> Option<&'static Contract> {
    CONTRACTS.iter().find(|c| c.package == package)
}

/// Where contract builds land under `target_dir`.
#[must_use]
pub fn output_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(WASM_TARGET).join(PROFILE)
}

/// Builds every contract with one `cargo build` in the contracts
/// `workspace` into `target_dir`.
///
/// # Errors
/// Cargo cannot be run or the build fails.
pub fn build_all(workspace: &Path, target_dir: &Path) -> Result<(), BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--target",
            WASM_TARGET,
            "--profile",
            PROFILE,
            "-Zbuild-std=std,panic_abort",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", RUSTFLAGS)
        // Settings of an outer cargo (e.g. `cargo run`) must not leak in.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    for contract in CONTRACTS {
        command.args(["-p", contract.package]);
    }
    let status = command.status().map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::Cargo(status));
    }
    Ok(())
}

/// A contract's measured sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Size {
    /// The contract.
    pub contract: Contract,
    /// Raw WebAssembly bytes.
    pub raw: usize,
    /// Deployed code bytes: prefix plus brotli-compressed module.
    pub compressed: usize,
}

impl Size {
    /// Whether the contract fits Nitro's limit.
    #[must_use]
    pub fn fits(&self) -> bool {
        self.compressed <= MAX_COMPRESSED_CODE
    }
}

/// Measures every built contract in `target_dir`.
///
/// # Errors
/// A module is missing, unreadable or not valid WebAssembly.
pub fn measure_all(target_dir: &Path) -> Result<Vec<Size>, BuildError> {
    let dir = output_dir(target_dir);
    CONTRACTS
        .iter()
        .map(|contract| {
            let path = dir.join(contract.wasm_file());
            let wasm = std::fs::read(&path).map_err(|source| BuildError::Read { path, source })?;
            let code = pond_stylus_code::deployable_code(&wasm).map_err(BuildError::Code)?;
            Ok(Size {
                contract: *contract,
                raw: wasm.len(),
                compressed: code.len(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_inclusive() {
        let contract = CONTRACTS[0];
        assert!(Size {
            contract,
            raw: 1,
            compressed: MAX_COMPRESSED_CODE
        }
        .fits());
        assert!(!Size {
            contract,
            raw: 1,
            compressed: MAX_COMPRESSED_CODE + 1
        }
        .fits());
        assert_eq!(contract.wasm_file(), "pond_token.wasm");
    }
}
