//! The protocol clock.
//!
//! On chain the clock is the block timestamp. Native unit tests (motsu) run
//! on a host whose timestamp is a constant, so native builds add a
//! thread-local offset that tests move forward with [`advance`]. The offset
//! does not exist in the WebAssembly build.

use stylus_sdk::prelude::BlockAccess;

/// Seconds since the Unix epoch, as the protocol sees them.
#[must_use]
pub fn now(host: &(impl BlockAccess + ?Sized)) -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        host.block_timestamp().saturating_add(test_offset::get())
    }
    #[cfg(target_arch = "wasm32")]
    {
        host.block_timestamp()
    }
}

/// Moves the native test clock forward by `seconds` (tests only).
#[cfg(not(target_arch = "wasm32"))]
pub fn advance(seconds: u64) {
    test_offset::add(seconds);
}

/// Resets the native test clock to the host's timestamp (tests only).
#[cfg(not(target_arch = "wasm32"))]
pub fn reset() {
    test_offset::set(0);
}

#[cfg(not(target_arch = "wasm32"))]
mod test_offset {
    use core::cell::Cell;

    std::thread_local! {
        static OFFSET: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn get() -> u64 {
        OFFSET.with(Cell::get)
    }

    pub(super) fn set(value: u64) {
        OFFSET.with(|offset| offset.set(value));
    }

    pub(super) fn add(seconds: u64) {
        OFFSET.with(|offset| offset.set(offset.get().saturating_add(seconds)));
    }
}
