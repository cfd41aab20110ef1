-- Per transactional outbox and partition, an offset at or below which no record of that outbox's unfinished round can
-- lie (TableOutboxPublisher): the end of the partition when the outbox first wrote there, then where each finished
-- round's records ended there. A round killed between the broker's acknowledgement and its delete is looked for from
-- here, so that its rows are not published twice.
create table if not exists outbox_marks (
    outbox      text    not null,
    topic       text    not null,
    partition   integer not null,
    next_offset bigint  not null,
    primary key (outbox, topic, partition)
);
