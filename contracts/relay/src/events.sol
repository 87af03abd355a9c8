// Events of the JobRelay. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface IJobRelayEvents {
    event JobRelayInitialized(address indexed market, address indexed vault);
    event JobRelayed(uint256 indexed jobId, address indexed creator, address indexed relayer, uint256 nonce, uint256 permitAmount);
}
