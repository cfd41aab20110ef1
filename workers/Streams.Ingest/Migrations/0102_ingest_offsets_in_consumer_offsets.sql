-- One offset store: ingest's next offsets move to consumer_offsets (consumer 'ingest', fenced by partition_epochs like
-- every other worker's), and ingest_checkpoints keeps only what the recovery scan needs, the output end offsets,
-- under the name ingest_output_marks. Both are written in the same fenced transaction. An upgraded deployment resumes
-- where it was: each partition's next offset and marks are carried over as they were.
insert into consumer_offsets (consumer, topic, partition, next_offset, updated_at)
select 'ingest', topic, partition, next_offset, updated_at from ingest_checkpoints
on conflict (consumer, topic, partition) do nothing;

alter table ingest_checkpoints drop column next_offset;
alter table ingest_checkpoints rename to ingest_output_marks;
alter index ingest_checkpoints_pkey rename to ingest_output_marks_pkey;
comment on table ingest_output_marks is
    'Per ingest input partition, every output partition''s end offset ("topic/partition") when its offset in consumer_offsets was stored, in the same transaction: a restart scans the outputs past them.';
