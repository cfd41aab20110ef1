-- Storage that suits what each mini-batch does to its profiles' rows (measured with pg_stat_statements in
-- pipeline-load, PostgreSQL 15): the assignments upsert was segmentation's largest statement, and reading the members
-- waiting for their segment to pass the privacy floor read ~1,000 index entries per mini-batch to find a few.
--
-- Profile ids are opaque tokens: compared in the "C" collation (a memcmp) rather than the database's default (strcoll
-- on copies), as the profiles worker's tables do (migration 0201). Only the collation changes; the indexes are rebuilt.
alter table segment_assignments alter column profile_id type text collate "C";

-- The assignment is written whole on every update of its profile and read back whole (or one key of it, ->> works on
-- json alike); jsonb parsed it into its binary form and rendered it again on each read. json keeps the text the
-- engine wrote, which is also the record it publishes.
alter table segment_assignments alter column assignment type json using assignment::json;

-- The one reader by segment (SegmentationRepository.LoadWaiting) wants the members not published yet, a few among all;
-- a partial index holds just those, where the index on every row's segment_id cost an entry per row changed.
drop index if exists segment_assignments_segment;
create index if not exists segment_assignments_waiting on segment_assignments (segment_id, model_version) where not published;

-- Most updates of a row change its vector and explanation and keep its segment and version: with room left on its page,
-- the new version stays there (a heap-only update) and no index is touched. Applies to pages written from now on.
alter table segment_assignments set (fillfactor = 80);
