-- Dashboard login sessions, keyed by the SHA-256 of the session id (the id itself only
-- ever lives in the browser's cookie). Rows are only appended: activity adds a row with
-- a newer last_seen, logout one with revoked = 1, and readers aggregate with max(), so
-- a late activity row can never undo a logout (ReplacingMergeTree could).
CREATE TABLE IF NOT EXISTS dashboard_sessions (
    id_hash   String,
    user_id   String,
    created   DateTime('UTC'),
    expires   DateTime('UTC'),
    last_seen DateTime('UTC'),
    revoked   UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(created)
ORDER BY id_hash;
