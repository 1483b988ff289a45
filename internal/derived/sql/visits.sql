{{- /* One row per visit, computed from events (VisitSpan.Query): the visits whose last
event is in [.EndFrom, .EndTo) (and, when set, whose first is in [.StartFrom, .StartTo)),
reading events in [.From, .To). Columns as in Visits.Columns. Events are ordered by
(time_us, event_id): arrival order to the microsecond, then a fixed tie-break. The one
computation of a visit: the finalizer writes its rows, a rebuild inserts them, the
reports compute visits not yet written with it. */ -}}
SELECT l_session_id AS session_id, l_visitor_id AS visitor_id, l_start AS start_time, l_end AS end_time,
    l_pageviews AS pageviews, l_events AS events, l_engaged AS engaged_ms,
    l_entry AS entry_page, l_exit AS exit_page, l_referrer_host AS referrer_host, l_referrer_source AS referrer_source,
    l_utm_source AS utm_source, l_utm_medium AS utm_medium, l_utm_campaign AS utm_campaign,
    l_country AS country_code, l_region AS region, l_city AS city, l_device AS device, l_browser AS browser, l_os AS os,
    arrayMap(x -> tupleElement(x, 3), l_seq) AS seq_names, arrayMap(x -> tupleElement(x, 4), l_seq) AS seq_paths,
    arrayMap(x -> tupleElement(x, 3), l_eng) AS eng_paths, arrayMap(x -> toUInt64(tupleElement(x, 4)), l_eng) AS eng_ms,
    arrayMap(x -> toUInt64(tupleElement(x, 5)), l_eng) AS eng_scroll
FROM (
    SELECT session_id AS l_session_id, any(visitor_id) AS l_visitor_id,
        min(timestamp) AS l_start, max(timestamp) AS l_end,
        toUInt32(countIf(name = 'pageview')) AS l_pageviews, toUInt32(count()) AS l_events,
        toUInt64(sumIf(engaged_ms, name = 'engagement')) AS l_engaged,
        argMinIf(pathname, tuple(time_us, event_id), name = 'pageview') AS l_entry,
        argMaxIf(pathname, tuple(time_us, event_id), name = 'pageview') AS l_exit,
        argMinIf(referrer_host, tuple(time_us, event_id), name = 'pageview') AS l_referrer_host,
        argMinIf(referrer_source, tuple(time_us, event_id), name = 'pageview') AS l_referrer_source,
        argMinIf(utm_source, tuple(time_us, event_id), name = 'pageview') AS l_utm_source,
        argMinIf(utm_medium, tuple(time_us, event_id), name = 'pageview') AS l_utm_medium,
        argMinIf(utm_campaign, tuple(time_us, event_id), name = 'pageview') AS l_utm_campaign,
        any(country_code) AS l_country, any(region) AS l_region, any(city) AS l_city,
        any(device) AS l_device, any(browser) AS l_browser, any(os) AS l_os,
        arraySort(groupArrayIf(tuple(time_us, event_id, name, pathname), name != 'engagement')) AS l_seq,
        arraySort(groupArrayIf(tuple(time_us, event_id, pathname, engaged_ms, scroll), name = 'engagement')) AS l_eng
    FROM events
    WHERE site = {{str .Site}} AND timestamp >= {{ts .From}} AND timestamp < {{ts .To}}{{if gt .Sample 1}} AND {{sampled .Sample}}{{end}}
        AND session_id IN (SELECT session_id FROM events
            WHERE site = {{str .Site}} AND timestamp >= {{ts .EndFrom}} AND timestamp < {{ts .To}}{{if gt .Sample 1}} AND {{sampled .Sample}}{{end}})
    GROUP BY session_id
    HAVING l_end >= {{ts .EndFrom}}{{if not .EndTo.IsZero}} AND l_end < {{ts .EndTo}}{{end}}
        {{- if not .StartTo.IsZero}} AND l_start >= {{ts .StartFrom}} AND l_start < {{ts .StartTo}}{{end}}
)
