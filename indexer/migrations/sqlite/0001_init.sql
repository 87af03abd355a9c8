-- Bookkeeping (SQLite spelling); projections come from schema.sql.
CREATE TABLE checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL
);
CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    timestamp BIGINT NOT NULL
);
CREATE TABLE events (
    chain_id BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    topics TEXT NOT NULL,
    data TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX events_name ON events (name, block_number, log_index);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    block_number BIGINT NOT NULL,
    tbl TEXT NOT NULL,
    row_key TEXT NOT NULL,
    previous TEXT
);
CREATE INDEX journal_block ON journal (block_number);
