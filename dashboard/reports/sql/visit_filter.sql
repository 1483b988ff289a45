{{- /* A condition on events: the event belongs to a visit that matches the visit filters. */ -}}
 AND session_id IN (SELECT session_id FROM ({{template "sessions.sql" .Sessions}}) WHERE 1 = 1{{.Where}})
