-- A replayed batch carries its id as insert_deduplication_token; engines that know the
-- setting keep a window of recent tokens on the events table and drop a repeat.
-- ClickHouse 18.16 has neither: there, event ids prove the absence of duplicates.
{{if .Modern}}
ALTER TABLE events MODIFY SETTING non_replicated_deduplication_window = 1000;
{{end}}
