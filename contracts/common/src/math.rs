//! Checked arithmetic helpers. Nothing in Pond wraps: every overflow is an
//! error the caller turns into a revert.

use alloy_primitives::U256;

/// One whole in basis points.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// `amount * bps / 10_000`, rounded down; `None` on overflow.
#[must_use]
pub fn bps_of(amount: U256, bps: u64) -> Option<U256> {
    amount
        .checked_mul(U256::from(bps))
        .map(|scaled| div_small(scaled, BPS_DENOMINATOR))
}

/// `value / divisor` for a non-zero 64-bit divisor, rounded down; a zero
/// divisor gives zero. Long division over the four 64-bit limbs: far less
/// code in the contract than ruint's general 256-bit division.
#[must_use]
pub fn div_small(value: U256, divisor: u64) -> U256 {
    if divisor == 0 {
        return U256::ZERO;
    }
    let limbs = value.as_limbs();
    let divisor = u128::from(divisor);
    let mut quotient = [0u64; 4];
    let mut remainder: u128 = 0;
    for i in (0..4).rev() {
        let current = (remainder << 64) | u128::from(limbs[i]);
        // current < divisor * 2^64, so the quotient digit fits in 64 bits.
        quotient[i] = u64::try_from(current / divisor).unwrap_or(u64::MAX);
        remainder = current % divisor;
    }
    U256::from_limbs(quotient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bps_rounds_down_and_detects_overflow() {
        assert_eq!(bps_of(U256::from(1_000), 250), Some(U256::from(25)));
        assert_eq!(bps_of(U256::from(3), 5_000), Some(U256::from(1)));
        assert_eq!(bps_of(U256::from(7), 20_000), Some(U256::from(14)));
        assert_eq!(bps_of(U256::MAX, 2), None);
    }

    #[test]
    fn div_small_matches_full_division() {
        let samples = [
            U256::ZERO,
            U256::from(1),
            U256::from(9_999),
            U256::from(u64::MAX),
            U256::from(u128::MAX),
            U256::MAX,
            U256::MAX / U256::from(3),
        ];
        for value in samples {
            for divisor in [1u64, 2, 3, 7, 10_000, u64::MAX] {
                assert_eq!(div_small(value, divisor), value / U256::from(divisor));
            }
        }
        assert_eq!(div_small(U256::from(5), 0), U256::ZERO);
    }
}
