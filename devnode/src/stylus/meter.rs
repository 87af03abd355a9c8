//! What every program frame of one transaction shares: the WebAssembly
//! pages open across the call stack (Nitro's memory model) and, for calls
//! and estimates, a wall-clock deadline.
//!
//! **Memory.** As in Nitro, a transaction gets [`FREE_PAGES`] pages free;
//! each page beyond them costs [`PAGE_GAS`], plus an exponential term in
//! the most pages ever open at once, so that memory is cheap for normal
//! programs and ruinous near the limit; past [`PAGE_LIMIT`] pages (8 MiB)
//! open across all frames of the transaction, growth costs more gas than
//! exists. A frame's pages (its initial memory and what it grows) count
//! while it runs and are released when it returns. The exponential's
//! constants are this node's own approximation of Nitro's curve (its cost
//! doubles about every five pages); gas is approximate here, the limit is
//! exact.

use std::{
    sync::atomic::{AtomicBool, AtomicU16, Ordering::Relaxed},
    time::Instant,
};

/// Pages a transaction gets without charge.
pub const FREE_PAGES: u16 = 2;
/// Gas per page beyond the free ones.
pub const PAGE_GAS: u64 = 1_000;
/// Most WebAssembly pages (64 KiB each) open at once across a
/// transaction's program frames: 8 MiB.
pub const PAGE_LIMIT: u16 = 128;
/// Most program frames open at once in a transaction. Each open frame
/// holds a value stack; frames holding no memory page would otherwise be
/// bounded only by the call depth.
pub const MAX_FRAMES: u16 = 256;
/// Growth rate of the exponential term per page (e^0.135 ≈ 1.145).
const PAGE_RAMP: f64 = 0.135;

/// The shared state of one transaction's program frames.
#[derive(Debug, Default)]
pub struct TxMeter {
    // Atomics only to be shareable: one transaction runs on one thread.
    open: AtomicU16,
    ever: AtomicU16,
    frames: AtomicU16,
    deadline: Option<Instant>,
    timed_out: AtomicBool,
}

impl TxMeter {
    /// A meter whose programs stop at `deadline` (calls and estimates; a
    /// transaction has none: gas alone bounds it, the same on every node).
    #[must_use]
    pub fn with_deadline(deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..Self::default()
        }
    }

    /// Whether the deadline has passed (and records that it did).
    pub fn past_deadline(&self) -> bool {
        let past = self.deadline.is_some_and(|d| Instant::now() >= d);
        if past {
            self.timed_out.store(true, Relaxed);
        }
        past
    }

    /// Whether a program was stopped by the deadline.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Relaxed)
    }

    /// Gas for opening `pages` more pages now, or `None` when that would
    /// pass [`PAGE_LIMIT`].
    #[must_use]
    pub fn cost(&self, pages: u16) -> Option<u64> {
        memory_gas(pages, self.open.load(Relaxed), self.ever.load(Relaxed))
    }

    /// Opens `pages` more pages (after their cost was paid).
    pub fn open(&self, pages: u16) {
        let open = self.open.load(Relaxed).saturating_add(pages);
        self.open.store(open, Relaxed);
        self.ever.fetch_max(open, Relaxed);
    }

    /// Releases `pages` pages of a frame that returned.
    pub fn close(&self, pages: u16) {
        let open = self.open.load(Relaxed).saturating_sub(pages);
        self.open.store(open, Relaxed);
    }

    /// Opens a frame; `false` (and nothing opened) at [`MAX_FRAMES`].
    pub fn enter(&self) -> bool {
        self.frames
            .fetch_update(Relaxed, Relaxed, |n| (n < MAX_FRAMES).then_some(n + 1))
            .is_ok()
    }

    /// Closes a frame [`TxMeter::enter`] opened.
    pub fn leave(&self) {
        let _ = self
            .frames
            .fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(1)));
    }

    /// Pages open now.
    #[must_use]
    pub fn open_pages(&self) -> u16 {
        self.open.load(Relaxed)
    }
}

/// The gas for opening `new` pages while `open` are open and at most `ever`
/// have been: linear in the pages beyond the free ones, plus the growth of
/// the exponential term in the peak; `None` past [`PAGE_LIMIT`].
#[must_use]
pub fn memory_gas(new: u16, open: u16, ever: u16) -> Option<u64> {
    let new_open = open.saturating_add(new);
    let new_ever = ever.max(new_open);
    if new_ever > PAGE_LIMIT {
        return None;
    }
    if new_ever <= FREE_PAGES {
        return Some(0);
    }
    let paid = |pages: u16| u64::from(pages.saturating_sub(FREE_PAGES));
    let linear = paid(new_open).saturating_sub(paid(open)) * PAGE_GAS;
    Some(linear + exponential(new_ever) - exponential(ever))
}

fn exponential(pages: u16) -> u64 {
    // At most e^(128 × 0.135) ≈ 3.2e7: exact enough in f64, and monotonic.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let gas = (f64::from(pages) * PAGE_RAMP).exp() as u64;
    gas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_free_then_linear_then_steep_and_ends_at_the_limit() {
        assert_eq!(memory_gas(2, 0, 0), Some(0));
        let one_more = memory_gas(1, 2, 2).expect("within");
        assert!((PAGE_GAS..PAGE_GAS + 10).contains(&one_more), "{one_more}");
        // Re-opening pages below the peak costs only the linear part.
        assert_eq!(memory_gas(4, 0, 10), Some(2 * PAGE_GAS));
        let near_limit = memory_gas(8, 120, 120).expect("within");
        assert!(near_limit > 10_000_000, "{near_limit}");
        assert!(memory_gas(1, PAGE_LIMIT - 1, PAGE_LIMIT - 1).is_some());
        assert_eq!(memory_gas(1, PAGE_LIMIT, PAGE_LIMIT), None);
        assert_eq!(memory_gas(u16::MAX, 0, 0), None);
    }

    #[test]
    fn a_meter_counts_open_pages_across_frames() {
        let meter = TxMeter::default();
        meter.open(100);
        meter.open(28);
        assert_eq!(meter.cost(1), None, "the 129th page");
        meter.close(28);
        assert!(meter.cost(28).is_some(), "released pages can open again");
        assert_eq!(meter.open_pages(), 100);
    }

    #[test]
    fn a_meter_without_deadline_never_times_out() {
        assert!(!TxMeter::default().past_deadline());
        let meter = TxMeter::with_deadline(Instant::now());
        assert!(meter.past_deadline());
        assert!(meter.timed_out());
    }
}
