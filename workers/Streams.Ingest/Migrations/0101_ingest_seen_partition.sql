-- A claim on an event id names the record that holds it by partition and offset, so that the same record read again
-- (after a crash, by the partition's next owner) keeps its claim while a record with the same id elsewhere is a
-- duplicate. seen_at is now when ingest saw the record, by its own clock. Rows from before have partition -1: they
-- belong to records already checkpointed, which are never read again.
alter table ingest_seen_events add column if not exists first_partition integer not null default -1;
