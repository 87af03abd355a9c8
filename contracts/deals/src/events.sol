// Events of the Deals contract. Compiled into the contract with alloy's `sol!`
// and appended to the exported interface (the SDK's export omits events).
interface IDealsEvents {
    event DealsInitialized(address indexed vault, address registry, address market, address offers, address mediation, uint64 protocolFeeBps, uint64 revealWindow, uint64 judgeWindow);
    event DealOpened(uint256 indexed dealId, uint256 indexed jobId, address indexed provider, address creator, uint256 offerId, uint256 price, uint256 resultsCollateral, uint256 timeoutCollateral, uint64 executionDeadline);
    event ResultCommitted(uint256 indexed dealId, address indexed provider, bytes32 commitment, uint64 revealDeadline);
    event ResultRevealed(uint256 indexed dealId, address indexed provider, bytes32 resultHash, string resultUri, uint64 judgeDeadline);
    /// how: 0 accepted by the creator, 1 finalized after the judge window, 2 upheld by mediation,
    /// 3 mediation reached no decision (the result was not shown wrong).
    /// paid: what the provider received (price minus fee); fee: what the treasury received.
    event DealCompleted(uint256 indexed dealId, address indexed provider, address indexed creator, uint8 how, uint256 paid, uint256 fee);
    event DealChallenged(uint256 indexed dealId, address indexed creator, uint256 caseId);
    /// stage: 0 no commitment by the execution deadline, 1 no reveal by the reveal deadline.
    /// compensation: the provider's timeout collateral, paid to the creator.
    event DealTimedOut(uint256 indexed dealId, address indexed provider, address indexed creator, uint8 stage, uint256 compensation);
    /// Mediation found the result wrong. compensation: results collateral paid to the creator.
    event DealRejected(uint256 indexed dealId, address indexed provider, address indexed creator, uint256 compensation, uint256 collateralToValidators);
    event DealsParametersUpdated(uint64 protocolFeeBps, uint64 revealWindow, uint64 judgeWindow);
}
