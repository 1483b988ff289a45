-- Dashboard staff accounts. A change is a new row with a higher version; readers take
-- the newest per id (argMax), as for sites. Removed accounts keep a row with deleted = 1.
-- password_hash is an argon2id PHC string; totp_secret is the enrolled base32 secret,
-- totp_pending one shown for enrolment but not yet confirmed with a code.
CREATE TABLE IF NOT EXISTS users (
    id            String,
    email         String,
    password_hash String,
    role          String,
    sites         Array(String),
    totp_secret   String,
    totp_pending  String,
    totp_required UInt8,
    disabled      UInt8,
    deleted       UInt8,
    created       DateTime('UTC'),
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;
