-- Every page view, engagement and custom event, after enrichment. No full IP, no query string.
-- Partitioned by month and ordered by (site, day, ...) so one site's date range reads only its rows.
CREATE TABLE IF NOT EXISTS events (
    event_id        UUID,
    site            String,
    timestamp       DateTime('UTC'),
    name            String,
    hostname        String,
    pathname        String,
    referrer_host   String,
    referrer_source String,
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_term        String,
    utm_content     String,
    country_code    String,
    region          String,
    city            String,
    browser         String,
    browser_version String,
    os              String,
    os_version      String,
    device          String,
    width           UInt16,
    visitor_id      UInt64,
    session_id      UInt64,
    ip              String,
    engaged_ms      UInt32,
    scroll          UInt8,
    prop_keys       Array(String),
    prop_values     Array(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site, toDate(timestamp), visitor_id, session_id, timestamp)
SETTINGS index_granularity = 8192;
