-- Events answered 202 but not stored, counted per site, UTC day and reason (bot,
-- excluded, burst, viewport, referrer_spam, gpc, dnt): what the dashboard shows as
-- "dropped traffic". Counts only, nothing about a visitor; each collector adds its own
-- rows and the engine sums them.
CREATE TABLE IF NOT EXISTS events_dropped_daily (
    site   String,
    day    Date,
    reason String,
    events UInt64
) ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, reason);
