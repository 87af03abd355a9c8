-- Published updates (written on PostgreSQL only; kept for equal schemas).
CREATE TABLE updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL
);
