-- dashboard/reports: Funnel (GET /api/v1/stats/funnel)
{{- /* Per visit, i1 is the position of the first event matching step 1, i2 the first
matching step 2 after i1, and so on; a visit reaches step k when ik > 0. */}}
SELECT step, n_visitors, n_visits
FROM (
    SELECT [{{range $i, $s := .Steps}}{{if $i}}, {{end}}toUInt64(uniqIf(visitor_id, i{{$i}} > 0)){{end}}] AS a_visitors,
        [{{range $i, $s := .Steps}}{{if $i}}, {{end}}toUInt64(countIf(i{{$i}} > 0)){{end}}] AS a_visits
    FROM (
        SELECT visitor_id
        {{- range $i, $s := .Steps}},
            {{if eq $i 0}}arrayFirstIndex((n, p) -> {{$s}}, seq_names, seq_paths){{else}}if(i{{sub $i}} = 0, 0, arrayFirstIndex((n, p, i) -> i > i{{sub $i}} AND {{$s}}, seq_names, seq_paths, arrayEnumerate(seq_names))){{end}} AS i{{$i}}
        {{- end}}
        FROM ({{template "sessions.sql" .Sessions}})
        WHERE 1 = 1{{.Where}}
    )
)
ARRAY JOIN a_visitors AS n_visitors, a_visits AS n_visits, arrayEnumerate(a_visitors) AS step
ORDER BY step
