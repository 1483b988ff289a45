-- dashboard/reports: sessions progress (how far the sessions table is complete)
SELECT max(done_until) AS done FROM sessions_progress WHERE site = {{str .Site}}
