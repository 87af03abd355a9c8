    function paused() external view returns (bool);
    event Paused(address account);
    event Unpaused(address account);
