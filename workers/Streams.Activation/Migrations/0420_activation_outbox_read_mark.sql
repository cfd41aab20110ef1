-- The highest seq of activation_outbox a publishing round has read (TableOutboxPublisher). A sequence, because a round that dies
-- rolls back everything else it wrote: a row at or below this mark may have been published already, and is looked for
-- on the broker before it is sent.
create sequence if not exists activation_outbox_read_mark as bigint minvalue 0 start with 0;
