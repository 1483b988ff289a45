{{- /* Visit figures of the visits that started in a span, as mergeable rows: t (Unix
seconds of the UTC hour, day or month; for the raw rows, when .RawBucket is set, the
first start in each of its buckets, else 0: a breakdown or a total needs no time, and
grouping raw visits by their second made one tiny uniq state per visit), the
keys k0… when .Keys is set, a uniq state of visitors and sums. Whole UTC months, days
and hours (each kind read once, its spans ORed) from the rollup .Table (visit_stats; visit_dim_stats: by one dimension's
value, .RowWhere choosing it; visit_page_stats: visits that viewed a page), the ragged
edges from the sessions table, and visits not yet in the sessions table computed from
events (.Live); .RawKeys, .RawWhere and .Views are the same keys, choice and page views
over a visit's own columns. The rollups hold exactly the rows of the sessions table (a
materialized view, internal/derived). */ -}}
{{- range $i, $g := kinds .Segments}}{{if $i}}
UNION ALL
{{end}}
{{- if eq $g.Kind "month"}}
SELECT toUInt32(toUInt32(month) * 86400) AS t{{range $j, $k := $.Keys}}, {{$k}} AS k{{$j}}{{end}}, visitors, visits, views, bounces, duration, engaged
FROM {{$.Table}}_monthly
WHERE site = {{str $.Site}} AND ({{spans $g.Spans "month"}}){{$.RowWhere}}
{{- else if eq $g.Kind "day"}}
SELECT toUInt32(toUInt32(day) * 86400) AS t{{range $j, $k := $.Keys}}, {{$k}} AS k{{$j}}{{end}}, visitors, visits, views, bounces, duration, engaged
FROM {{$.Table}}_daily
WHERE site = {{str $.Site}} AND ({{spans $g.Spans "day"}}){{$.RowWhere}}
{{- else if eq $g.Kind "hour"}}
SELECT toUInt32(hour) AS t{{range $j, $k := $.Keys}}, {{$k}} AS k{{$j}}{{end}}, visitors, visits, views, bounces, duration, engaged
FROM {{$.Table}}_hourly
WHERE site = {{str $.Site}} AND ({{spans $g.Spans "hour"}}){{$.RowWhere}}
{{- else}}
SELECT {{if $.RawBucket}}toUInt32(min(start_time)){{else}}toUInt32(0){{end}} AS t{{range $j, $k := $.RawKeys}}, {{$k}} AS k{{$j}}{{end}}, uniqState(visitor_id) AS visitors, toUInt64(count()) AS visits,
    toUInt64(sum({{$.Views}})) AS views, toUInt64(countIf(pageviews = 1)) AS bounces,
    toUInt64(sum(end_time - start_time)) AS duration, toUInt64(sum(engaged_ms)) AS engaged
FROM sessions
WHERE site = {{str $.Site}} AND ({{spans $g.Spans "start_time"}}) AND end_time < {{ts $.Done}} AND pageviews > 0{{$.RawWhere}}
GROUP BY {{if $.RawBucket}}{{$.RawBucket}}{{else}}t{{end}}{{range $j, $k := $.RawKeys}}, k{{$j}}{{end}}
{{- end}}{{end}}
{{- if .Live}}
UNION ALL
SELECT {{if $.RawBucket}}toUInt32(min(start_time)){{else}}toUInt32(0){{end}} AS t{{range $j, $k := $.RawKeys}}, {{$k}} AS k{{$j}}{{end}}, uniqState(visitor_id) AS visitors, toUInt64(count()) AS visits,
    toUInt64(sum({{$.Views}})) AS views, toUInt64(countIf(pageviews = 1)) AS bounces,
    toUInt64(sum(end_time - start_time)) AS duration, toUInt64(sum(engaged_ms)) AS engaged
FROM ({{.Live}})
WHERE pageviews > 0{{$.RawWhere}}
GROUP BY {{if $.RawBucket}}{{$.RawBucket}}{{else}}t{{end}}{{range $j, $k := $.RawKeys}}, k{{$j}}{{end}}
{{- end}}
