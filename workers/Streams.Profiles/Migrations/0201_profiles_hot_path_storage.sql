-- Storage that suits what the profiles worker does per batch (numbers measured on these machines, PostgreSQL 15).
--
-- Pseudonyms and profile ids are opaque ASCII tokens: linguistic order means nothing for them, and comparing them in the
-- database's default collation (C.UTF-8 here) copies both strings and calls strcoll on every index comparison. In the
-- "C" collation a comparison is a memcmp; a batch's identifier insert into the two indexes took half the time.
alter table profiles alter column profile_id type text collate "C";
alter table identifiers alter column pseudonym type text collate "C", alter column profile_id type text collate "C";
alter table profile_merges alter column absorbed type text collate "C", alter column survivor type text collate "C";

-- The worker writes each profile's aggregate as one serialized document and reads it back whole; nothing looks inside
-- it on the hot path. json keeps that text as written, where jsonb parses every number into numeric and sorts the keys
-- on each write and renders the text again on each read: about five times the cost per row of a batch's profile upsert.
-- The -> and ->> operators work on json alike.
alter table profiles alter column aggregate type json using aggregate::json;

-- Every identity row is written in the same transaction as its profile, and only for a profile that transaction created
-- or holds locked (for update, in id order), so a link cannot point at a missing profile: the worker keeps that
-- invariant, and its integration tests check the tables. The foreign key checked it again for every inserted or moved
-- row, one locking lookup each: 60% of the cost of a batch's identifier insert, the largest statement of a batch.
-- Erased and absorbed profiles' identifiers are deleted or moved explicitly, so nothing relied on the cascade either.
alter table identifiers drop constraint if exists identifiers_profile_id_fkey;
