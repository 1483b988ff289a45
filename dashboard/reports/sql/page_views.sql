-- dashboard/reports: ExitPages (GET /api/v1/stats/exit-pages: the views behind the exit rate)
SELECT pathname AS page, toUInt64(sum(pageviews)) AS n_pageviews
FROM ({{template "page_stats.sql" .Stats}})
GROUP BY page
