-- Protocol hardening: offers take jobs from a minimum duration up to their
-- maximum (the protocol floor is 5 minutes), and a validator's revealed
-- vote carries the digest of the outputs it stands for.
ALTER TABLE offers ADD COLUMN min_duration BIGINT NOT NULL DEFAULT 0;
ALTER TABLE votes ADD COLUMN output_digest TEXT;
