// Events of the Timelock. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface ITimelockEvents {
    event TimelockInitialized(address indexed admin, uint64 delay);
    event CallScheduled(bytes32 indexed id, address indexed target, bytes data, bytes32 salt, uint64 readyAt);
    event CallCancelled(bytes32 indexed id);
    event CallExecuted(bytes32 indexed id, address indexed target);
    event EmergencyPause(address indexed target);
    event DelayChanged(uint64 delay);
    event AdminProposed(address indexed pendingAdmin);
    event AdminChanged(address indexed admin);
}
