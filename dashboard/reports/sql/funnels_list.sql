-- dashboard/reports: Funnels (GET /api/v1/funnels, the funnel report)
SELECT id, argMax(name, version) AS f_name, argMax(step_kinds, version) AS f_kinds,
    argMax(step_values, version) AS f_values, argMax(created, version) AS f_created,
    argMax(updated, version) AS f_updated, argMax(deleted, version) AS f_deleted
FROM funnels
WHERE site = {{str .Site}}{{if .ID}} AND id = {{str .ID}}{{end}}
GROUP BY id
HAVING f_deleted = 0
ORDER BY f_created, id
