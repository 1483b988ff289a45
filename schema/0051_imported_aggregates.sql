-- Imported aggregates (Plausible's CSV export, internal/imports): one table per table of
-- the export, per site and day, with the import they came from. Counts only: no visitor,
-- session or event id and no address, so erasure has nothing to find here; retention
-- ages them by date like every table of event data (internal/erasure: Imported).
-- Reports add them for days without data of our own (dashboard/reports/imported.go).
CREATE TABLE IF NOT EXISTS imported_visitors (
    site String,
    import_id UInt64,
    date Date,
    visitors UInt64,
    pageviews UInt64,
    bounces UInt64,
    visits UInt64,
    visit_duration UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_sources (
    site String,
    import_id UInt64,
    date Date,
    source String,
    referrer String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_content String,
    utm_term String,
    pageviews UInt64,
    visitors UInt64,
    visits UInt64,
    visit_duration UInt64,
    bounces UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_pages (
    site String,
    import_id UInt64,
    date Date,
    hostname String,
    page String,
    visits UInt64,
    visitors UInt64,
    pageviews UInt64,
    exits UInt64,
    time_on_page UInt64,
    scroll_depth UInt64,
    pageleave_visitors UInt64,
    total_scroll_depth UInt64,
    total_scroll_depth_visits UInt64,
    total_time_on_page UInt64,
    total_time_on_page_visits UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_entry_pages (
    site String,
    import_id UInt64,
    date Date,
    entry_page String,
    visitors UInt64,
    entrances UInt64,
    visit_duration UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_exit_pages (
    site String,
    import_id UInt64,
    date Date,
    exit_page String,
    visitors UInt64,
    visit_duration UInt64,
    exits UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_custom_events (
    site String,
    import_id UInt64,
    date Date,
    name String,
    link_url String,
    path String,
    visitors UInt64,
    events UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_locations (
    site String,
    import_id UInt64,
    date Date,
    country String,
    region String,
    city UInt64,
    visitors UInt64,
    visits UInt64,
    visit_duration UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_devices (
    site String,
    import_id UInt64,
    date Date,
    device String,
    visitors UInt64,
    visits UInt64,
    visit_duration UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_browsers (
    site String,
    import_id UInt64,
    date Date,
    browser String,
    browser_version String,
    visitors UInt64,
    visits UInt64,
    visit_duration UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);

CREATE TABLE IF NOT EXISTS imported_operating_systems (
    site String,
    import_id UInt64,
    date Date,
    operating_system String,
    operating_system_version String,
    visitors UInt64,
    visits UInt64,
    visit_duration UInt64,
    bounces UInt64,
    pageviews UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(date)
ORDER BY (site, date, import_id);
