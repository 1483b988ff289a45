-- dashboard/reports: Summary (GET /api/v1/summary: has the site ever received an event?)
SELECT toUInt64(count()) AS n_recent, toUInt32(0) AS last_seen
FROM (SELECT 1 FROM events WHERE site = {{str .Site}} LIMIT 1)
