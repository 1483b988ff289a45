{{- /* Custom event rows of a time span, like page_stats.sql: per event name and
property key and value (prop_key = '' counts the events themselves). */ -}}
{{- if .Visits}}{{template "event_visits.sql" .Visits}}{{else}}
{{- range $i, $g := .Segments}}{{if $i}}
UNION ALL
{{end}}
{{- if eq $g.Kind "day"}}
SELECT name, prop_key, prop_value, visitors, events AS n_events
FROM event_stats_daily
WHERE site = {{str $.Site}} AND day >= {{date $g.From}} AND day < {{date $g.To}}{{$.Where}}
{{- else if eq $g.Kind "hour"}}
SELECT name, prop_key, prop_value, visitors, events AS n_events
FROM event_stats_hourly
WHERE site = {{str $.Site}} AND hour >= {{ts $g.From}} AND hour < {{ts $g.To}}{{$.Where}}
{{- else}}
SELECT name, prop_key, prop_value, visitors, events AS n_events FROM (
{{rollup eventStats (printf "site = %s AND timestamp >= %s AND timestamp < %s%s%s" (str $.Site) (ts $g.From) (ts $g.To) $.Where $.RawWhere)}})
{{- end}}{{end}}{{end}}
