-- Who is rebuilding a site's derived rows (internal/derived, exclusive): a rebuild
-- deletes the rows of its days and computes them again, so two at once would each add
-- them. Every process that wants to rebuild a site inserts a claim; the earliest live
-- claim wins, the others wait. A claim is renewed while its rebuild runs, ended by a
-- "done" row, and lapses when its process stops renewing it.
CREATE TABLE IF NOT EXISTS rebuild_claims (
    site   String,
    token  String,
    state  String,
    at     DateTime('UTC')
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (site, at);
