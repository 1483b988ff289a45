-- dashboard/reports: Summary (GET /api/v1/summary: the all-sites page, a new site's setup check)
SELECT toUInt64(count()) AS n_recent, toUInt32(max(timestamp)) AS last_seen
FROM events
WHERE site = {{str .Site}} AND timestamp >= {{ts .Since}}
