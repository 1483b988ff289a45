{{- /* Page rows (columns as in page_stats.sql) from the visits that match filters the
rollups cannot answer: their page views, then their engagement events (path, visible
ms, scroll %), each grouped by page in a pass of its own (two plain ARRAY JOINs cost
half of one over tuples of both), to be merged by page by the caller. */ -}}
SELECT p AS pathname,
    uniqIfState(visitor_id, toUInt8(1)) AS visitors,
    toUInt64(count()) AS pageviews, toUInt64(0) AS engagements, toUInt64(0) AS engaged_total, toUInt64(0) AS scroll_total,
    uniqIfState(visitor_id, toUInt8(0)) AS reached_25, uniqIfState(visitor_id, toUInt8(0)) AS reached_50,
    uniqIfState(visitor_id, toUInt8(0)) AS reached_75, uniqIfState(visitor_id, toUInt8(0)) AS reached_100
FROM ({{template "sessions.sql" .Sessions}})
ARRAY JOIN arrayFilter((p, n) -> n = 'pageview', seq_paths, seq_names) AS p
WHERE 1 = 1{{.Where}}{{.PageWhere}}
GROUP BY pathname
UNION ALL
SELECT p AS pathname,
    uniqIfState(visitor_id, toUInt8(0)) AS visitors,
    toUInt64(0) AS pageviews, toUInt64(count()) AS engagements, toUInt64(sum(ms)) AS engaged_total, toUInt64(sum(sc)) AS scroll_total,
    uniqIfState(visitor_id, sc >= 25) AS reached_25, uniqIfState(visitor_id, sc >= 50) AS reached_50,
    uniqIfState(visitor_id, sc >= 75) AS reached_75, uniqIfState(visitor_id, sc >= 100) AS reached_100
FROM ({{template "sessions.sql" .Sessions}})
ARRAY JOIN eng_paths AS p, eng_ms AS ms, eng_scroll AS sc
WHERE 1 = 1{{.Where}}{{.PageWhere}}
GROUP BY pathname
