-- Every list the API offers walks an index in its own order (see
-- `pond_indexer::store::query`): a filter on the state with an order by
-- another column, a job's bids by price, events by contract.
CREATE INDEX jobs_state_posted_at ON jobs (state, posted_at, id);
CREATE INDEX jobs_state_max_price ON jobs (state, max_price, id);
CREATE INDEX jobs_state_gpu_memory ON jobs (state, min_gpu_memory_gb, id);
CREATE INDEX offers_cancelled ON offers (cancelled, id);
CREATE INDEX bids_price ON bids (job_id, price, provider);
CREATE INDEX events_order ON events (block_number, log_index);
CREATE INDEX events_contract ON events (contract, block_number, log_index);
CREATE INDEX events_contract_name ON events (contract, name, block_number, log_index);
