-- Unified pseudonymous profiles. Nothing here is personal data: identifiers are pseudonyms (CONTRACT §3) and
-- profile ids are opaque. aggregate holds the mergeable sums, counts, minima and maxima the features derive from.
create table if not exists profiles (
    profile_id              text        primary key,
    first_seen              timestamptz not null,
    last_seen               timestamptz not null,
    aggregate               jsonb       not null,
    personalization_allowed boolean     not null default true,
    version                 bigint      not null,
    updated_at              timestamptz not null
);

-- The identity graph: every pseudonym points at the profile (connected component) it belongs to.
create table if not exists identifiers (
    pseudonym  text        primary key,
    type       text        not null,
    profile_id text        not null references profiles (profile_id) on delete cascade,
    linked_at  timestamptz not null
);
create index if not exists identifiers_profile_id on identifiers (profile_id);

-- Absorbed profiles and the profile they live on in; survivor is always the final one (chains are collapsed).
create table if not exists profile_merges (
    absorbed  text        primary key,
    survivor  text        not null,
    merged_at timestamptz not null
);
create index if not exists profile_merges_survivor on profile_merges (survivor);

-- Consent and erasure requests as processed: what was done and when, never who (no pseudonym, no profile id).
create table if not exists consent_audit (
    id                  bigserial   primary key,
    event_id            text        not null,
    action              text        not null,
    identifier_type     text        not null,
    outcome             text        not null,
    identifiers_removed integer     not null default 0,
    events_erased       bigint      not null default 0,
    requested_at        timestamptz not null,
    processed_at        timestamptz not null default now()
);

-- Transactional outbox: Kafka records written in the same transaction as the change they announce and published
-- after commit. A crash between commit and publish re-publishes; consumers see a repeat, never a gap.
create table if not exists profile_outbox (
    seq        bigserial primary key,
    topic      text      not null,
    key        bytea,
    value      bytea
);
