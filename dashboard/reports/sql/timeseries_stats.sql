-- dashboard/reports: Timeseries (GET /api/v1/stats/timeseries, no filters: per-hour visit states)
SELECT {{.Bucket}} AS bucket,
    toUInt64(uniqMerge(visitors)) AS n_visitors, toUInt64(sum(visits)) AS n_visits,
    toUInt64(sum(views)) AS n_pageviews, toUInt64(sum(bounces)) AS n_bounces,
    toUInt64(sum(duration)) AS sum_duration, toUInt64(sum(engaged)) AS sum_engaged
FROM ({{template "visit_stats.sql" .}})
GROUP BY bucket
ORDER BY bucket
