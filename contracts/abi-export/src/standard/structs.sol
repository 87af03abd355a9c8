/// A machine's resources; memory and disk in whole gigabytes, gpuMemoryGb per GPU.
struct Hardware {
    uint32 gpuCount;
    uint32 gpuMemoryGb;
    uint32 cpuCores;
    uint32 ramGb;
    uint32 diskGb;
}

/// What a job creator asks for. offerId: direct match (0: none); biddingWindow: reverse auction seconds (0: none).
struct JobSpec {
    bytes32 moduleHash;
    string moduleUri;
    bytes32 inputHash;
    string inputUri;
    Hardware minHardware;
    uint64 maxDuration;
    uint256 maxPrice;
    uint64 matchDeadline;
    uint64 biddingWindow;
    uint256 offerId;
}

/// An optional EIP-2612 permit funding a relayed job (amount 0: none).
struct PermitData {
    uint256 amount;
    uint256 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}
