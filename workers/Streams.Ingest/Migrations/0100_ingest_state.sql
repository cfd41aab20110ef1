-- Ingest's progress per input partition. next_offset is the first offset not yet fully handled; output_marks maps
-- every output partition ("topic/partition") to its end offset as known when this checkpoint was written. After a
-- crash, outputs past those marks are scanned so that records already written are not written again.
create table if not exists ingest_checkpoints (
    topic        text    not null,
    partition    integer not null,
    next_offset  bigint  not null,
    output_marks jsonb   not null default '{}'::jsonb,
    updated_at   timestamptz not null default now(),
    primary key (topic, partition)
);

-- De-duplication: event ids used per input topic, with the Kafka timestamp of the record that first used them.
-- Written in the same transaction as the checkpoint, so a record re-read after a crash is judged exactly as before.
create table if not exists ingest_seen_events (
    topic        text        not null,
    event_id     text        not null,
    first_offset bigint      not null,
    seen_at      timestamptz not null,
    primary key (topic, event_id)
);

create index if not exists ingest_seen_events_seen_at on ingest_seen_events (seen_at);
