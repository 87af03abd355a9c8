-- Projection tables: the same text for SQLite and PostgreSQL (keep the two
-- files identical). Amounts and ids (uint256) are zero-padded 78-digit
-- decimal strings, so text order is numeric order.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    creator TEXT NOT NULL,
    relayer TEXT NOT NULL,
    state TEXT NOT NULL,
    module_hash TEXT NOT NULL,
    module_uri TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    input_uri TEXT NOT NULL,
    min_gpu_count BIGINT NOT NULL,
    min_gpu_memory_gb BIGINT NOT NULL,
    min_cpu_cores BIGINT NOT NULL,
    min_ram_gb BIGINT NOT NULL,
    min_disk_gb BIGINT NOT NULL,
    max_duration BIGINT NOT NULL,
    max_price TEXT NOT NULL,
    match_deadline BIGINT NOT NULL,
    bidding_end BIGINT NOT NULL,
    match_mode TEXT,
    deal_id TEXT,
    price TEXT,
    refunded TEXT,
    best_bid TEXT,
    best_bidder TEXT,
    posted_block BIGINT NOT NULL,
    posted_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_creator ON jobs (creator, id);
CREATE INDEX jobs_gpu_memory ON jobs (min_gpu_memory_gb, id);
CREATE INDEX jobs_max_price ON jobs (max_price, id);
CREATE INDEX jobs_posted_at ON jobs (posted_at, id);

CREATE TABLE bids (
    job_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    price TEXT NOT NULL,
    results_collateral TEXT NOT NULL,
    timeout_collateral TEXT NOT NULL,
    outbid BIGINT NOT NULL,
    placed_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, provider)
);

CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    creator TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    price TEXT NOT NULL,
    results_collateral TEXT NOT NULL,
    timeout_collateral TEXT NOT NULL,
    state TEXT NOT NULL,
    execution_deadline BIGINT NOT NULL,
    commitment TEXT,
    reveal_deadline BIGINT,
    result_hash TEXT,
    result_uri TEXT,
    judge_deadline BIGINT,
    case_id TEXT,
    completion TEXT,
    paid TEXT,
    fee TEXT,
    compensation TEXT,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deals_job ON deals (job_id, id);
CREATE INDEX deals_provider ON deals (provider, id);
CREATE INDEX deals_creator ON deals (creator, id);
CREATE INDEX deals_state ON deals (state, id);

CREATE TABLE deal_history (
    deal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    tx_hash TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    PRIMARY KEY (deal_id, seq)
);

CREATE TABLE providers (
    address TEXT PRIMARY KEY,
    gpu_count BIGINT NOT NULL,
    gpu_memory_gb BIGINT NOT NULL,
    cpu_cores BIGINT NOT NULL,
    ram_gb BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    metadata_uri TEXT NOT NULL,
    completed BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    disputes_won BIGINT NOT NULL,
    disputes_lost BIGINT NOT NULL,
    earnings TEXT NOT NULL,
    slashed TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE validators (
    address TEXT PRIMARY KEY,
    stake TEXT NOT NULL,
    unbonding TEXT NOT NULL,
    active_cases BIGINT NOT NULL,
    with_majority BIGINT NOT NULL,
    against_majority BIGINT NOT NULL,
    no_shows BIGINT NOT NULL,
    undecided BIGINT NOT NULL,
    earned TEXT NOT NULL,
    slashed TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    gpu_count BIGINT NOT NULL,
    gpu_memory_gb BIGINT NOT NULL,
    cpu_cores BIGINT NOT NULL,
    ram_gb BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    price TEXT NOT NULL,
    max_duration BIGINT NOT NULL,
    max_concurrent BIGINT NOT NULL,
    expiry BIGINT NOT NULL,
    active_deals BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    posted_at BIGINT NOT NULL
);
CREATE INDEX offers_provider ON offers (provider, id);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_result TEXT NOT NULL,
    fee TEXT NOT NULL,
    state TEXT NOT NULL,
    round BIGINT NOT NULL,
    validators TEXT NOT NULL,
    commit_deadline BIGINT,
    reveal_deadline BIGINT,
    outcome TEXT,
    agree BIGINT,
    disagree BIGINT,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE votes (
    case_id TEXT NOT NULL,
    validator TEXT NOT NULL,
    commitment TEXT NOT NULL,
    result_hash TEXT,
    agrees_with_provider BIGINT,
    outcome TEXT,
    earned TEXT,
    slashed TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, validator)
);

CREATE TABLE balances (
    account TEXT PRIMARY KEY,
    available TEXT NOT NULL,
    locked TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
