-- Market statistics kept by the projections: deals and volume per day
-- (of the match) and GPU memory class; medians read one row through the
-- jobs index below.
ALTER TABLE jobs ADD COLUMN matched_day TEXT;
CREATE INDEX jobs_matched_day ON jobs (matched_day, min_gpu_memory_gb, price);
CREATE TABLE market_days (
    day TEXT NOT NULL,
    gpu_memory_gb BIGINT NOT NULL,
    deals BIGINT NOT NULL,
    volume TEXT NOT NULL,
    PRIMARY KEY (day, gpu_memory_gb)
);
