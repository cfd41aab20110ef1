-- The stewards' quarantine index: one row per quarantine record ingest wrote for an input record, by the input position
-- it names, filled by the quarantine-index worker with its consumed offsets in the same transaction. Holds what the
-- quarantine topics hold (masked copies: pseudonyms and masks, never a raw identifier, name or free text) and no longer
-- than they do (Topics:EventRetention): the worker deletes older rows.
create table if not exists quarantine_index (
    topic          text        not null,
    partition      integer     not null,
    "offset"       bigint      not null,
    event_id       text,
    disposition    text        not null,
    reason_codes   text[]      not null,
    reasons        jsonb       not null,
    record         json,
    quarantined_at timestamptz not null,
    primary key (topic, partition, "offset")
);

create index if not exists quarantine_index_at on quarantine_index (quarantined_at desc);
create index if not exists quarantine_index_topic_at on quarantine_index (topic, quarantined_at desc);
create index if not exists quarantine_index_codes on quarantine_index using gin (reason_codes);

-- Every steward action on a record: views of originals, replays, refusals. Steward names are operator account names
-- (checked not to look like personal data); no record value is stored here.
create table if not exists steward_audit (
    id        bigserial   primary key,
    at        timestamptz not null,
    steward   text        not null,
    action    text        not null,
    topic     text,
    partition integer,
    "offset"  bigint,
    outcome   text        not null
);

create index if not exists steward_audit_steward on steward_audit (steward, id desc);

-- One row per original ever replayed: the primary key is what makes a replay happen once, whoever asks and however
-- many ask at once. outcome moves from 'replaying' (claimed, not yet written) to 'replayed' (written to the input
-- topic at replayed_partition/replayed_offset) and then to what ingest made of it, when that is learnt: 'accepted',
-- or 'quarantined:<codes>' / 'flagged:<codes>' from the quarantine record of the replayed position.
create table if not exists steward_replays (
    topic              text        not null,
    partition          integer     not null,
    "offset"           bigint      not null,
    steward            text        not null,
    replayed_at        timestamptz not null,
    audit_id           bigint      not null references steward_audit (id),
    replayed_partition integer,
    replayed_offset    bigint,
    event_id           text,
    outcome            text        not null,
    primary key (topic, partition, "offset")
);

create index if not exists steward_replays_replayed on steward_replays (topic, replayed_partition, replayed_offset);
