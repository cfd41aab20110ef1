-- lineage_event_groups.events holds documents the profiles worker writes itself (LineageStore.CopyEvents) and reads back
-- only whole: as json, PostgreSQL parsed every row of every batch to validate it, a third of the COPY's cost at a few KiB
-- a row (benchmarks/README.md, issue 17). New rows keep the same document in events_text, which is checked as UTF-8 only.
-- A new nullable column and a dropped not-null are changes to the catalog alone: changing the type of events would
-- rewrite a retention period's lineage under an exclusive lock at the upgrade. Rows written before keep their json,
-- every reader takes whichever of the two a row has, and they leave with their retention. The statements that look
-- inside a group (a split's regrouping, the inspector's count) cast it to json there, on their rare paths.
alter table lineage_event_groups alter column events drop not null;
alter table lineage_event_groups add column if not exists events_text text;
alter table lineage_event_groups add constraint lineage_event_groups_one_document
    check ((events is null) <> (events_text is null)) not valid;
