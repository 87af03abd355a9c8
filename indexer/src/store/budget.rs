//! A bound on what readers may hold: the bytes of stored values one
//! request's reads may take together, taken row by row as rows stream in
//! (so reads running side by side cannot each take the whole).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::StoreError;

/// Bytes a request's reads may still take (texts by length, other values
/// 8 bytes; see [`super::row_size`]).
#[derive(Debug)]
pub struct ReadBudget {
    limit: usize,
    left: AtomicUsize,
}

impl ReadBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            left: AtomicUsize::new(limit),
        }
    }

    /// The bytes it started with.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes still allowed.
    #[must_use]
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Relaxed)
    }

    /// Takes `bytes`.
    ///
    /// # Errors
    /// [`StoreError::TooLarge`] when fewer are left; the budget is then
    /// spent, so the request's other reads stop at their next row.
    pub fn take(&self, bytes: usize) -> Result<(), StoreError> {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            });
        match taken {
            Ok(_) => Ok(()),
            Err(_) => {
                self.left.store(0, Ordering::Relaxed);
                Err(StoreError::TooLarge { limit: self.limit })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_what_it_cannot_hold_and_is_then_spent() {
        let budget = ReadBudget::new(100);
        assert!(budget.take(60).is_ok());
        assert_eq!(budget.left(), 40);
        assert!(matches!(
            budget.take(41),
            Err(StoreError::TooLarge { limit: 100 })
        ));
        assert_eq!(budget.left(), 0);
        assert!(budget.take(1).is_err());
        assert!(budget.take(0).is_ok());
    }
}
