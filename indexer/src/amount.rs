//! How uint256 values (amounts, ids) are stored: zero-padded 78-digit
//! decimal text, so that text order is numeric order in both backends and
//! keyset pagination and range filters work on indexed columns.

pub use alloy::primitives::U256;

/// Digits of the largest uint256.
pub const WIDTH: usize = 78;

/// The stored form of `value`.
#[must_use]
pub fn encode(value: U256) -> String {
    format!("{value:0>WIDTH$}")
}

/// The value of a stored string (also accepts unpadded decimal).
///
/// # Errors
/// Not a decimal uint256.
pub fn decode(text: &str) -> Result<U256, alloy::primitives::ruint::ParseError> {
    U256::from_str_radix(text, 10)
}

/// The plain decimal form (no padding) of a stored string.
#[must_use]
pub fn plain(text: &str) -> String {
    let trimmed = text.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_numeric_order() {
        let values = [
            U256::ZERO,
            U256::from(9),
            U256::from(10),
            U256::from(1_000_000),
            U256::MAX,
        ];
        let encoded: Vec<String> = values.iter().map(|v| encode(*v)).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted);
        for (value, text) in values.iter().zip(&encoded) {
            assert_eq!(text.len(), WIDTH);
            assert_eq!(decode(text).ok(), Some(*value));
        }
        assert_eq!(plain(&encode(U256::from(42))), "42");
        assert_eq!(plain(&encode(U256::ZERO)), "0");
    }
}
