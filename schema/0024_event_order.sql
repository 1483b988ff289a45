-- The order of events inside a visit, exact: Unix microseconds of receipt, stamped by
-- the collector from a clock that never repeats or goes back within a process, so a
-- page view and the engagement event sent as the next one starts keep their order even
-- inside one second. Rows stored before this column existed read it from timestamp
-- (whole seconds); readers break what ties remain by event_id, so figures are stable.
-- The migrator runs ADD COLUMN only when the column is missing (18.16 has no IF NOT EXISTS).
ALTER TABLE events ADD COLUMN time_us UInt64 DEFAULT toUInt64(toUnixTimestamp(timestamp)) * 1000000;
