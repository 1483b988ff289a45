-- One row per visit, written by the dashboard once the visit has ended (30 minutes
-- without an event): its length, entry and exit, source and device; seq_* are its page
-- views and custom events in order (name, path), eng_* its engagement events (path,
-- visible ms, scroll %). Reports on visits read this instead of grouping millions of events. Visits not yet written are
-- computed from events at query time; sessions_progress says up to when (by a visit's
-- last event) this table is complete. Writing a visit again (two dashboards at once,
-- or a rebuild) adds a row with a higher version; readers use FINAL.
-- Holds visitor_id: erasure and retention must reach it like the events table.
CREATE TABLE IF NOT EXISTS sessions (
    site            String,
    session_id      UInt64,
    visitor_id      UInt64,
    start_time      DateTime('UTC'),
    end_time        DateTime('UTC'),
    pageviews       UInt32,
    events          UInt32,
    engaged_ms      UInt64,
    entry_page      String,
    exit_page       String,
    referrer_host   String,
    referrer_source String,
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    country_code    String,
    region          String,
    city            String,
    device          String,
    browser         String,
    os              String,
    seq_names       Array(String),
    seq_paths       Array(String),
    eng_paths       Array(String),
    eng_ms          Array(UInt64),
    eng_scroll      Array(UInt64),
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start_time)
ORDER BY (site, toDate(start_time), session_id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS sessions_progress (
    site       String,
    done_until DateTime('UTC'),
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site;
