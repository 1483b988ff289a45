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
SELECT name, tupleElement(prop, 1) AS prop_key, tupleElement(prop, 2) AS prop_value,
    uniqState(visitor_id) AS visitors, toUInt64(count()) AS n_events
FROM events
ARRAY JOIN arrayMap((k, v) -> tuple(k, v), arrayConcat([''], prop_keys), arrayConcat([''], prop_values)) AS prop
WHERE site = {{str $.Site}} AND name NOT IN ('pageview', 'engagement')
    AND timestamp >= {{ts $g.From}} AND timestamp < {{ts $g.To}}{{$.Where}}{{$.RawWhere}}
GROUP BY name, prop_key, prop_value
{{- end}}{{end}}{{end}}
