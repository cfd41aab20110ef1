-- Fencing: per (consumer, topic, partition), the epoch of the instance that owns the partition now. An instance takes
-- the next epoch when the partition is assigned to it and every checkpoint it writes calls streams_fence first, in
-- the checkpoint's own transaction: an instance that has since lost the partition (evicted from its group while it
-- was still working, say) finds a later epoch and its whole transaction is refused, so it can neither store effects
-- nor move offsets back. streams_fence holds a share lock on the epoch rows until the transaction ends, so a new
-- owner's claim waits for a checkpoint already past its check, and the new owner reads what that checkpoint wrote.
create table if not exists partition_epochs (
    consumer   text        not null,
    topic      text        not null,
    partition  integer     not null,
    epoch      bigint      not null,
    claimed_at timestamptz not null default now(),
    primary key (consumer, topic, partition)
);

-- Raises SQLSTATE SF409 (a class of its own: no PostgreSQL error uses SF) naming the first partition whose epoch is no
-- longer the caller's, or that nobody has claimed.
create or replace function streams_fence(p_consumer text, p_topics text[], p_partitions integer[], p_epochs bigint[])
returns void language plpgsql as $$
declare
    stale record;
begin
    select u.topic, u.partition, u.epoch as mine, e.epoch as current into stale
    from unnest(p_topics, p_partitions, p_epochs) as u(topic, partition, epoch)
    left join (
        select e.topic, e.partition, e.epoch from partition_epochs e
        join unnest(p_topics, p_partitions) as k(topic, partition) using (topic, partition)
        where e.consumer = p_consumer
        order by e.topic, e.partition
        for share of e
    ) e using (topic, partition)
    where e.epoch is distinct from u.epoch
    limit 1;
    if found then
        raise exception 'partition %/% of % is fenced: epoch % is not the current %', stale.topic, stale.partition, p_consumer,
            stale.mine, coalesce(stale.current::text, 'none')
            using errcode = 'SF409';
    end if;
end
$$;
