//! `Vault`: Pond's escrow.
//!
//! Holds every token the protocol holds. Each account has an `available`
//! balance (free to withdraw) and a `locked` balance (committed to a job,
//! a deal's collateral, a validator's stake or a mediation fee). Only the
//! protocol's own contracts — wired once in [`Vault::initialize`] — can
//! lock, unlock, move or slash locked funds; tokens leave the vault only
//! through `withdraw`, pulled by the account itself.
//!
//! Invariant: `token.balanceOf(vault) == totalAvailable + totalLocked`,
//! where the totals are the sums over all accounts. Deposits credit what
//! the vault actually received, so the invariant holds even for tokens
//! that charge a fee on transfer.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![no_std]
// The SDK's generated `user_entrypoint` has no doc comment; docs are checked natively.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]
extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::{vec, vec::Vec};

use alloy_primitives::{Address, B256, U256};
use openzeppelin_stylus::token::erc20::utils::safe_erc20::{ISafeErc20, SafeErc20};
use pond_common::{
    errors as shared,
    interfaces::{bubble, IPaymentToken, Revert},
};
use stylus_sdk::{
    prelude::*,
    storage::{StorageAddress, StorageBool, StorageMap, StorageU256},
};

mod events {
    #![allow(missing_docs)]
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        "src/events.sol"
    );
}
pub use events::IVaultEvents::*;

mod errors {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        /// An amount of zero was given.
        #[derive(Debug)]
        error ZeroAmount();
        /// `account` has less available than `requested`.
        #[derive(Debug)]
        error InsufficientAvailable(address account, uint256 requested, uint256 available);
        /// `account` has less locked than `requested`.
        #[derive(Debug)]
        error InsufficientLocked(address account, uint256 requested, uint256 locked);
        /// The token refused a transfer.
        #[derive(Debug)]
        error TokenTransferFailed(address token);
        /// The token transferred nothing.
        #[derive(Debug)]
        error NothingReceived();
        /// `initialize` was given more protocol contracts than allowed.
        #[derive(Debug)]
        error TooManyProtocolContracts();
        /// A balance would exceed `uint256`.
        #[derive(Debug)]
        error BalanceOverflow();
        /// The token refused the permit, and the caller is not `owner`:
        /// only a working permit lets someone else move `owner`'s tokens.
        #[derive(Debug)]
        error PermitFailed(address owner);
    }
}
pub use errors::*;
pub use pond_common::errors::{AlreadyInitialized, UnauthorizedCaller, ZeroAddress};

/// Most protocol contracts the vault accepts at initialization.
pub const MAX_PROTOCOL_CONTRACTS: usize = 8;

/// Everything the vault can revert with.
#[derive(SolidityError, Debug)]
pub enum VaultError {
    /// See [`AlreadyInitialized`].
    AlreadyInitialized(AlreadyInitialized),
    /// See [`ZeroAddress`].
    ZeroAddress(ZeroAddress),
    /// See [`ZeroAmount`].
    ZeroAmount(ZeroAmount),
    /// See [`InsufficientAvailable`].
    InsufficientAvailable(InsufficientAvailable),
    /// See [`InsufficientLocked`].
    InsufficientLocked(InsufficientLocked),
    /// See [`UnauthorizedCaller`].
    UnauthorizedCaller(UnauthorizedCaller),
    /// See [`TokenTransferFailed`].
    TokenTransferFailed(TokenTransferFailed),
    /// See [`NothingReceived`].
    NothingReceived(NothingReceived),
    /// See [`TooManyProtocolContracts`].
    TooManyProtocolContracts(TooManyProtocolContracts),
    /// See [`BalanceOverflow`].
    BalanceOverflow(BalanceOverflow),
    /// See [`PermitFailed`].
    PermitFailed(PermitFailed),
}

/// The vault's result type: its own errors or a token's revert data.
pub type VaultResult<T> = Result<T, Revert<VaultError>>;

