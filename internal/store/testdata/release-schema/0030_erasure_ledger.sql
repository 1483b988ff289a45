-- Every erasure of a data subject's events: who asked, when, which selector and how
-- many rows went. It holds the selector (a visitor or session id, an event id, or a
-- truncated address with a time window), never event data. `loendur restore` re-applies
-- the whole ledger, so an erased person stays erased after an old backup comes back.
CREATE TABLE IF NOT EXISTS erasure_ledger (
    id           String,
    time         DateTime('UTC'),
    site         String,
    kind         String,
    selector     String,
    rows_erased  UInt64,
    requested_by String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, id);
