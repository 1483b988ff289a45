-- dashboard/reports: finalizer (where a site's events begin)
SELECT count() AS n, min(timestamp) AS first FROM events WHERE site = {{str .Site}} AND timestamp >= {{ts .From}}