fn own<T>(error: impl Into<VaultError>) -> VaultResult<T> {
    Err(Revert::Own(error.into()))
}

/// The vault's storage.
#[cfg_attr(target_arch = "wasm32", entrypoint)]
#[storage]
pub struct Vault {
    initialized: StorageBool,
    token: StorageAddress,
    treasury: StorageAddress,
    /// The protocol's own contracts, fixed at initialization.
    protocol: StorageMap<Address, StorageBool>,
    available: StorageMap<Address, StorageU256>,
    locked: StorageMap<Address, StorageU256>,
    total_available: StorageU256,
    total_locked: StorageU256,
    /// The governance timelock: the only account that sets parameters.
    governor: StorageAddress,
    safe_erc20: SafeErc20,
}

#[cfg(not(target_arch = "wasm32"))]
// SAFETY: natively (tests, ABI export) the type is a contract's top-level storage.
unsafe impl TopLevelStorage for Vault {}

#[public]
impl Vault {
    /// The governance timelock, the only account that sets parameters.
    pub fn governor(&self) -> Address {
        self.governor.get()
    }

    /// Wires the vault to its token, treasury and the protocol's own
    /// contracts (at most [`MAX_PROTOCOL_CONTRACTS`]), and sets the governor (the timelock).
    /// Runs once, right after deployment.
    ///
    /// # Errors
    /// [`AlreadyInitialized`] on a second call; [`ZeroAddress`] if any
    /// address is zero; [`TooManyProtocolContracts`] for a longer list.
    pub fn initialize(
        &mut self,
        token: Address,
        treasury: Address,
        protocol_contracts: Vec<Address>,
        governor: Address,
    ) -> VaultResult<()> {
        pond_common::deployer::only_deployer(self.vm()).map_err(|e| Revert::Own(e.into()))?;
        if self.initialized.get() {
            return own(AlreadyInitialized {});
        }
        if protocol_contracts.len() > MAX_PROTOCOL_CONTRACTS {
            return own(TooManyProtocolContracts {});
        }
        if [token, treasury, governor]
            .iter()
            .chain(&protocol_contracts)
            .any(|address| address.is_zero())
        {
            return own(ZeroAddress {});
        }
        self.initialized.set(true);
        self.token.set(token);
        self.treasury.set(treasury);
        for contract in &protocol_contracts {
            self.protocol.setter(*contract).set(true);
        }
        self.governor.set(governor);
        log(
            self.vm(),
            VaultInitialized {
                token,
                treasury,
                protocolContracts: protocol_contracts,
            },
        );
        Ok(())
    }

    /// Deposits `amount` of the caller's tokens (approved to the vault)
    /// into the caller's available balance.
    ///
    /// # Errors
    /// Zero amount, a failed token transfer, or a balance overflow.
    pub fn deposit(&mut self, amount: U256) -> VaultResult<()> {
        let payer = self.vm().msg_sender();
        self.pull_and_credit(payer, payer, amount)
    }

    /// Deposits `amount` of the caller's tokens into `account`'s available balance.
    ///
    /// # Errors
    /// Zero address or amount, a failed token transfer, or a balance overflow.
    pub fn deposit_for(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        let payer = self.vm().msg_sender();
        self.pull_and_credit(payer, account, amount)
    }

    /// Deposits `amount` from `owner` using an EIP-2612 permit signed by
    /// `owner` for the vault; anyone (e.g. a relayer) may submit it. The
    /// funds are credited to `owner`. Someone other than `owner` moves
    /// `owner`'s tokens only through a permit the token accepts in this
    /// call: an existing allowance is never used on a stranger's behalf (a
    /// junk signature must not sweep an approved wallet). `owner` itself
    /// may fall back on its allowance (e.g. its permit was front-run).
    ///
    /// # Errors
    /// [`PermitFailed`] when the token refuses the permit and the caller is
    /// not `owner`; zero address or amount, a failed token transfer, or a
    /// balance overflow.
    #[allow(clippy::too_many_arguments)]
    pub fn deposit_with_permit(
        &mut self,
        owner: Address,
        amount: U256,
        deadline: U256,
        v: u8,
        r: B256,
        s: B256,
    ) -> VaultResult<()> {
        let token = IPaymentToken::new(self.token.get());
        let vault = self.vm().contract_address();
        let permitted = token
            .permit(&mut *self, owner, vault, amount, deadline, v, r, s)
            .is_ok();
        if !permitted && self.vm().msg_sender() != owner {
            return own(PermitFailed { owner });
        }
        self.pull_and_credit(owner, owner, amount)
    }

