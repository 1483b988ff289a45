-- Each site's privacy choices (internal/notice): whether it asks consent before
-- counting (the tracker snippet then carries data-consent="required") and the page of
-- the site that shows its privacy notice and opt-out control. A change is a new row
-- with a higher version; readers take the newest.
CREATE TABLE IF NOT EXISTS site_privacy (
    site             String,
    consent_required UInt8,
    privacy_page     String,
    updated          DateTime('UTC'),
    version          UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY site;
