-- dashboard/reports: Scroll (GET /api/v1/stats/scroll)
SELECT toUInt64(uniqIfMerge(visitors)) AS n_visitors,
    toUInt64(uniqIfMerge(reached_25)) AS n_25, toUInt64(uniqIfMerge(reached_50)) AS n_50,
    toUInt64(uniqIfMerge(reached_75)) AS n_75, toUInt64(uniqIfMerge(reached_100)) AS n_100
FROM ({{template "page_stats.sql" .Stats}})
