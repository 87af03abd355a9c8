// Events of the Mediation contract. Compiled into the contract with alloy's
// `sol!` and appended to the exported interface (the SDK's export omits events).
interface IMediationEvents {
    event MediationInitialized(address indexed vault, address registry, address deals, address beacon);
    event MediationParametersUpdated(uint256 mediationFee, uint8 validatorsPerCase, uint64 commitWindow, uint64 revealWindow, uint64 validatorRewardBps, uint64 slashBps);
    event CaseOpened(uint256 indexed caseId, uint256 indexed dealId, address indexed creator, address provider, bytes32 providerResult, uint256 fee);
    /// A draw waits for this beacon round (again after an expired round or a failed first round).
    event RandomnessRequested(uint256 indexed caseId, uint8 round, uint256 beaconRound);
    event ValidatorsDrawn(uint256 indexed caseId, uint8 round, address[] validators, uint64 commitDeadline, uint64 revealDeadline);
    event VoteCommitted(uint256 indexed caseId, address indexed validator, bytes32 commitment);
    /// outputDigest: the voter's digest of the outputs it stands for, bound to the round's seed.
    event VoteRevealed(uint256 indexed caseId, address indexed validator, bytes32 resultHash, bytes32 outputDigest, bool agreesWithProvider);
    /// outcome: 0 with majority, 1 against majority, 2 no-show, 3 undecided.
    event VoteSettled(uint256 indexed caseId, address indexed validator, uint8 outcome, uint256 earned, uint256 slashed);
    /// The first round found no majority; a second draw follows.
    event RoundFailed(uint256 indexed caseId, uint8 round, uint8 agree, uint8 disagree);
    /// outcome: 0 provider right, 1 provider wrong, 2 no decision (the provider, not shown wrong, is paid).
    event CaseResolved(uint256 indexed caseId, uint256 indexed dealId, uint8 outcome, uint8 round, uint8 agree, uint8 disagree);
}
