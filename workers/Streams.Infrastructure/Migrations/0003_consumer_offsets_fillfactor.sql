-- Every worker's batch rewrites the next offsets of its partitions (one short row each, a few hundred rows in all);
-- no indexed column changes. Pages filled to the brim had no room for the new versions: each update went to another
-- page with a new primary-key entry (7 blocks touched per row written, measured with pg_stat_statements in
-- pipeline-load; benchmarks/README.md, issue 17). A page filled to a fifth keeps room for a batch's new versions of
-- its rows (heap-only updates; dead versions are pruned when the page is next read). Applies to pages written from now
-- on: no rewrite.
alter table consumer_offsets set (fillfactor = 20);
