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

pub use pond_contract_code::{Contract, CONTRACTS};

/// Rust target of Stylus programs.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Cargo profile of contract builds.
pub const PROFILE: &str = "contract";
/// Compiler flags of contract builds. The stack is 32 KiB (cargo-stylus's
/// default), not rustc's 1 MiB: a program's initial memory is paid for
/// on every call and counts against the 128 pages a transaction's frames
/// may hold at once, and 17 pages a program made a chain of eight calls
/// impossible. The stack comes first in memory, so an overflow traps.
pub const RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Ctarget-cpu=mvp \
     -Ctarget-feature=+bulk-memory,+sign-ext,+mutable-globals,+nontrapping-fptoint,+multivalue \
     -Clink-arg=-zstack-size=32768";
/// Nitro's limit on a program's deployed code, prefix included.
pub const MAX_COMPRESSED_CODE: usize = pond_stylus_code::MAX_CODE_SIZE;

/// Why a build or measurement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `cargo` could not be started.
    #[error("cannot run cargo: {0}")]
    Spawn(#[source] std::io::Error),
    /// The toolchain lacks what the contract build needs and rustup could
    /// not add it.
    #[error("the contract build needs {missing}; rustup could not add it ({reason}). Run `{command}` and try again")]
    Toolchain {
        /// The missing component or target.
        missing: &'static str,
        /// The command that adds it.
        command: String,
        /// Why rustup failed.
        reason: String,
    },
    /// `cargo build` failed.
    #[error("cargo build of the contracts failed ({0})")]
    Cargo(std::process::ExitStatus),
    /// A module could not be read or written.
    #[error("cannot read or write {path}: {source}")]
    Io {
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

/// Where the checked-in modules live (`contracts/code/wasm/`), which
/// `pond-contract-code` embeds.
#[must_use]
pub fn artifacts_dir() -> PathBuf {
    contracts_workspace().join("code/wasm")
}

/// The module cargo built for `contract` in `target_dir`.
///
/// # Errors
/// It cannot be read (not built yet).
pub fn built_module(target_dir: &Path, contract: &Contract) -> Result<Vec<u8>, BuildError> {
    let path = output_dir(target_dir).join(contract.wasm_file());
    std::fs::read(&path).map_err(|source| BuildError::Io { path, source })
}

/// The contracts whose checked-in module in `artifacts` differs from (or
/// lacks) what was built in `target_dir`.
///
/// # Errors
/// A built module cannot be read.
pub fn stale_artifacts(
    target_dir: &Path,
    artifacts: &Path,
) -> Result<Vec<&'static Contract>, BuildError> {
    let mut stale = Vec::new();
    for contract in CONTRACTS {
        let built = built_module(target_dir, contract)?;
        let checked_in = std::fs::read(artifacts.join(contract.wasm_file())).ok();
        if checked_in.as_deref() != Some(built.as_slice()) {
            stale.push(contract);
        }
    }
    Ok(stale)
}

/// Copies every module built in `target_dir` to `artifacts`.
///
/// # Errors
/// A module cannot be read or written.
pub fn write_artifacts(target_dir: &Path, artifacts: &Path) -> Result<(), BuildError> {
    for contract in CONTRACTS {
        let built = built_module(target_dir, contract)?;
        let path = artifacts.join(contract.wasm_file());
        std::fs::write(&path, built).map_err(|source| BuildError::Io { path, source })?;
    }
    Ok(())
}

/// The command that refreshes the checked-in modules.
pub const REFRESH_COMMAND: &str =
    "cargo run -p pond-contract-build --bin pond-contract-sizes -- --write";

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
    ensure_toolchain(workspace)?;
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

/// Adds the `rust-src` component and the wasm target to the toolchain
/// that builds in `workspace` when they are missing, saying so: rustup
/// installs a toolchain file's components only with the toolchain itself,
/// so a machine whose stable toolchain predates the checkout lacks them.
///
/// # Errors
/// A missing piece that rustup cannot add.
pub fn ensure_toolchain(workspace: &Path) -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(workspace)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let Some(sysroot) = sysroot else {
        // No rustc to ask: cargo will say what is wrong.
        return Ok(());
    };
    let rustlib = sysroot.join("lib/rustlib");
    let needs = [
        (
            "the rust-src component (to rebuild std for WebAssembly)",
            rustlib.join("src/rust/library/Cargo.lock"),
            vec!["component", "add", "rust-src"],
        ),
        (
            "the wasm32-unknown-unknown target",
            rustlib.join(WASM_TARGET).join("lib"),
            vec!["target", "add", WASM_TARGET],
        ),
    ];
    for (missing, present_at, args) in needs {
        if present_at.exists() {
            continue;
        }
        let command = format!("rustup {}", args.join(" "));
        eprintln!("pond-contract-build: installing {missing}: `{command}` …");
        let status = Command::new("rustup")
            .args(&args)
            .current_dir(workspace)
            .status();
        let reason = match status {
            Ok(status) if status.success() => continue,
            Ok(status) => format!("rustup exited with {status}"),
            Err(error) => format!("cannot run rustup: {error}"),
        };
        return Err(BuildError::Toolchain {
            missing,
            command,
            reason,
        });
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
    CONTRACTS
        .iter()
        .map(|contract| {
            let wasm = built_module(target_dir, contract)?;
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
    }
}