    /// Withdraws `amount` of the caller's available balance to the caller.
    ///
    /// # Errors
    /// Zero amount, insufficient available balance, or a failed token transfer.
    pub fn withdraw(&mut self, amount: U256) -> VaultResult<()> {
        if amount.is_zero() {
            return own(ZeroAmount {});
        }
        let account = self.vm().msg_sender();
        // Effects before the token interaction.
        self.debit_available(account, amount)?;
        let token = self.token.get();
        self.safe_erc20
            .safe_transfer(token, account, amount)
            .map_err(|_| Revert::Own(TokenTransferFailed { token }.into()))?;
        log(self.vm(), Withdrawn { account, amount });
        Ok(())
    }

    /// Moves `amount` of `account`'s available balance to locked. Protocol only.
    ///
    /// # Errors
    /// Unauthorized caller, zero amount, or insufficient available balance.
    pub fn lock(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        self.only_protocol(amount)?;
        self.debit_available(account, amount)?;
        self.credit_locked(account, amount)?;
        log(self.vm(), Locked { account, amount });
        Ok(())
    }

    /// Moves `amount` of `account`'s locked balance back to available. Protocol only.
    ///
    /// # Errors
    /// Unauthorized caller, zero amount, or insufficient locked balance.
    pub fn unlock(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        self.only_protocol(amount)?;
        self.debit_locked(account, amount)?;
        self.credit_available(account, amount)?;
        log(self.vm(), Unlocked { account, amount });
        Ok(())
    }

    /// Pays `amount` of `from`'s locked balance into `to`'s available balance
    /// (a settlement: price, fee, reward, compensation). Protocol only.
    ///
    /// # Errors
    /// Unauthorized caller, zero amount or address, or insufficient locked balance.
    pub fn transfer_locked(&mut self, from: Address, to: Address, amount: U256) -> VaultResult<()> {
        self.move_locked(from, to, amount)?;
        log(self.vm(), LockedTransferred { from, to, amount });
        Ok(())
    }

    /// Like [`Vault::transfer_locked`], recorded as a penalty on `from`. Protocol only.
    ///
    /// # Errors
    /// Unauthorized caller, zero amount or address, or insufficient locked balance.
    pub fn slash(&mut self, from: Address, to: Address, amount: U256) -> VaultResult<()> {
        self.move_locked(from, to, amount)?;
        log(self.vm(), Slashed { from, to, amount });
        Ok(())
    }

    /// Changes the account that collects protocol fees. Governor only.
    ///
    /// # Errors
    /// Not the governor, or a zero address.
    pub fn set_treasury(&mut self, treasury: Address) -> VaultResult<()> {
        shared::only_caller(self.vm().msg_sender(), self.governor.get())
            .map_err(|e| Revert::Own(e.into()))?;
        if treasury.is_zero() {
            return own(ZeroAddress {});
        }
        let previous = self.treasury.get();
        self.treasury.set(treasury);
        log(
            self.vm(),
            TreasuryChanged {
                previous,
                current: treasury,
            },
        );
        Ok(())
    }

    /// `account`'s available balance.
    pub fn available_of(&self, account: Address) -> U256 {
        self.available.get(account)
    }

    /// `account`'s locked balance.
    pub fn locked_of(&self, account: Address) -> U256 {
        self.locked.get(account)
    }

