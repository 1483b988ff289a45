-- dashboard/reports: ExitPages (GET /api/v1/stats/exit-pages, under filters on visits)
{{- /* Each page view of the matching visits, and whether it was the visit's last. */}}
SELECT path AS page, toUInt64(uniqIf(visitor_id, i = pv_count)) AS n_visitors,
    toUInt64(countIf(i = pv_count)) AS n_exits, toUInt64(count()) AS n_pageviews
FROM (
    SELECT visitor_id, arrayFilter((p, n) -> n = 'pageview', seq_paths, seq_names) AS pv, length(pv) AS pv_count
    FROM ({{template "sessions.sql" .Sessions}})
    WHERE pageviews > 0{{.Where}}
)
ARRAY JOIN pv AS path, arrayEnumerate(pv) AS i
WHERE 1 = 1{{.PageWhere}}
GROUP BY page
HAVING n_exits > 0
ORDER BY n_exits DESC, n_visitors DESC, page
LIMIT {{int .Limit}}
