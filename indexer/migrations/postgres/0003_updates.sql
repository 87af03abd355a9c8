-- Published updates for API servers in other processes (see feed.rs).
CREATE TABLE updates (
    seq BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL
);
