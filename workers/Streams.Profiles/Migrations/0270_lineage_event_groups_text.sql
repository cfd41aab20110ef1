-- lineage_event_groups.events holds documents the profiles worker wrote itself (LineageStore.CopyEvents) and only ever
-- reads back whole: as json, PostgreSQL parsed every row of every batch to validate it, about a third of the COPY's cost
-- at a few KiB a row (benchmarks/README.md, issue 17). As text the bytes are checked as UTF-8 only. The statements that
-- look inside a group (a split's regrouping, the inspector's count) cast it to json there, on the rare path.
alter table lineage_event_groups alter column events type text using events::text;
