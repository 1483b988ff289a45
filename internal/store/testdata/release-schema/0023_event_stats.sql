-- Custom events per name and per property key and value, by UTC hour and day, kept by
-- materialized views. The row with prop_key = '' counts the events themselves; each
-- property pair of an event adds a row with its key and value.
CREATE TABLE IF NOT EXISTS event_stats_hourly (
    site       String,
    hour       DateTime('UTC'),
    name       String,
    prop_key   String,
    prop_value String,
    visitors   AggregateFunction(uniq, UInt64),
    events     UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour, name, prop_key, prop_value);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_stats_hourly_mv TO event_stats_hourly AS
SELECT site, toStartOfHour(timestamp) AS hour, name,
    tupleElement(prop, 1) AS prop_key, tupleElement(prop, 2) AS prop_value,
    uniqState(visitor_id) AS visitors, toUInt64(count()) AS events
FROM events
ARRAY JOIN arrayMap((k, v) -> tuple(k, v), arrayConcat([''], prop_keys), arrayConcat([''], prop_values)) AS prop
WHERE name NOT IN ('pageview', 'engagement')
GROUP BY site, hour, name, prop_key, prop_value;

CREATE TABLE IF NOT EXISTS event_stats_daily (
    site       String,
    day        Date,
    name       String,
    prop_key   String,
    prop_value String,
    visitors   AggregateFunction(uniq, UInt64),
    events     UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, prop_key, prop_value);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_stats_daily_mv TO event_stats_daily AS
SELECT site, toDate(timestamp) AS day, name,
    tupleElement(prop, 1) AS prop_key, tupleElement(prop, 2) AS prop_value,
    uniqState(visitor_id) AS visitors, toUInt64(count()) AS events
FROM events
ARRAY JOIN arrayMap((k, v) -> tuple(k, v), arrayConcat([''], prop_keys), arrayConcat([''], prop_values)) AS prop
WHERE name NOT IN ('pageview', 'engagement')
GROUP BY site, day, name, prop_key, prop_value;
