-- Read-only links to one site's report page (internal/shares), keyed by the SHA-256 of
-- the link's token (the token is shown once and never stored). Append-only like
-- api_keys: use and revocation add rows of the same link; readers take max(last_used)
-- and max(revoked), and any() of the fields set at creation.
CREATE TABLE IF NOT EXISTS shared_links (
    site          String,
    id            String,
    token_hash    String,
    name          String,
    password_hash String,
    csv           UInt8,
    embed_origins Array(String),
    expires       DateTime('UTC'),
    created       DateTime('UTC'),
    created_by    String,
    last_used     DateTime('UTC'),
    revoked       UInt8
) ENGINE = MergeTree
ORDER BY (site, id);
