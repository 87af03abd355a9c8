// Events of the Registry. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface IRegistryEvents {
    event RegistryInitialized(address indexed vault, address deals, address mediation, uint256 minValidatorStake, uint64 unbondingDelay);
    event ProviderRegistered(address indexed provider, uint32 gpuCount, uint32 gpuMemoryGb, uint32 cpuCores, uint32 ramGb, uint32 diskGb, string metadataUri);
    event ProviderUpdated(address indexed provider, uint32 gpuCount, uint32 gpuMemoryGb, uint32 cpuCores, uint32 ramGb, uint32 diskGb, string metadataUri);
    /// outcome: 0 completed, 1 failed (timeout), 2 dispute won, 3 dispute lost.
    /// amount: earned for 0 and 2, slashed for 1 and 3.
    event ProviderOutcomeRecorded(address indexed provider, uint8 outcome, uint256 amount);
    event ValidatorStaked(address indexed validator, uint256 amount, uint256 stake, uint32 slot);
    event UnbondRequested(address indexed validator, uint256 amount, uint256 stake, uint64 readyAt);
    event UnbondWithdrawn(address indexed validator, uint256 amount);
    event ValidatorAssigned(address indexed validator, uint32 activeCases);
    /// outcome: 0 with majority, 1 against majority, 2 no-show, 3 undecided.
    event ValidatorReleased(address indexed validator, uint8 outcome, uint256 earned, uint32 activeCases);
    event ValidatorSlashed(address indexed validator, uint256 amount, uint256 stake);
    event RegistryParametersUpdated(uint256 minValidatorStake, uint64 unbondingDelay);
}
