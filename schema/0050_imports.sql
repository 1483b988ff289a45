-- Imports of history (loendur import; internal/imports): one row per imported file and
-- site, so a file imported again is recognised by its hash and an import can be listed
-- and deleted. A change of state (pending, done, deleted) is a new row with a higher
-- version; readers take the newest. Holds file names and counts, no event data.
CREATE TABLE IF NOT EXISTS imports (
    site        String,
    id          UInt64,
    source      String,
    file_name   String,
    file_hash   String,
    period_from Date,
    period_to   Date,
    rows        UInt64,
    state       String,
    created     DateTime('UTC'),
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site, id);
