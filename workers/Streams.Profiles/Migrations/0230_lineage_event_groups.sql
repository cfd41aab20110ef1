-- A batch's retained events of one profile as one row (CONTRACT §5.4), instead of a row per event in lineage_events:
-- a customer's events mostly reach a batch together (about three to seven a profile and batch under load), and each
-- row with its index entries cost more than its document (benchmarks/README.md, issue 17). batch is a value of
-- lineage_events' sequence taken once per batch, so rows of both tables sort in the order applied; each element of
-- events is {"n": its place in the batch, "t", "p", "o": where it sat on the canonical topic, "e": the event as used}.
-- lineage_events is still read, and emptied by its retention; new batches no longer write it.
create table if not exists lineage_event_groups (
    profile_id text        collate "C" not null,
    batch      bigint      not null,
    kept_until timestamptz not null,
    events     json        not null,
    primary key (profile_id, batch)
) with (toast_tuple_target = 8160);
create index if not exists lineage_event_groups_kept_until on lineage_event_groups (kept_until);
