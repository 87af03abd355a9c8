//! `PondToken`: the payment token of local and test deployments.
//!
//! An ERC-20 with EIP-2612 `permit` and owner-only minting, assembled from
//! OpenZeppelin's audited building blocks. Production deployments point the
//! protocol at an existing ERC-20 (e.g. USDC) instead.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![cfg_attr(not(any(test, feature = "export-abi")), no_std)]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;

// Linked for its WebAssembly panic handler.
use pond_common as _;

use alloc::{string::String, vec, vec::Vec};

use alloy_primitives::{Address, B256, U256};
use openzeppelin_stylus::{
    access::ownable::{self, IOwnable, Ownable},
    token::erc20::{
        extensions::{permit, Erc20Permit, IErc20Permit},
        Erc20, IErc20,
    },
    utils::{
        cryptography::eip712::IEip712,
        nonces::{INonces, Nonces},
    },
};
use stylus_sdk::{prelude::*, storage::StorageBool};

/// Token name; also the EIP-712 domain name of `permit`.
pub const NAME: &str = "Pond Test USD";
/// Token symbol.
pub const SYMBOL: &str = "pUSD";
/// Decimals, as USDC.
pub const DECIMALS: u8 = 6;

mod sol {
    alloy_sol_types::sol! {
        /// `initialize` was called a second time.
        #[derive(Debug)]
        error AlreadyInitialized();
        /// The zero address was given where an account is required.
        #[derive(Debug)]
        error ZeroAddress();
    }
}
pub use sol::*;

/// Everything `PondToken` can revert with.
#[derive(SolidityError, Debug)]
pub enum Error {
    /// See [`AlreadyInitialized`].
    AlreadyInitialized(AlreadyInitialized),
    /// See [`ZeroAddress`].
    ZeroAddress(ZeroAddress),
    /// Only the deployer initializes.
    UnauthorizedCaller(pond_common::errors::UnauthorizedCaller),
    /// Caller is not the owner.
    Unauthorized(ownable::OwnableUnauthorizedAccount),
    /// Owner cannot be the zero address.
    InvalidOwner(ownable::OwnableInvalidOwner),
}

impl From<ownable::Error> for Error {
    fn from(error: ownable::Error) -> Self {
        match error {
            ownable::Error::UnauthorizedAccount(e) => Error::Unauthorized(e),
            ownable::Error::InvalidOwner(e) => Error::InvalidOwner(e),
        }
    }
}

/// The token's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct PondToken {
    erc20: Erc20,
    ownable: Ownable,
    nonces: Nonces,
    permit: Erc20Permit<Eip712Domain>,
    initialized: StorageBool,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is used as a contract's top-level storage.
unsafe impl TopLevelStorage for PondToken {}

/// EIP-712 domain of `permit`.
#[storage]
pub struct Eip712Domain;

impl IEip712 for Eip712Domain {
    const NAME: &'static str = NAME;
    const VERSION: &'static str = "1";
}

#[public]
#[implements(IErc20<Error = permit::Error>, INonces, IErc20Permit<Error = permit::Error>, IOwnable)]
impl PondToken {
    /// Sets the owner, once. Called right after deployment.
    ///
    /// # Errors
    /// [`AlreadyInitialized`] on a second call, [`ZeroAddress`] for a zero owner.
    pub fn initialize(&mut self, owner: Address) -> Result<(), Error> {
        pond_common::deployer::only_deployer(self.vm()).map_err(Error::UnauthorizedCaller)?;
        if self.initialized.get() {
            return Err(AlreadyInitialized {}.into());
        }
        if owner.is_zero() {
            return Err(ZeroAddress {}.into());
        }
        self.initialized.set(true);
        self.ownable._transfer_ownership(owner);
        Ok(())
    }

    /// Mints `value` tokens to `account`; owner only.
    ///
    /// # Errors
    /// Not the owner, or a zero `account`.
    ///
    /// # Panics
    /// If the total supply would exceed `U256::MAX` (OpenZeppelin's checked add).
    pub fn mint(&mut self, account: Address, value: U256) -> Result<(), Error> {
        self.ownable.only_owner()?;
        if account.is_zero() {
            return Err(ZeroAddress {}.into());
        }
        // The receiver is non-zero, the only error `_mint` returns.
        self.erc20
            ._mint(account, value)
            .map_err(|_| ZeroAddress {}.into())
    }

    /// The token's name.
    pub fn name(&self) -> String {
        NAME.into()
    }

    /// The token's symbol.
    pub fn symbol(&self) -> String {
        SYMBOL.into()
    }

    /// The token's decimals.
    pub fn decimals(&self) -> u8 {
        DECIMALS
    }
}

#[public]
impl IErc20 for PondToken {
    type Error = permit::Error;

    fn total_supply(&self) -> U256 {
        self.erc20.total_supply()
    }

    fn balance_of(&self, account: Address) -> U256 {
        self.erc20.balance_of(account)
    }

    fn transfer(&mut self, to: Address, value: U256) -> Result<bool, Self::Error> {
        Ok(self.erc20.transfer(to, value)?)
    }

    fn allowance(&self, owner: Address, spender: Address) -> U256 {
        self.erc20.allowance(owner, spender)
    }

    fn approve(&mut self, spender: Address, value: U256) -> Result<bool, Self::Error> {
        Ok(self.erc20.approve(spender, value)?)
    }

    fn transfer_from(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
    ) -> Result<bool, Self::Error> {
        Ok(self.erc20.transfer_from(from, to, value)?)
    }
}

#[public]
impl INonces for PondToken {
    fn nonces(&self, owner: Address) -> U256 {
        self.nonces.nonces(owner)
    }
}

#[public]
impl IErc20Permit for PondToken {
    type Error = permit::Error;

    #[selector(name = "DOMAIN_SEPARATOR")]
    fn domain_separator(&self) -> B256 {
        self.permit.domain_separator()
    }

    fn permit(
        &mut self,
        owner: Address,
        spender: Address,
        value: U256,
        deadline: U256,
        v: u8,
        r: B256,
        s: B256,
    ) -> Result<(), Self::Error> {
        self.permit.permit(
            owner,
            spender,
            value,
            deadline,
            v,
            r,
            s,
            &mut self.erc20,
            &mut self.nonces,
        )
    }
}

#[public]
impl IOwnable for PondToken {
    fn owner(&self) -> Address {
        self.ownable.owner()
    }

    fn transfer_ownership(&mut self, new_owner: Address) -> Result<(), Vec<u8>> {
        Ok(self.ownable.transfer_ownership(new_owner)?)
    }

    fn renounce_ownership(&mut self) -> Result<(), Vec<u8>> {
        Ok(self.ownable.renounce_ownership()?)
    }
}
