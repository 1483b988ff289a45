-- Who did what in the dashboard: logins, failed logins, user, site and key changes.
-- Never holds a password, key, token or TOTP secret; addresses are truncated.
CREATE TABLE IF NOT EXISTS audit_log (
    time    DateTime('UTC'),
    seq     UInt64,
    actor   String,
    action  String,
    target  String,
    detail  String,
    address String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, seq);
