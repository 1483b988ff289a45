-- API keys for the JSON API, keyed by the SHA-256 of the key (the key is shown once and
-- never stored). Append-only like dashboard_sessions: use and revocation add rows and
-- readers take max(last_used) and max(revoked).
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash  String,
    id        String,
    user_id   String,
    name      String,
    created   DateTime('UTC'),
    last_used DateTime('UTC'),
    revoked   UInt8
) ENGINE = MergeTree
ORDER BY key_hash;
