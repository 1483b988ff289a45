-- dashboard/reports: finalizer (writes ended visits to the sessions table)
{{template "session_summary.sql" .}}
{{- /* eng_ms and eng_scroll are Array(UInt64), which JSON output quotes by default. */}}
SETTINGS output_format_json_quote_64bit_integers = 0
