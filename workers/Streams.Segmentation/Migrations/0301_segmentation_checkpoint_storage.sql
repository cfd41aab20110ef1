-- The checkpoint is written whole after every mini-batch and read whole before the next one; nothing queries inside
-- it on the worker's path. Most of it is the reservoir sample (5,000 vectors of 30 numbers: about 1.4 MB of text).
-- As jsonb, every write parsed all of those numbers into numeric and every read rendered them back to text; as json
-- the text is kept as written. Stored uncompressed (external): compressing 1.4 MB of digits on every write and
-- decompressing it on every read cost CPU for little space, since only the latest checkpoint row is kept.
-- The -> and ->> operators work on json alike.
alter table segmentation_model alter column checkpoint type json using checkpoint::json;
alter table segmentation_model alter column checkpoint set storage external;
