//! Renders each Pond contract's Solidity interface for `contracts/abi/`.
//!
//! The Stylus SDK's export covers a contract's own functions and errors.
//! It omits the functions of the OpenZeppelin interfaces a contract
//! implements (`#[implements]`), all events, and the definitions of struct
//! parameters; those are appended here — the OpenZeppelin parts from the
//! standard snippets in `src/standard/`, the events from each contract's
//! own `events.sol` (the same file the contract compiles its events from).
//! The result is one self-contained interface per contract that alloy's
//! `sol!` reads directly, which is how the off-chain crates get bindings.

use core::{fmt, marker::PhantomData};
use std::{
    fs,
    path::{Path, PathBuf},
};

use stylus_sdk::abi::GenerateAbi;

/// Standard interface snippets a contract may implement.
#[derive(Clone, Copy, Debug)]
pub enum Standard {
    /// OpenZeppelin `Ownable`.
    Ownable,
    /// OpenZeppelin `Pausable`.
    Pausable,
    /// OpenZeppelin `Nonces`.
    Nonces,
    /// ERC-20.
    Erc20,
    /// EIP-2612 permit.
    Erc20Permit,
}

impl Standard {
    fn snippet(self) -> &'static str {
        match self {
            Standard::Ownable => include_str!("standard/ownable.sol"),
            Standard::Pausable => include_str!("standard/pausable.sol"),
            Standard::Nonces => include_str!("standard/nonces.sol"),
            Standard::Erc20 => include_str!("standard/erc20.sol"),
            Standard::Erc20Permit => include_str!("standard/erc20_permit.sol"),
        }
    }
}

/// One contract's exported interface.
pub struct Export {
    /// File name under `contracts/abi/`, e.g. `Market.sol`.
    pub file: &'static str,
    sdk_interface: fn(&mut fmt::Formatter<'_>) -> fmt::Result,
    standards: &'static [Standard],
    events: &'static str,
}

struct Sdk(fn(&mut fmt::Formatter<'_>) -> fmt::Result);

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

fn sdk<T: GenerateAbi>(_: PhantomData<T>) -> fn(&mut fmt::Formatter<'_>) -> fmt::Result {
    T::fmt_abi
}

/// Every contract's export, in deployment order.
#[must_use]
pub fn exports() -> Vec<Export> {
    use Standard::*;
    vec![
        Export {
            file: "PondToken.sol",
            sdk_interface: sdk(PhantomData::<pond_token::PondToken>),
            standards: &[Erc20, Nonces, Erc20Permit, Ownable],
            events: "",
        },
        Export {
            file: "Vault.sol",
            sdk_interface: sdk(PhantomData::<pond_vault::Vault>),
            standards: &[],
            events: include_str!("../../vault/src/events.sol"),
        },
        Export {
            file: "Registry.sol",
            sdk_interface: sdk(PhantomData::<pond_registry::Registry>),
            standards: &[],
            events: include_str!("../../registry/src/events.sol"),
        },
        Export {
            file: "OfferBook.sol",
            sdk_interface: sdk(PhantomData::<pond_offers::OfferBook>),
            standards: &[],
            events: include_str!("../../offers/src/events.sol"),
        },
        Export {
            file: "Market.sol",
            sdk_interface: sdk(PhantomData::<pond_market::Market>),
            standards: &[Pausable],
            events: include_str!("../../market/src/events.sol"),
        },
        Export {
            file: "Deals.sol",
            sdk_interface: sdk(PhantomData::<pond_deals::Deals>),
            standards: &[],
            events: include_str!("../../deals/src/events.sol"),
        },
        Export {
            file: "Mediation.sol",
            sdk_interface: sdk(PhantomData::<pond_mediation::Mediation>),
            standards: &[],
            events: include_str!("../../mediation/src/events.sol"),
        },
        Export {
            file: "BlockHashBeacon.sol",
            sdk_interface: sdk(PhantomData::<pond_beacon::BlockHashBeacon>),
            standards: &[],
            events: "",
        },
        Export {
            file: "JobRelay.sol",
            sdk_interface: sdk(PhantomData::<pond_relay::JobRelay>),
            standards: &[Nonces],
            events: include_str!("../../relay/src/events.sol"),
        },
        Export {
            file: "Timelock.sol",
            sdk_interface: sdk(PhantomData::<pond_timelock::Timelock>),
            standards: &[],
            events: include_str!("../../timelock/src/events.sol"),
        },
    ]
}

/// The body of the first `interface … { … }` in `source`, without comments.
fn interface_body(source: &str) -> String {
    let (Some(open), Some(close)) = (source.find('{'), source.rfind('}')) else {
        return String::new();
    };
    source[open + 1..close]
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .map(|line| format!("    {line}\n"))
        .collect()
}

impl Export {
    /// The complete file text.
    #[must_use]
    pub fn render(&self) -> String {
        let sdk = Sdk(self.sdk_interface).to_string();
        let open = sdk.find('{').unwrap_or(sdk.len());
        let name = sdk[..open].trim();
        let mut body: Vec<String> = interface_body(&sdk)
            .lines()
            .map(|line| format!("{line}\n"))
            .collect();
        for standard in self.standards {
            body.extend(
                standard
                    .snippet()
                    .lines()
                    .map(|line| format!("    {}\n", line.trim())),
            );
        }
        body.extend(
            interface_body(self.events)
                .lines()
                .map(|line| format!("{line}\n")),
        );
        // Errors shared by several sources appear once.
        let mut seen = std::collections::HashSet::new();
        body.retain(|line| !line.trim_start().starts_with("error ") || seen.insert(line.clone()));
        let uses_structs = body
            .iter()
            .any(|l| l.contains("Hardware") || l.contains("JobSpec") || l.contains("PermitData"));
        let mut out = String::new();
        out.push_str("// SPDX-License-Identifier: MIT\n");
        out.push_str("// Generated by `cargo run -p pond-abi-export`; do not edit by hand.\n");
        out.push_str("pragma solidity ^0.8.23;\n\n");
        if uses_structs {
            out.push_str(include_str!("standard/structs.sol"));
            out.push('\n');
        }
        out.push_str(name);
        out.push_str(" {\n");
        for line in body {
            out.push_str(&line);
        }
        out.push_str("}\n");
        out
    }
}

/// Where the exported files live: `contracts/abi/`.
#[must_use]
pub fn abi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../abi")
}

/// The files whose checked-in text differs from a fresh export.
#[must_use]
pub fn stale_files(dir: &Path) -> Vec<&'static str> {
    exports()
        .into_iter()
        .filter(|export| {
            fs::read_to_string(dir.join(export.file)).ok().as_deref()
                != Some(export.render().as_str())
        })
        .map(|export| export.file)
        .collect()
}

/// Writes every export into `dir`.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for export in exports() {
        fs::write(dir.join(export.file), export.render())?;
    }
    Ok(())
}
