    function nonces(address owner) external view returns (uint256);
