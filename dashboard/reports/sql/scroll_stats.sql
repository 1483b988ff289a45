{{- /* Scroll rows of a time span (pathname, depth, visitors), from scroll_stats_* as
page_stats.sql reads page_stats_*: whole UTC months, days and hours from the rollups, the
edges of a period from events. */ -}}
{{- range $i, $g := .Segments}}{{if $i}}
UNION ALL
{{end}}
{{- if eq $g.Kind "month"}}
SELECT pathname, depth, visitors
FROM scroll_stats_monthly
WHERE site = {{str $.Site}} AND month >= {{date $g.From}} AND month < {{date $g.To}}{{$.Where}}
{{- else if eq $g.Kind "day"}}
SELECT pathname, depth, visitors
FROM scroll_stats_daily
WHERE site = {{str $.Site}} AND day >= {{date $g.From}} AND day < {{date $g.To}}{{$.Where}}
{{- else if eq $g.Kind "hour"}}
SELECT pathname, depth, visitors
FROM scroll_stats_hourly
WHERE site = {{str $.Site}} AND hour >= {{ts $g.From}} AND hour < {{ts $g.To}}{{$.Where}}
{{- else}}
{{rollup scrollStats (printf "site = %s AND timestamp >= %s AND timestamp < %s%s%s" (str $.Site) (ts $g.From) (ts $g.To) $.Where $.RawWhere)}}
{{- end}}{{end}}
