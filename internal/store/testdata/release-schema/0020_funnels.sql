-- Funnels an admin defines for a site: ordered steps, each a page path pattern (with *
-- wildcards) or a custom event name. A change or a removal is a new row with a higher
-- version; readers take the newest (dashboard/reports).
CREATE TABLE IF NOT EXISTS funnels (
    site        String,
    id          String,
    name        String,
    step_kinds  Array(String),
    step_values Array(String),
    created     DateTime('UTC'),
    updated     DateTime('UTC'),
    deleted     UInt8,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site, id);
