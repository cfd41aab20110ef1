-- Reversible merges (CONTRACT §5.4). Nothing here is personal data: pseudonyms and opaque profile ids only.
--
-- Every merge as it happened: the canonical record that bridged the two profiles (its event_id, its position on the
-- canonical topic and the input record it came from), the event's pseudonyms that led to the merged profiles in the
-- order the event listed them (identifiers), and those of them that led to the absorbed one (bridge). survivor is the profile it joined
-- then; profile_merges keeps the final one. merge_id is derived from the record's position and the absorbed id, so a
-- batch run again writes the same id.
create table if not exists merge_lineage (
    merge_id         text        collate "C" primary key,
    absorbed         text        collate "C" not null,
    survivor         text        collate "C" not null,
    merged_at        timestamptz not null,
    event_id         text        not null,
    canonical_topic  text        not null,
    canonical_partition integer  not null,
    canonical_offset bigint      not null,
    source_topic     text        not null,
    source_partition integer     not null,
    source_offset    bigint      not null,
    identifiers      text[]      collate "C" not null,
    bridge           text[]      collate "C" not null,
    unmerged_at      timestamptz
);
create index if not exists merge_lineage_absorbed on merge_lineage (absorbed);
create index if not exists merge_lineage_survivor on merge_lineage (survivor);

-- Links an operator undid: in an event that also carries keep, the pseudonym is left out (identity_conflict), as if the
-- event had never carried it. merge_id names the unmerge that made the block, null for a detach.
create table if not exists identity_blocks (
    pseudonym  text        collate "C" not null,
    keep       text        collate "C" not null,
    merge_id   text        collate "C",
    blocked_at timestamptz not null,
    primary key (pseudonym, keep)
);
create index if not exists identity_blocks_keep on identity_blocks (keep);

-- What re-deriving a profile needs (Identity:LineageRetention): each canonical event as it was used, with only the
-- identifiers it linked to its profile, in the order the worker applied them (seq), and where it sat on the canonical
-- topic (a profile's id derives from the record that created it). profile_id is the profile the event was attributed
-- to; an absorbed one is found through profile_merges. Rows go when kept_until passes, or with their profile's erasure.
create table if not exists lineage_events (
    seq                 bigserial   primary key,
    profile_id          text        collate "C" not null,
    canonical_topic     text        not null,
    canonical_partition integer     not null,
    canonical_offset    bigint      not null,
    event               json        not null,
    kept_until          timestamptz not null
);
create index if not exists lineage_events_profile_id on lineage_events (profile_id);
create index if not exists lineage_events_kept_until on lineage_events (kept_until);
