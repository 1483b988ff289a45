{{- /* Page rows of a time span: whole UTC months and days from page_stats_monthly and _daily, whole hours from
page_stats_hourly, and the edges of a period in a time zone that is not a whole number
of hours from UTC from events; or, under filters the rollups cannot answer, from the
matching visits (page_visits.sql). Columns as in page_stats_*. */ -}}
{{- if .Visits}}{{template "page_visits.sql" .Visits}}{{else}}
{{- range $i, $g := .Segments}}{{if $i}}
UNION ALL
{{end}}
{{- if eq $g.Kind "month"}}
SELECT pathname, visitors, pageviews, engagements, engaged_total, scroll_total, reached_25, reached_50, reached_75, reached_100
FROM page_stats_monthly
WHERE site = {{str $.Site}} AND month >= {{date $g.From}} AND month < {{date $g.To}}{{$.Where}}
{{- else if eq $g.Kind "day"}}
SELECT pathname, visitors, pageviews, engagements, engaged_total, scroll_total, reached_25, reached_50, reached_75, reached_100
FROM page_stats_daily
WHERE site = {{str $.Site}} AND day >= {{date $g.From}} AND day < {{date $g.To}}{{$.Where}}
{{- else if eq $g.Kind "hour"}}
SELECT pathname, visitors, pageviews, engagements, engaged_total, scroll_total, reached_25, reached_50, reached_75, reached_100
FROM page_stats_hourly
WHERE site = {{str $.Site}} AND hour >= {{ts $g.From}} AND hour < {{ts $g.To}}{{$.Where}}
{{- else}}
{{rollup pageStats (printf "site = %s AND timestamp >= %s AND timestamp < %s%s%s" (str $.Site) (ts $g.From) (ts $g.To) $.Where $.RawWhere)}}
{{- end}}{{end}}{{end}}
