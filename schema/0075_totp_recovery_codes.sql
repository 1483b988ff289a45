-- One-time recovery codes for two-factor sign-in (dashboard/auth): usable once each
-- instead of an authenticator code. Only the SHA-256 of a code is stored. Spending a
-- code, or replacing the set, adds a row with used = 1 and a higher version; readers
-- take the newest per code.
CREATE TABLE IF NOT EXISTS totp_recovery_codes (
    user_id   String,
    code_hash String,
    created   DateTime('UTC'),
    used      UInt8,
    version   UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (user_id, code_hash);
