-- The profile sample (up to 5,000 profiles with their raw vectors) was nearly all of the checkpoint: about 1.1 MiB of
-- JSON that every mini-batch read, parsed, serialized and wrote whole, although a mini-batch changes a few dozen of its
-- slots. It moves to one row per slot, written only when the slot changes; the JSON checkpoint keeps the model, the
-- scaling and the counters (a few KiB). A checkpoint of an older release, with its sample still inside the JSON, is
-- read as it is, and its first save moves the sample into these rows (SegmentationCheckpointStore).
create table if not exists segmentation_sample (
    slot       integer            primary key,
    profile_id text               not null,
    raw        double precision[] not null
);

-- Counts the checkpoints written. An instance keeps the model in memory between its mini-batches and, under the
-- model's lock, reads only this number to know whether anyone (another instance, a re-assignment) wrote since.
alter table segmentation_model add column if not exists generation bigint not null default 0;