    /// Sum of all available balances.
    pub fn total_available(&self) -> U256 {
        self.total_available.get()
    }

    /// Sum of all locked balances.
    pub fn total_locked(&self) -> U256 {
        self.total_locked.get()
    }

    /// The account that collects protocol fees.
    pub fn treasury(&self) -> Address {
        self.treasury.get()
    }

    /// The escrowed token.
    pub fn token(&self) -> Address {
        self.token.get()
    }

    /// Whether `account` is one of the protocol's own contracts.
    pub fn is_protocol_contract(&self, account: Address) -> bool {
        self.protocol.get(account)
    }
}

impl Vault {
    fn only_protocol(&self, amount: U256) -> VaultResult<()> {
        let caller = self.vm().msg_sender();
        if !self.protocol.get(caller) {
            return own(UnauthorizedCaller { caller });
        }
        if amount.is_zero() {
            return own(ZeroAmount {});
        }
        Ok(())
    }

    fn move_locked(&mut self, from: Address, to: Address, amount: U256) -> VaultResult<()> {
        self.only_protocol(amount)?;
        if to.is_zero() {
            return own(ZeroAddress {});
        }
        self.debit_locked(from, amount)?;
        self.credit_available(to, amount)
    }

    /// Pulls `amount` from `payer` and credits what actually arrived to `account`.
    fn pull_and_credit(
        &mut self,
        payer: Address,
        account: Address,
        amount: U256,
    ) -> VaultResult<()> {
        if amount.is_zero() {
            return own(ZeroAmount {});
        }
        if account.is_zero() {
            return own(ZeroAddress {});
        }
        let token = self.token.get();
        let vault = self.vm().contract_address();
        let before = self.token_balance(token, vault)?;
        self.safe_erc20
            .safe_transfer_from(token, payer, vault, amount)
            .map_err(|_| Revert::Own(TokenTransferFailed { token }.into()))?;
        let after = self.token_balance(token, vault)?;
        let received = after.checked_sub(before).unwrap_or_default();
        if received.is_zero() {
            return own(NothingReceived {});
        }
        self.credit_available(account, received)?;
        log(
            self.vm(),
            Deposited {
                account,
                payer,
                amount: received,
            },
        );
        Ok(())
    }

    fn token_balance(&mut self, token: Address, owner: Address) -> VaultResult<U256> {
        IPaymentToken::new(token)
            .balance_of(&*self, owner)
            .map_err(bubble)
    }

    fn debit_available(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        let available = self.available.get(account);
        let Some(rest) = available.checked_sub(amount) else {
            return own(InsufficientAvailable {
                account,
                requested: amount,
                available,
            });
        };
        self.available.setter(account).set(rest);
        // Σ available ≥ this account's available ≥ amount.
        let total = self.total_available.get();
        self.total_available.set(total.saturating_sub(amount));
        Ok(())
    }

    fn credit_available(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        let total = checked_add(self.total_available.get(), amount)?;
        let balance = checked_add(self.available.get(account), amount)?;
        self.available.setter(account).set(balance);
        self.total_available.set(total);
        Ok(())
    }

    fn debit_locked(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        let locked = self.locked.get(account);
        let Some(rest) = locked.checked_sub(amount) else {
            return own(InsufficientLocked {
                account,
                requested: amount,
                locked,
            });
        };
        self.locked.setter(account).set(rest);
        let total = self.total_locked.get();
        self.total_locked.set(total.saturating_sub(amount));
        Ok(())
    }

    fn credit_locked(&mut self, account: Address, amount: U256) -> VaultResult<()> {
        let total = checked_add(self.total_locked.get(), amount)?;
        let balance = checked_add(self.locked.get(account), amount)?;
        self.locked.setter(account).set(balance);
        self.total_locked.set(total);
        Ok(())
    }
}

fn checked_add(a: U256, b: U256) -> VaultResult<U256> {
    a.checked_add(b)
        .ok_or(Revert::Own(BalanceOverflow {}.into()))
}
