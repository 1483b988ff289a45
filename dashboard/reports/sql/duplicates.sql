-- dashboard/reports: finalizer (visits written twice, by two finalizers at once)
SELECT toUInt32(toYYYYMM(start_time)) AS month, toUInt64(count()) AS n, toUInt64(uniqExact(session_id)) AS u
FROM sessions
WHERE site = {{str .Site}} AND start_time >= {{ts .StartFrom}} AND end_time >= {{ts .EndFrom}} AND end_time < {{ts .EndTo}}
GROUP BY month
HAVING n > u
