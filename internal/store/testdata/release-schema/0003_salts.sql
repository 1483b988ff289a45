-- Daily random salts for visitor ids, shared by every collector. One partition a day,
-- dropped once the day is 48 hours old: after that no hash can be linked to anyone.
-- When collectors race to create a day's salt, the earliest created (created_ns) wins.
CREATE TABLE IF NOT EXISTS salts (
    day     Date,
    salt    String,
    created    DateTime('UTC'),
    created_ns UInt64
) ENGINE = MergeTree
PARTITION BY day
ORDER BY (day, salt);
