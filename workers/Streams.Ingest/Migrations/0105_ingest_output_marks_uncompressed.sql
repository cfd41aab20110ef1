-- Every batch writes one document of output marks (an entry per output partition: about 3 KB with 16 partitions per
-- topic) into the row of every input partition it read, 80 rows in pipeline-load. Past about 2 KB PostgreSQL compresses
-- a row's value, so the same document was compressed 80 times a batch: replayed in PostgreSQL 15, the batch's marks
-- statement took 2.7-3.9 ms with compression and 1.2-1.5 ms without (benchmarks/README.md, issue 17). Rows up to a
-- page's size stay as written; the updates stay heap-only on the quarter-filled pages (0104). Applies to rows written
-- from now on: no rewrite.
alter table ingest_output_marks set (toast_tuple_target = 8160);
