//! The revert catalogue: any revert data a Pond contract returns, decoded
//! into the named custom error of the contract that declares it.
//!
//! Pond's contracts bubble a nested call's revert data up unchanged, so a
//! `Market.postJob` that fails in the vault reverts with the vault's
//! `InsufficientAvailable`: the selector, not the called address, says
//! which contract raised it. A few errors (`UnauthorizedCaller`,
//! `ZeroAddress`, …) are declared by several contracts with the same
//! signature; they are attributed to the called contract when it declares
//! them, else to the first declaring contract in deployment order.

use std::{collections::HashMap, fmt, sync::OnceLock};

use alloy::{
    dyn_abi::{DynSolValue, ErrorExt},
    json_abi::{Error as AbiError, JsonAbi},
    primitives::Selector,
};

use crate::abi;

/// One argument of a decoded custom error.
#[derive(Clone, Debug, PartialEq)]
pub struct RevertArg {
    /// The parameter's name in the interface (empty when unnamed).
    pub name: String,
    /// The decoded value.
    pub value: DynSolValue,
}

/// A revert decoded into a Pond contract's custom error.
#[derive(Clone, Debug, PartialEq)]
pub struct PondRevert {
    /// The contract that declares the error (`Vault`).
    pub contract: &'static str,
    /// The error's name (`InsufficientAvailable`).
    pub error: String,
    /// Its arguments, in order.
    pub args: Vec<RevertArg>,
}

impl PondRevert {
    /// Decodes `data` (a revert's return data), preferring the errors of
    /// `called` (the contract the transaction or call went to, by name)
    /// when several contracts declare the same selector. `None` when the
    /// data is no Pond custom error (too short, unknown selector, or
    /// arguments that do not decode).
    #[must_use]
    pub fn decode(data: &[u8], called: Option<&str>) -> Option<Self> {
        let selector = Selector::try_from(data.get(..4)?).ok()?;
        let declared = catalogue().get(&selector)?;
        let (contract, error) = declared
            .iter()
            .find(|(contract, _)| Some(*contract) == called)
            .or_else(|| declared.first())?;
        let decoded = error.decode_error(data).ok()?;
        let args = error
            .inputs
            .iter()
            .zip(decoded.body)
            .map(|(param, value)| RevertArg {
                name: param.name.clone(),
                value,
            })
            .collect();
        Some(Self {
            contract,
            error: error.name.clone(),
            args,
        })
    }
}

impl fmt::Display for PondRevert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}(", self.contract, self.error)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if !arg.name.is_empty() {
                write!(f, "{}: ", arg.name)?;
            }
            write_value(f, &arg.value)?;
        }
        f.write_str(")")
    }
}

/// Writes a value as a person reads it: integers in decimal, addresses
/// checksummed, bytes in hex, strings quoted.
fn write_value(f: &mut fmt::Formatter<'_>, value: &DynSolValue) -> fmt::Result {
    match value {
        DynSolValue::Bool(b) => write!(f, "{b}"),
        DynSolValue::Int(i, _) => write!(f, "{i}"),
        DynSolValue::Uint(u, _) => write!(f, "{u}"),
        DynSolValue::FixedBytes(word, size) => {
            write!(f, "{}", alloy::hex::encode_prefixed(&word[..*size]))
        }
        DynSolValue::Address(a) => write!(f, "{a}"),
        DynSolValue::Function(function) => write!(f, "{function}"),
        DynSolValue::Bytes(bytes) => write!(f, "{}", alloy::hex::encode_prefixed(bytes)),
        DynSolValue::String(s) => write!(f, "{s:?}"),
        DynSolValue::Array(items)
        | DynSolValue::FixedArray(items)
        | DynSolValue::Tuple(items)
        | DynSolValue::CustomStruct { tuple: items, .. } => {
            let (open, close) = if matches!(
                value,
                DynSolValue::Tuple(_) | DynSolValue::CustomStruct { .. }
            ) {
                ("(", ")")
            } else {
                ("[", "]")
            };
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, item)?;
            }
            f.write_str(close)
        }
    }
}

