{{- /* Page rows (columns as in page_stats.sql) from the visits that match filters the
rollups cannot answer: the page views and engagement events of those visits, read in
one pass as tuples (path, is page view, is engagement, engaged ms, scroll %). */ -}}
SELECT tupleElement(x, 1) AS pathname,
    uniqIfState(visitor_id, tupleElement(x, 2) = 1) AS visitors,
    toUInt64(sum(tupleElement(x, 2))) AS pageviews,
    toUInt64(sum(tupleElement(x, 3))) AS engagements,
    toUInt64(sum(tupleElement(x, 4))) AS engaged_total,
    toUInt64(sum(tupleElement(x, 5))) AS scroll_total,
    uniqIfState(visitor_id, tupleElement(x, 3) = 1 AND tupleElement(x, 5) >= 25) AS reached_25,
    uniqIfState(visitor_id, tupleElement(x, 3) = 1 AND tupleElement(x, 5) >= 50) AS reached_50,
    uniqIfState(visitor_id, tupleElement(x, 3) = 1 AND tupleElement(x, 5) >= 75) AS reached_75,
    uniqIfState(visitor_id, tupleElement(x, 3) = 1 AND tupleElement(x, 5) >= 100) AS reached_100
FROM ({{template "sessions.sql" .Sessions}})
ARRAY JOIN arrayConcat(
    arrayMap((n, p) -> tuple(p, toUInt64(1), toUInt64(0), toUInt64(0), toUInt64(0)),
        arrayFilter((n, p) -> n = 'pageview', seq_names, seq_paths), arrayFilter((p, n) -> n = 'pageview', seq_paths, seq_names)),
    arrayMap((p, ms, sc) -> tuple(p, toUInt64(0), toUInt64(1), ms, sc), eng_paths, eng_ms, eng_scroll)) AS x
WHERE 1 = 1{{.Where}}{{.PageWhere}}
GROUP BY pathname
