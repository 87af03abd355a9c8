// Events of the OfferBook. Compiled into the contract with alloy's `sol!` and
// appended to the exported interface (the SDK's export omits events).
interface IOfferBookEvents {
    event OfferBookInitialized(address indexed registry, address market, address deals);
    event OfferPosted(uint256 indexed offerId, address indexed provider, uint32 gpuCount, uint32 gpuMemoryGb, uint32 cpuCores, uint32 ramGb, uint32 diskGb, uint256 price, uint64 minDuration, uint64 maxDuration, uint32 maxConcurrent, uint64 expiry);
    event OfferCancelled(uint256 indexed offerId, address indexed provider);
    /// The number of deals running on the offer changed (a match reserved a slot, or a deal ended).
    event OfferUsageChanged(uint256 indexed offerId, uint32 activeDeals);
}
