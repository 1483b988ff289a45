{{- /* The visits that started in [.Start, .End): those already written to the sessions
table (it is complete for visits that ended before .Done) and, when some may still be
open or unwritten, the rest computed from events. No FINAL: it doubles the cost of the
scan, and the finalizer keeps the table free of duplicates (finalize.go). */ -}}
SELECT session_id, visitor_id, start_time, end_time, pageviews, events, engaged_ms, entry_page, exit_page,
    referrer_host, referrer_source, utm_source, utm_medium, utm_campaign,
    country_code, region, city, device, browser, os, seq_names, seq_paths, eng_paths, eng_ms, eng_scroll
FROM sessions
WHERE site = {{str .Site}} AND start_time >= {{ts .Start}} AND start_time < {{ts .End}} AND end_time < {{ts .Done}}
{{- if .Live}}
UNION ALL
{{.Live}}
{{- end}}
