-- dashboard/reports: TopPages (GET /api/v1/stats/top-pages)
SELECT pathname AS page, toUInt64(uniqIfMerge(visitors)) AS n_visitors, toUInt64(sum(pageviews)) AS n_pageviews,
    toUInt64(sum(engagements)) AS n_engagements, toUInt64(sum(engaged_total)) AS sum_engaged,
    toUInt64(sum(scroll_total)) AS sum_scroll
FROM ({{template "page_stats.sql" .Stats}})
GROUP BY page
HAVING n_pageviews > 0
ORDER BY n_visitors DESC, n_pageviews DESC, page
LIMIT {{int .Limit}}
