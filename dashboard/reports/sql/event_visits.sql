{{- /* Custom event rows (columns as in event_stats.sql, counts only, no properties)
from the visits that match filters the rollups cannot answer. */ -}}
SELECT n AS name, '' AS prop_key, '' AS prop_value, uniqState(visitor_id) AS visitors, toUInt64(count()) AS n_events
FROM ({{template "sessions.sql" .Sessions}})
ARRAY JOIN seq_names AS n, seq_paths AS p
WHERE n != 'pageview'{{.Where}}{{.PageWhere}}
GROUP BY name
