-- The segmentation model (centroids, counts, scaler, reservoir sample, version) as one checkpoint row, written in the
-- same transaction as the consumed offsets and the assignments of each mini-batch.
create table if not exists segmentation_model (
    id         integer     primary key check (id = 1),
    checkpoint jsonb       not null,
    updated_at timestamptz not null
);

-- Every consenting profile's latest raw feature vector and its segment. segment_id is null until a model exists;
-- published says whether campaign systems have its assignment (not while its segment is below the privacy floor).
create table if not exists segment_assignments (
    profile_id    text               primary key,
    raw           double precision[] not null,
    segment_id    integer,
    model_version bigint,
    published     boolean            not null default false,
    assignment    jsonb,
    assigned_at   timestamptz
);
create index if not exists segment_assignments_segment on segment_assignments (segment_id);

create table if not exists segment_outbox (
    seq   bigserial primary key,
    topic text      not null,
    key   bytea,
    value bytea
);
