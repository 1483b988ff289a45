-- dashboard/reports: Dimension (GET /api/v1/stats/entry-pages, exit-pages, sources, utm, locations, devices; per-day visit states)
SELECT k0 AS d0, k1 AS d1, k2 AS d2,
    toUInt64(uniqMerge(visitors)) AS n_visitors, toUInt64(sum(visits)) AS n_visits,
    toUInt64(sum(bounces)) AS n_bounces, toUInt64(sum(duration)) AS sum_duration
FROM ({{template "visit_stats.sql" .}})
GROUP BY d0, d1, d2
ORDER BY {{.Order}}, d0, d1, d2
LIMIT {{int .Limit}}
