//! Custom errors every Pond contract can revert with, and the checks that
//! produce them. Each contract lists them in its own error enum, so they
//! appear in its exported interface.

use alloy_primitives::{Address, U256};

mod sol {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// `initialize` was called a second time.
        #[derive(Debug)]
        error AlreadyInitialized();
        /// The zero address was given where an account is required.
        #[derive(Debug)]
        error ZeroAddress();
        /// Only another Pond contract may call this function.
        #[derive(Debug)]
        error UnauthorizedCaller(address caller);
        /// A governed parameter outside its hard-coded bounds.
        #[derive(Debug)]
        error ParameterOutOfBounds(uint256 value, uint256 minimum, uint256 maximum);
        /// A value would overflow its type.
        #[derive(Debug)]
        error ArithmeticOverflow();
        /// A URI longer than `MAX_URI_BYTES`.
        #[derive(Debug)]
        error UriTooLong(uint256 length, uint256 maximum);
    }
}
pub use sol::*;

/// Checks `minimum ≤ value ≤ maximum`.
///
/// # Errors
/// [`ParameterOutOfBounds`] otherwise.
pub fn check_bounds(value: u64, minimum: u64, maximum: u64) -> Result<(), ParameterOutOfBounds> {
    if value < minimum || value > maximum {
        return Err(ParameterOutOfBounds {
            value: U256::from(value),
            minimum: U256::from(minimum),
            maximum: U256::from(maximum),
        });
    }
    Ok(())
}

/// Checks that `uri` is at most [`crate::MAX_URI_BYTES`] long.
///
/// # Errors
/// [`UriTooLong`] otherwise.
pub fn check_uri(uri: &str) -> Result<(), UriTooLong> {
    if uri.len() > crate::MAX_URI_BYTES {
        return Err(UriTooLong {
            length: U256::from(uri.len()),
            maximum: U256::from(crate::MAX_URI_BYTES),
        });
    }
    Ok(())
}

/// Checks that `caller` is `allowed` (a non-zero contract address).
///
/// # Errors
/// [`UnauthorizedCaller`] otherwise.
pub fn only_caller(caller: Address, allowed: Address) -> Result<(), UnauthorizedCaller> {
    if caller.is_zero() || caller != allowed {
        return Err(UnauthorizedCaller { caller });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_up_to_the_limit_are_accepted() {
        assert!(check_uri("").is_ok());
        assert!(check_uri(&"u".repeat(crate::MAX_URI_BYTES)).is_ok());
        let error = check_uri(&"u".repeat(crate::MAX_URI_BYTES + 1)).unwrap_err();
        assert_eq!(error.length, U256::from(crate::MAX_URI_BYTES + 1));
        assert_eq!(error.maximum, U256::from(crate::MAX_URI_BYTES));
    }

    #[test]
    fn bounds_are_inclusive() {
        assert!(check_bounds(5, 5, 9).is_ok());
        assert!(check_bounds(9, 5, 9).is_ok());
        let err = check_bounds(10, 5, 9).unwrap_err();
        assert_eq!(
            (err.value, err.minimum, err.maximum),
            (U256::from(10), U256::from(5), U256::from(9))
        );
        assert!(check_bounds(4, 5, 9).is_err());
    }

    #[test]
    fn only_caller_refuses_others_and_zero() {
        let market = Address::repeat_byte(1);
        assert!(only_caller(market, market).is_ok());
        assert_eq!(
            only_caller(Address::repeat_byte(2), market)
                .unwrap_err()
                .caller,
            Address::repeat_byte(2)
        );
        assert!(only_caller(Address::ZERO, Address::ZERO).is_err());
    }
}
