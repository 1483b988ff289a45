-- dashboard/reports: Events (GET /api/v1/stats/events)
SELECT name AS event{{if .Props}}, prop_key AS d_property, prop_value AS d_value{{end}},
    toUInt64(uniqMerge(visitors)) AS n_visitors, toUInt64(sum(n_events)) AS n_count
FROM ({{template "event_stats.sql" .Stats}})
GROUP BY event{{if .Props}}, d_property, d_value{{end}}
ORDER BY n_visitors DESC, n_count DESC, event{{if .Props}}, d_property, d_value{{end}}
LIMIT {{int .Limit}}
