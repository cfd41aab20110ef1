-- Each profile row lists its identifiers' pseudonyms in ordinal order: the reverse of identifiers (pseudonym →
-- profile_id), written by the worker in the same transaction as the links, for profiles it created or holds locked.
--
-- A batch needs every identifier of each profile it touches (the caps count them, a merge moves them, the published
-- record lists them). Finding them through an index on identifiers(profile_id) made every new link an insert into two
-- indexes of random keys, in the largest statement of a batch, and a moved link could never be a HOT update. Measured
-- on these machines (PostgreSQL 15, pg_stat_statements over three 60,000-event load runs): the identifier insert went
-- from 1,526 to 1,004 ms, the profile upsert carrying the lists from 554 to 618 ms. Reading a profile's links is now the
-- list here, then one primary-key lookup per pseudonym: the same lookups the index served.
alter table profiles add column pseudonyms text[] collate "C";
update profiles p
set pseudonyms = coalesce((select array_agg(i.pseudonym order by i.pseudonym) from identifiers i where i.profile_id = p.profile_id), '{}');
alter table profiles alter column pseudonyms set not null;
drop index if exists identifiers_profile_id;
