-- The automatic shared rule (CONTRACT §4 identity_conflict, Identity:SharedAfterRefusals): per linked identifier, how
-- often the caps refused a new identifier that arrived beside it, and since when (event time) it is shared. On the
-- identity row itself: a batch already reads every row of the profiles it touches, so the mark costs no lookup, and an
-- erasure deletes it with the link. Both columns have constant defaults: adding them rewrites nothing.
alter table identifiers add column refusals integer not null default 0;
alter table identifiers add column shared_at timestamptz;
