-- dashboard/reports: Timeseries (GET /api/v1/stats/timeseries)
SELECT {{.Bucket}} AS bucket,
    toUInt64(uniq(visitor_id)) AS n_visitors, toUInt64(count()) AS n_visits,
    toUInt64(sum({{.Views}})) AS n_pageviews, toUInt64(countIf(pageviews = 1)) AS n_bounces,
    toUInt64(sum(end_time - start_time)) AS sum_duration, toUInt64(sum(engaged_ms)) AS sum_engaged
FROM ({{template "sessions.sql" .Sessions}})
WHERE pageviews > 0{{.Where}}
GROUP BY bucket
ORDER BY bucket
