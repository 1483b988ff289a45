-- dashboard/reports: Overview (GET /api/v1/stats/overview, no filters: per-day visit states)
SELECT toUInt64(uniqMerge(visitors)) AS n_visitors, toUInt64(sum(visits)) AS n_visits,
    toUInt64(sum(views)) AS n_pageviews, toUInt64(sum(bounces)) AS n_bounces,
    toUInt64(sum(duration)) AS sum_duration, toUInt64(sum(engaged)) AS sum_engaged
FROM ({{template "visit_stats.sql" .}})