/// Every contract's name and JSON ABI, in deployment order.
fn abis() -> [(&'static str, JsonAbi); 10] {
    [
        ("PondToken", abi::token::IPondToken::abi::contract()),
        ("Vault", abi::vault::IVault::abi::contract()),
        ("Registry", abi::registry::IRegistry::abi::contract()),
        ("OfferBook", abi::offers::IOfferBook::abi::contract()),
        ("Market", abi::market::IMarket::abi::contract()),
        ("Deals", abi::deals::IDeals::abi::contract()),
        ("Mediation", abi::mediation::IMediation::abi::contract()),
        (
            "BlockHashBeacon",
            abi::beacon::IBlockHashBeacon::abi::contract(),
        ),
        ("JobRelay", abi::relay::IJobRelay::abi::contract()),
        ("Timelock", abi::timelock::ITimelock::abi::contract()),
    ]
}

/// Selector → every (contract, error) that declares it, in deployment
/// order.
fn catalogue() -> &'static HashMap<Selector, Vec<(&'static str, AbiError)>> {
    static CATALOGUE: OnceLock<HashMap<Selector, Vec<(&'static str, AbiError)>>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut catalogue: HashMap<Selector, Vec<(&'static str, AbiError)>> = HashMap::new();
        for (contract, abi) in abis() {
            for error in abi.errors() {
                catalogue
                    .entry(error.selector())
                    .or_default()
                    .push((contract, error.clone()));
            }
        }
        catalogue
    })
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{Address, U256},
        sol_types::SolError,
    };

    use super::*;
    use crate::{abi::vault::IVault, Contracts};

    #[test]
    fn a_vault_error_is_named_with_its_arguments_whoever_was_called() {
        let account = Address::repeat_byte(0xab);
        let data = IVault::InsufficientAvailable {
            _0: account,
            _1: U256::from(5_000_000),
            _2: U256::ZERO,
        }
        .abi_encode();
        // Bubbled up through Market.postJob: still the vault's error.
        let revert = PondRevert::decode(&data, Some("Market")).expect("a Pond error");
        assert_eq!(revert.contract, "Vault");
        assert_eq!(revert.error, "InsufficientAvailable");
        assert_eq!(revert.args.len(), 3);
        assert_eq!(revert.args[0].value, DynSolValue::Address(account));
        assert_eq!(
            revert.to_string(),
            format!("Vault.InsufficientAvailable({account}, 5000000, 0)")
        );
    }

    #[test]
    fn a_shared_error_is_the_called_contracts() {
        let data = IVault::UnauthorizedCaller(Address::repeat_byte(1)).abi_encode();
        let declared_by = |called| PondRevert::decode(&data, Some(called)).map(|r| r.contract);
        assert_eq!(declared_by("Deals"), Some("Deals"));
        assert_eq!(declared_by("Mediation"), Some("Mediation"));
        // Not declared by the called contract (or none named): the first
        // declaring contract in deployment order.
        assert_eq!(declared_by("PondToken"), Some("PondToken"));
        assert_eq!(declared_by("BlockHashBeacon"), Some("PondToken"));
        assert_eq!(
            PondRevert::decode(&data, None).map(|r| r.contract),
            Some("PondToken")
        );
    }

    #[test]
    fn every_contract_in_the_deployment_file_has_its_errors_catalogued() {
        let names: Vec<_> = Contracts::default()
            .named()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        let catalogued: Vec<_> = abis().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, catalogued);
        for (name, abi) in abis() {
            assert!(abi.errors().next().is_some(), "{name} declares no errors");
        }
    }

    #[test]
    fn data_that_is_no_pond_error_is_not_decoded() {
        assert_eq!(PondRevert::decode(&[], None), None);
        assert_eq!(PondRevert::decode(&[1, 2, 3], None), None);
        assert_eq!(PondRevert::decode(&[0xde, 0xad, 0xbe, 0xef], None), None);
        // Solidity's Error(string) is not a Pond error.
        assert_eq!(
            PondRevert::decode(&alloy::sol_types::Revert::from("no").abi_encode(), None),
            None
        );
        // A known selector with truncated arguments.
        let data = IVault::InsufficientAvailable {
            _0: Address::ZERO,
            _1: U256::from(1),
            _2: U256::from(2),
        }
        .abi_encode();
        assert_eq!(PondRevert::decode(&data[..40], None), None);
    }
}
