-- dashboard/reports: Dimension (GET /api/v1/stats/entry-pages, exit-pages, sources, utm, locations, devices)
SELECT {{range $i, $c := .Dims}}{{if $i}}, {{end}}{{$c}} AS d{{$i}}{{end}},
    toUInt64(uniq(visitor_id)) AS n_visitors, toUInt64(count()) AS n_visits,
    toUInt64(countIf(pageviews = 1)) AS n_bounces,
    toUInt64(sum(end_time - start_time)) AS sum_duration
FROM ({{template "sessions.sql" .Sessions}})
WHERE pageviews > 0{{.Where}}
GROUP BY {{range $i, $c := .Dims}}{{if $i}}, {{end}}d{{$i}}{{end}}
ORDER BY {{.Order}}{{range $i, $c := .Dims}}, d{{$i}}{{end}}
LIMIT {{int .Limit}}
