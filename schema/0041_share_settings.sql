-- Per site: whether the site's client managers may create shared links themselves
-- (admins always may). A change is a new row with a higher version; readers take the
-- newest.
CREATE TABLE IF NOT EXISTS share_settings (
    site               String,
    managers_may_share UInt8,
    version            UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site;
