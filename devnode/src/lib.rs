//! `pond-devnode`: a local Arbitrum Stylus chain in one Rust process.
//!
//! Built so far (the rest of the node follows in later work):
//! - [`hostio`]: every host import (`vm_hooks`, `console`) a Stylus
//!   program may use, with its WebAssembly signature;
//! - [`activation`]: the checks a module must pass before `activateProgram`
//!   accepts it, each refusal naming its reason;
//! - [`stylus`]: the executor — programs in wasmi with the host imports and
//!   Nitro's frame semantics, chain state behind the `StylusHost` trait;
//! - [`arbwasm`]: the ArbWasm precompile's logic (activation by code hash,
//!   data fee, keepalive, the views deployment tools read).
//!
//! Program code itself (prefix, compression, deployment init code) lives in
//! the `pond-stylus-code` crate next to this one.

pub mod accounts;
pub mod activation;
pub mod arbaggregator;
pub mod arbgasinfo;
pub mod arbinfo;
pub mod arbownerpublic;
pub mod arbretryabletx;
pub mod arbstatistics;
pub mod arbsys;
pub mod arbwasm;
pub mod chain;
pub mod deploy;
pub mod evm;
pub mod history;
pub mod hostio;
pub mod node;
pub mod nodeinterface;
pub mod precompile;
pub mod proof;
pub mod rpc;
pub mod signal;
pub mod state;
pub mod state_file;
pub mod stylus;
