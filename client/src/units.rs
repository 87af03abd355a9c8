//! Human units: token amounts with the token's decimals, and durations.

use alloy_primitives::U256;

/// A value a person typed that is not an amount or a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitError {
    /// Not a decimal number of tokens.
    #[error("{input:?} is not an amount: expected a decimal number of tokens such as 12.5")]
    NotAnAmount {
        /// What was given.
        input: String,
    },
    /// More fractional digits than the token has.
    #[error("{input:?} has more than {decimals} decimal places, the token's smallest unit")]
    TooPrecise {
        /// What was given.
        input: String,
        /// The token's decimals.
        decimals: u8,
    },
    /// Larger than a uint256.
    #[error("{input:?} is too large")]
    TooLarge {
        /// What was given.
        input: String,
    },
    /// Not a duration.
    #[error("{input:?} is not a duration: expected seconds or a number with s, m, h, d or w, such as 90m or 1h30m")]
    NotADuration {
        /// What was given.
        input: String,
    },
}

/// Parses a token amount (`12.5`, `0.000001`, `1000`) into the smallest
/// unit of a token with `decimals` decimals. Exact: no floating point.
///
/// # Errors
/// Not a non-negative decimal number, too many decimal places, or too
/// large.
pub fn parse_amount(input: &str, decimals: u8) -> Result<U256, UnitError> {
    let text = input.trim().replace('_', "");
    let not_an_amount = || UnitError::NotAnAmount {
        input: input.to_owned(),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(not_an_amount());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(UnitError::TooPrecise {
            input: input.to_owned(),
            decimals,
        });
    }
    let padded = format!(
        "{whole}{fraction}{}",
        "0".repeat(usize::from(decimals) - fraction.len())
    );
    let padded = padded.trim_start_matches('0');
    if padded.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str_radix(padded, 10).map_err(|_| UnitError::TooLarge {
        input: input.to_owned(),
    })
}

/// Formats `amount` (smallest units) as tokens with `decimals` decimals,
/// without trailing zeros: `12500000` with 6 decimals is `12.5`.
#[must_use]
pub fn format_amount(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let decimals = usize::from(decimals);
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Parses a duration into seconds: plain seconds (`3600`) or numbers with
/// units `s`, `m`, `h`, `d`, `w`, combined (`1h30m`, `2d`).
///
/// # Errors
/// Anything else, or a duration that overflows.
pub fn parse_duration(input: &str) -> Result<u64, UnitError> {
    let error = || UnitError::NotADuration {
        input: input.to_owned(),
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(error());
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        return text.parse().map_err(|_| error());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(error()),
        };
        let value: u64 = number.parse().map_err(|_| error())?;
        number.clear();
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(error)?;
    }
    if number.is_empty() {
        Ok(total)
    } else {
        Err(error())
    }
}

/// Formats seconds as the largest whole units (`5400` → `1h30m`).
#[must_use]
pub fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut left = seconds;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_in_the_smallest_unit() {
        let six = |s| parse_amount(s, 6);
        assert_eq!(six("12.5"), Ok(U256::from(12_500_000u64)));
        assert_eq!(six("0.000001"), Ok(U256::from(1u64)));
        assert_eq!(six("1000"), Ok(U256::from(1_000_000_000u64)));
        assert_eq!(six("1_000.50"), Ok(U256::from(1_000_500_000u64)));
        assert_eq!(six(".5"), Ok(U256::from(500_000u64)));
        assert_eq!(six("7."), Ok(U256::from(7_000_000u64)));
        assert_eq!(six("0"), Ok(U256::ZERO));
        assert_eq!(six("1.2300000"), Ok(U256::from(1_230_000u64)));
        assert_eq!(
            parse_amount("1", 18),
            Ok(U256::from(10u64).pow(U256::from(18)))
        );
        assert_eq!(parse_amount("5", 0), Ok(U256::from(5u64)));
    }

    #[test]
    fn bad_amounts_say_why() {
        for bad in ["", ".", "-1", "1e6", "12,5", "1.2.3", "abc", " 1 2"] {
            assert!(
                matches!(parse_amount(bad, 6), Err(UnitError::NotAnAmount { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_amount("0.0000001", 6),
            Err(UnitError::TooPrecise { decimals: 6, .. })
        ));
        let huge = "9".repeat(80);
        assert!(matches!(
            parse_amount(&huge, 6),
            Err(UnitError::TooLarge { .. })
        ));
        assert!(parse_amount("0.0000001", 6)
            .unwrap_err()
            .to_string()
            .contains("more than 6 decimal places"));
    }

    #[test]
    fn amounts_format_back_to_what_was_typed() {
        for text in ["12.5", "0.000001", "1000", "0", "123456789.123456"] {
            let amount = parse_amount(text, 6).expect("parses");
            assert_eq!(format_amount(amount, 6), text);
        }
        assert_eq!(format_amount(U256::from(5u64), 0), "5");
        assert_eq!(format_amount(U256::MAX, 18).len(), 79);
    }

    #[test]
    fn durations_in_seconds() {
        assert_eq!(parse_duration("3600"), Ok(3_600));
        assert_eq!(parse_duration("90m"), Ok(5_400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(
            parse_duration("1w2d3h4m5s"),
            Ok(604_800 + 172_800 + 10_800 + 240 + 5)
        );
        assert_eq!(format_duration(5_400), "1h30m");
        assert_eq!(format_duration(172_800), "2d");
        assert_eq!(format_duration(0), "0s");
        for bad in [
            "",
            "m",
            "90x",
            "1.5h",
            "-5m",
            "5m3",
            "h1",
            "99999999999999999999w",
        ] {
            assert!(
                matches!(parse_duration(bad), Err(UnitError::NotADuration { .. })),
                "{bad:?}"
            );
        }
    }
}
