-- Traffic an admin excludes from a site's figures (internal/exclusion): user-agent
-- fragments and client addresses or CIDRs, such as the client's own office or their
-- uptime monitor. Configuration as the admin typed it, never visitor data: one row per
-- site holds the whole lists; a change is a new row with a higher version, readers take
-- the newest.
CREATE TABLE IF NOT EXISTS site_exclusions (
    site        String,
    user_agents Array(String),
    addresses   Array(String),
    updated     DateTime('UTC'),
    updated_by  String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site;
