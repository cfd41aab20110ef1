-- After a re-seed, the rows the new model has not assigned yet are re-assigned in chunks (SegmentationRepository.LoadStale):
-- rows stored before the first model (model_version null) and rows of older versions, oldest version first. With this
-- index each chunk reads only its own rows, and the check at each session start that nothing is left reads none.
create index if not exists segment_assignments_stale on segment_assignments ((coalesce(model_version, 0)), profile_id);
