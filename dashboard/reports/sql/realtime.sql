-- dashboard/reports: Realtime (GET /api/v1/stats/realtime)
SELECT page, toUInt64(count()) AS n_visitors
FROM (
    SELECT visitor_id, argMax(pathname, tuple(time_us, event_id)) AS page
    FROM events
    WHERE site = {{str .Site}} AND timestamp >= {{ts .From}} AND timestamp < {{ts .To}}{{.Where}}
    GROUP BY visitor_id{{if .Having}}
    HAVING {{.Having}}{{end}}
)
GROUP BY page
ORDER BY n_visitors DESC, page
