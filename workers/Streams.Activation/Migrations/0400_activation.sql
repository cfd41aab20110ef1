-- Audience-join requests as processed, per list and requester: who asked, when, how many rows and how many matched.
-- Never which rows: no record id, no identifier, no pseudonym, no profile id (list ids and requester names are the
-- campaign system's opaque names; requests whose names look like personal data are refused before they get here).
create table if not exists activation_audit (
    list_id            text        not null,
    requested_by       text        not null,
    rows               bigint      not null,
    matched            bigint      not null,
    refused            bigint      not null,
    first_requested_at timestamptz not null,
    last_requested_at  timestamptz not null,
    primary key (list_id, requested_by)
);

-- Transactional outbox of activation-responses and quarantine records, written with the audit and the consumed offsets
-- and published after commit (TableOutboxPublisher). Holds answers only: record ids and segments, never an identifier.
create table if not exists activation_outbox (
    seq   bigserial primary key,
    topic text      not null,
    key   bytea,
    value bytea
);
