-- The W3C trace context of the batch that wrote each row (RecordTracing), sent as the record's traceparent header when
-- the row is published; null when no tracer listened.
alter table profile_outbox add column if not exists traceparent text;
