-- dashboard/reports: SampleRate (every report: how many visits its period has written)
SELECT toUInt64(sum(visits)) AS n
FROM visit_stats_daily
WHERE site = {{str .Site}} AND day >= {{date .From}} AND day <= {{date .To}}
