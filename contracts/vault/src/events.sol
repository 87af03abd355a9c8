// Events of the Vault. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface IVaultEvents {
    event VaultInitialized(address indexed token, address indexed treasury, address[] protocolContracts);
    event Deposited(address indexed account, address indexed payer, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Locked(address indexed account, uint256 amount);
    event Unlocked(address indexed account, uint256 amount);
    event LockedTransferred(address indexed from, address indexed to, uint256 amount);
    event Slashed(address indexed from, address indexed to, uint256 amount);
    event TreasuryChanged(address indexed previous, address indexed current);
}
