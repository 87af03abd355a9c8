// Events of the Market. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface IMarketEvents {
    event MarketInitialized(address indexed vault, address registry, address offers, address deals, address relay, uint64 resultsCollateralBps, uint64 timeoutCollateralBps);
    /// relayer: the account that submitted a signed job (zero when the creator posted it).
    event JobPosted(uint256 indexed jobId, address indexed creator, address indexed relayer, bytes32 moduleHash, string moduleUri, bytes32 inputHash, string inputUri, uint32 minGpuCount, uint32 minGpuMemoryGb, uint32 minCpuCores, uint32 minRamGb, uint32 minDiskGb, uint64 maxDuration, uint256 maxPrice, uint64 matchDeadline, uint64 biddingEnd);
    event JobCancelled(uint256 indexed jobId, address indexed creator, uint256 refunded);
    event JobExpired(uint256 indexed jobId, address indexed creator, uint256 refunded);
    /// previousBidder: the outbid provider whose collateral was released (zero for the first bid).
    event BidPlaced(uint256 indexed jobId, address indexed provider, address indexed previousBidder, uint256 price, uint256 resultsCollateral, uint256 timeoutCollateral);
    /// winner: zero when the auction closed without bids and the job reopened.
    event AuctionClosed(uint256 indexed jobId, address indexed winner, uint256 price);
    /// mode: 0 direct, 1 take, 2 auction. offerId is 0 for auctions.
    event JobMatched(uint256 indexed jobId, uint256 indexed dealId, address indexed provider, uint256 offerId, uint8 mode, uint256 price, uint256 refunded);
    event MarketParametersUpdated(uint64 resultsCollateralBps, uint64 timeoutCollateralBps);
}
