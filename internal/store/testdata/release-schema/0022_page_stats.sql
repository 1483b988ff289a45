-- Page views and engagement per page, by UTC hour and by UTC day, kept by materialized
-- views as events arrive. Top pages, exit rates and scroll drop-off read these for the
-- whole hours and days of a period and events only for its ragged edges. Visitors are
-- uniq sketches (hashes of visitor ids, no way back to an id).
CREATE TABLE IF NOT EXISTS page_stats_hourly (
    site         String,
    hour         DateTime('UTC'),
    pathname     String,
    visitors     AggregateFunction(uniqIf, UInt64, UInt8),
    pageviews    UInt64,
    engagements  UInt64,
    engaged_total UInt64,
    scroll_total UInt64,
    reached_25   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_50   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_75   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_100  AggregateFunction(uniqIf, UInt64, UInt8)
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (site, hour, pathname);

CREATE MATERIALIZED VIEW IF NOT EXISTS page_stats_hourly_mv TO page_stats_hourly AS
SELECT site, toStartOfHour(timestamp) AS hour, pathname,
    uniqIfState(visitor_id, name = 'pageview') AS visitors,
    toUInt64(countIf(name = 'pageview')) AS pageviews,
    toUInt64(countIf(name = 'engagement')) AS engagements,
    toUInt64(sumIf(engaged_ms, name = 'engagement')) AS engaged_total,
    toUInt64(sumIf(scroll, name = 'engagement')) AS scroll_total,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 25) AS reached_25,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 50) AS reached_50,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 75) AS reached_75,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 100) AS reached_100
FROM events
WHERE name IN ('pageview', 'engagement')
GROUP BY site, hour, pathname;

CREATE TABLE IF NOT EXISTS page_stats_daily (
    site         String,
    day          Date,
    pathname     String,
    visitors     AggregateFunction(uniqIf, UInt64, UInt8),
    pageviews    UInt64,
    engagements  UInt64,
    engaged_total UInt64,
    scroll_total UInt64,
    reached_25   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_50   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_75   AggregateFunction(uniqIf, UInt64, UInt8),
    reached_100  AggregateFunction(uniqIf, UInt64, UInt8)
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, pathname);

CREATE MATERIALIZED VIEW IF NOT EXISTS page_stats_daily_mv TO page_stats_daily AS
SELECT site, toDate(timestamp) AS day, pathname,
    uniqIfState(visitor_id, name = 'pageview') AS visitors,
    toUInt64(countIf(name = 'pageview')) AS pageviews,
    toUInt64(countIf(name = 'engagement')) AS engagements,
    toUInt64(sumIf(engaged_ms, name = 'engagement')) AS engaged_total,
    toUInt64(sumIf(scroll, name = 'engagement')) AS scroll_total,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 25) AS reached_25,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 50) AS reached_50,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 75) AS reached_75,
    uniqIfState(visitor_id, name = 'engagement' AND scroll >= 100) AS reached_100
FROM events
WHERE name IN ('pageview', 'engagement')
GROUP BY site, day, pathname;
