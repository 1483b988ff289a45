-- E-mail reports and alerts of a site (dashboard/notify): who gets the weekly and
-- monthly reports, when an alert is raised and where it goes, and the site's keys (one
-- signs unsubscribe links, one signs webhook bodies). A change is a new row with a
-- higher version; readers take the newest.
CREATE TABLE IF NOT EXISTS notify_settings (
    site              String,
    weekly            UInt8,
    monthly           UInt8,
    recipients        Array(String),
    alert_recipients  Array(String),
    webhook_url       String,
    stopped_hours     UInt16,
    spike             UInt8,
    token_key         String,
    webhook_secret    String,
    updated           DateTime('UTC'),
    version           UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site;
