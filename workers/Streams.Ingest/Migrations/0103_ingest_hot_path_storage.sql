-- Storage that suits what ingest does per batch (measured with pg_stat_statements in pipeline-load, PostgreSQL 15).
--
-- Event ids and topic names are opaque tokens: linguistic order means nothing for them, and in the database's default
-- collation (C.UTF-8 here) every comparison in the primary key copies both strings and calls strcoll. The batch's claim
-- statement, one index search and one index insert per record, was the largest statement of the whole pipeline. In
-- the "C" collation a comparison is a memcmp (as for the profiles worker's identifiers, migration 0201). Only the
-- collation changes, so the table is not rewritten; its indexes are rebuilt.
alter table ingest_seen_events alter column topic type text collate "C", alter column event_id type text collate "C";

-- Every batch stores the output marks of every input partition ingest holds (80 in pipeline-load), the same few KiB of
-- marks each, and reads them back only when a partition is resumed. jsonb parsed and re-rendered every one of them on
-- each write; json keeps the text as written (the recovery reads it whole).
alter table ingest_output_marks alter column output_marks type json using output_marks::json;
alter table ingest_output_marks alter column output_marks set default '{}'::json;
