{{- /* The visits that started in [.Start, .End): those already written to .Table, the
sessions table or, for a sampled report, its sample (either is complete for visits that
ended before .Done) and, when some may still be open or unwritten, the rest computed
from events. No FINAL: it doubles the cost of the scan, and the finalizer keeps the
table free of duplicates (internal/derived). Both parts select the columns by name in
the table's order (derived.Visits.Computed), so UNION ALL lines them up. */ -}}
SELECT {{.Columns}}
FROM {{.Table}}
WHERE site = {{str .Site}} AND start_time >= {{ts .Start}} AND start_time < {{ts .End}} AND end_time < {{ts .Done}}{{.SampleWhere}}
{{- if .Live}}
UNION ALL
SELECT {{.Columns}} FROM ({{.Live}})
{{- end}}
