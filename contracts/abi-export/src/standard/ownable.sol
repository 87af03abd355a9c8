    function owner() external view returns (address);
    function transferOwnership(address newOwner) external;
    function renounceOwnership() external;
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
