-- Key rotation (CONTRACT §3): during a rotation window an identifier has a pseudonym under the previous key and version
-- and one under the active key; both point at the same profile. alias_of, on the older one, names the newer one: the
-- identifier is counted once by the caps (Identity:MaxPerType), through the row without alias_of.
alter table identifiers add column if not exists alias_of text collate "C";
