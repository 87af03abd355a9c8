//! Code shared by Pond's Stylus contracts: the ABI struct types, the
//! cross-contract interfaces, the protocol clock and basis-point math.
//!
//! Only what more than one contract really needs lives here; each contract's
//! own storage, errors and events stay in its crate.
#![no_std]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod clock;
pub mod commitment;
pub mod deployer;
pub mod errors;
pub mod interfaces;
pub mod math;
pub mod types;

/// Shortest job a deal may run: 5 minutes. A deal's execution deadline is
/// its start plus the job's maximum duration, so this floor (and each
/// offer's own minimum, at least this) leaves a provider time to notice a
/// match and commit before a timeout can take its collateral.
pub const MIN_JOB_DURATION: u64 = 5 * 60;

/// Longest URI (a job's module or inputs, a result, a provider's
/// metadata) the contracts accept, in bytes: room for a presigned HTTPS
/// URL, while a URI can no longer carry the data itself (90 KB ones were
/// posted) into every indexer and API response.
pub const MAX_URI_BYTES: usize = 2048;

/// Pond's contracts are `no_std`; on WebAssembly a panic traps, which the
/// Stylus host turns into a failed call that rolls back every change.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
