-- Every batch rewrites the output marks of every input partition ingest holds (80 rows in pipeline-load, a few hundred
-- bytes each); no indexed column changes. Pages filled to the brim had no room for the new versions: each update went
-- to another page with a new primary-key entry, and the table grew to hundreds of pages of dead versions for its 80
-- live rows (14 blocks touched per row written, measured with pg_stat_statements in pipeline-load; benchmarks/README.md,
-- issue 17). A quarter-filled page keeps room for a batch's new versions of its rows (heap-only updates; the page's
-- dead versions are pruned when it is next read). Applies to pages written from now on: no rewrite.
alter table ingest_output_marks set (fillfactor = 25);
