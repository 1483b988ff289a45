{{- /* Visit totals of the visits that started in a span, as mergeable rows: t (Unix
seconds of the UTC hour or day, or of the visit's start for the raw rows), a uniq state
of visitors and sums. Whole UTC days from visit_stats_daily (unless .HourlyOnly), whole
hours from visit_stats_hourly, the ragged edges from the sessions table, and visits not
yet in the sessions table computed from events (.Live). The visit_stats tables hold
exactly the rows of the sessions table (a materialized view, internal/derived). */ -}}
{{- range $i, $g := .Segments}}{{if $i}}
UNION ALL
{{end}}
{{- if eq $g.Kind "day"}}
SELECT toUInt32(toUInt32(day) * 86400) AS t, visitors, visits, views, bounces, duration, engaged
FROM visit_stats_daily
WHERE site = {{str $.Site}} AND day >= {{date $g.From}} AND day < {{date $g.To}}
{{- else if eq $g.Kind "hour"}}
SELECT toUInt32(hour) AS t, visitors, visits, views, bounces, duration, engaged
FROM visit_stats_hourly
WHERE site = {{str $.Site}} AND hour >= {{ts $g.From}} AND hour < {{ts $g.To}}
{{- else}}
SELECT toUInt32(start_time) AS t, uniqState(visitor_id) AS visitors, toUInt64(count()) AS visits,
    toUInt64(sum(pageviews)) AS views, toUInt64(countIf(pageviews = 1)) AS bounces,
    toUInt64(sum(end_time - start_time)) AS duration, toUInt64(sum(engaged_ms)) AS engaged
FROM sessions
WHERE site = {{str $.Site}} AND start_time >= {{ts $g.From}} AND start_time < {{ts $g.To}} AND end_time < {{ts $.Done}} AND pageviews > 0
GROUP BY t
{{- end}}{{end}}
{{- if .Live}}
UNION ALL
SELECT toUInt32(start_time) AS t, uniqState(visitor_id) AS visitors, toUInt64(count()) AS visits,
    toUInt64(sum(pageviews)) AS views, toUInt64(countIf(pageviews = 1)) AS bounces,
    toUInt64(sum(end_time - start_time)) AS duration, toUInt64(sum(engaged_ms)) AS engaged
FROM ({{.Live}})
WHERE pageviews > 0
GROUP BY t
{{- end}}
