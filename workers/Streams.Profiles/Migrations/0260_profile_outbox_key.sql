-- An erasure deletes the erased profiles' records still waiting in the outbox (ProfileRepository.EraseFromOutbox). By
-- key without an index, that read the whole heap, the dead versions of every record published since the last vacuum
-- included: 57 ms a delete in pipeline-load (2026-12-06), more the longer the broker is away. A plain index, as the
-- outbox holds only the records not yet published.
create index if not exists profile_outbox_key on profile_outbox (key);
