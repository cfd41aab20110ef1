-- Room on each page for the next version of its profiles (measured with pg_stat_statements in pipeline-load and in
-- a replay of a batch's lookup and upsert, PostgreSQL 15; benchmarks/README.md, issue 17). A batch locks its loaded
-- profiles and rewrites each row whole; no indexed column changes, so the new version can stay on the old one's page
-- (a heap-only update: no entry in the primary key, no other page touched). Filled to the brim, a page had no room,
-- and a third of the updates went to another page with a new index entry, leaving dead entries for every later
-- lookup to step over. Applies to pages written from now on: no rewrite, no lock beyond the catalog's.
alter table profiles set (fillfactor = 70);
