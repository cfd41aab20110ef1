-- Offsets of Kafka input consumed by workers that keep their state in PostgreSQL. A worker stores the next offset to
-- read in the same transaction as the effects of the batch, and on start resumes from here rather than from the
-- consumer group's committed offsets: that is what makes a replayed batch impossible to count twice.
create table if not exists consumer_offsets (
    consumer    text    not null,
    topic       text    not null,
    partition   integer not null,
    next_offset bigint  not null,
    updated_at  timestamptz not null default now(),
    primary key (consumer, topic, partition)
);
