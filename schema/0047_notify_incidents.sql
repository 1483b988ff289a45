-- Alert incidents of a site (dashboard/notify): one row per incident and state change.
-- The id is derived from the data (the hour it began), so every process that sees one
-- incident names it alike. Readers take the newest version.
CREATE TABLE IF NOT EXISTS notify_incidents (
    site      String,
    kind      String,
    id        String,
    state     String,
    started   DateTime('UTC'),
    resolved  DateTime('UTC'),
    detail    String,
    version   UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site, kind, id);
