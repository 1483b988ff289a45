-- Registered sites. A change is a new row with a higher version; readers take the newest.
CREATE TABLE IF NOT EXISTS sites (
    domain           String,
    created          DateTime('UTC'),
    timezone         String,
    retention_months UInt16,
    honour_dnt       UInt8,
    deleted          UInt8,
    version          UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY domain;
