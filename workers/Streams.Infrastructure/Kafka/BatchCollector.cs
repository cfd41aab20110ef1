using Confluent.Kafka;
using Streams.Infrastructure.Hosting;

namespace Streams.Infrastructure.Kafka;

/// <summary>Gathers consumed records into batches: a batch is what one checkpoint covers.</summary>
/// <remarks>
/// A batch's size follows the backlog. Once it holds a record it takes every record the consumer already has, without
/// waiting; when those run out it waits for more during a short linger (by default a quarter of the longest wait:
/// <see cref="CheckpointedBatchSettings.Linger"/>), and after that only while the broker holds records for this consumer that it has not read yet (the consumer's
/// lag as of its last fetch: <see cref="Backlog{TKey, TValue}"/>). Under load there is such a backlog, so a batch fills
/// up to its most records and the per-batch costs (a transaction, a flush) are spread over many; with a thin stream
/// there is none, so a batch closes at the end of its linger with the records there are then. Whatever arrives while a
/// batch is handled makes the next one, which then does not linger (those records waited already): batches grow with
/// the rate on their own. A batch never waits past its longest wait from the moment it got its first record.
/// </remarks>
public static class BatchCollector
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Clears <paramref name="buffer"/> and fills it with up to <paramref name="maxRecords"/> records (see the remarks on
    /// <see cref="BatchCollector"/> for when it closes earlier, after <paramref name="linger"/>), waiting at most <paramref name="maxWait"/> on
    /// <paramref name="clock"/> once the first one is in; an idle input gives an empty buffer after about
    /// <paramref name="maxWait"/> (at least one idle poll), so the caller's upkeep runs while nothing comes. Beats
    /// <paramref name="heartbeat"/> once per batch and on every idle poll (not per record: a beat reads the clock, which
    /// is not free at hundreds of thousands of records a second). Being called again tells the heartbeat that the batch
    /// filled before is done, for the runtime's batch meters.
    /// </summary>
    public static void Fill<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, List<ConsumeResult<TKey, TValue>> buffer, int maxRecords, TimeSpan maxWait, TimeSpan linger,
        WorkerHeartbeat? heartbeat, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(buffer);
        buffer.Clear();
        heartbeat?.BatchDone();
        heartbeat?.Beat(consumer);
        Collect(consumer, () => buffer.Count, buffer.Add, maxRecords, maxWait, linger, TimeSpan.Zero, heartbeat, clock, cancellationToken);
        if (buffer.Count > 0)
        {
            heartbeat?.BatchFilled(buffer.Count);
        }
    }

    /// <summary>
    /// Consumes into <paramref name="add"/> until <paramref name="count"/> reaches <paramref name="maxRecords"/> or the
    /// batch closes earlier because the broker holds nothing more for this consumer, waiting at most
    /// <paramref name="maxWait"/> on <paramref name="clock"/> once there is a record (records already counted when it is
    /// called have waited <paramref name="waited"/>); with none it returns after about <paramref name="maxWait"/> of idle polls
    /// (at least one), beating <paramref name="heartbeat"/> on each. For a loop that keeps records its own way;
    /// <see cref="Fill{TKey, TValue}"/> is this into a list.
    /// </summary>
    public static void Collect<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, Func<int> count, Action<ConsumeResult<TKey, TValue>> add, int maxRecords, TimeSpan maxWait,
        TimeSpan linger, TimeSpan waited, WorkerHeartbeat? heartbeat, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        Collect(
            wait => consumer.Consume(wait) is { IsPartitionEOF: false } record ? record : null,
            () => Backlog(consumer), count, add, maxRecords, maxWait, linger, waited, () => heartbeat?.Beat(consumer), clock,
            cancellationToken);
    }

    /// <summary>
    /// The batching rule of <see cref="Collect{TKey, TValue}"/> over any source of records: <paramref name="poll"/> waits up
    /// to the time it is given for one record (null if none came), <paramref name="backlog"/> says how many records the
    /// source knows of that it has not handed out yet, <paramref name="idle"/> runs after each empty idle poll.
    /// </summary>
    internal static void Collect<TRecord>(
        Func<TimeSpan, TRecord?> poll, Func<long> backlog, Func<int> count, Action<TRecord> add, int maxRecords, TimeSpan maxWait,
        TimeSpan linger, TimeSpan waited, Action idle, TimeProvider clock, CancellationToken cancellationToken)
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(poll);
        ArgumentNullException.ThrowIfNull(backlog);
        ArgumentNullException.ThrowIfNull(count);
        ArgumentNullException.ThrowIfNull(add);
        ArgumentNullException.ThrowIfNull(idle);
        ArgumentNullException.ThrowIfNull(clock);
        var idleSince = clock.GetTimestamp();
        // Records there already were read ahead while the batch before was handled: their batch opened when the first came.
        var open = count() > 0;
        var opened = idleSince - Ticks(waited, clock);
        var lingerEnds = opened + Ticks(linger, clock);
        while (count() < maxRecords && !cancellationToken.IsCancellationRequested)
        {
            // A rebalance inside poll may take every record of the batch away: it is then as if none had come.
            if (!open || count() == 0)
            {
                if (poll(IdlePoll) is { } first)
                {
                    (open, opened) = (true, clock.GetTimestamp());
                    lingerEnds = opened + Ticks(linger, clock);
                    add(first);
                    continue;
                }

                idle();
                if (clock.GetElapsedTime(idleSince) >= maxWait)
                {
                    break;
                }

                continue;
            }

            // What the consumer has fetched already is taken without waiting, but not past the first record's longest wait
            // (understanding each record as it is added takes time too).
            if (clock.GetElapsedTime(opened) >= maxWait)
            {
                break;
            }

            if (poll(TimeSpan.Zero) is { } ready)
            {
                add(ready);
                continue;
            }

            // Nothing fetched is left. During its short linger the batch waits for what comes; after it, only a backlog
            // on the broker (a busy stream) keeps it open, up to the longest wait of its first record. A thin stream's
            // batch closes here.
            var now = clock.GetTimestamp();
            TimeSpan left;
            if (now < lingerEnds)
            {
                left = clock.GetElapsedTime(now, lingerEnds);
            }
            else if (backlog() > 0)
            {
                left = maxWait - clock.GetElapsedTime(opened, now);
            }
            else
            {
                break;
            }

            if (left <= TimeSpan.Zero)
            {
                break;
            }

            if (poll(left) is { } next)
            {
                add(next);
            }
        }
    }

    private static long Ticks(TimeSpan span, TimeProvider clock) => (long)(span.TotalSeconds * clock.TimestampFrequency);

    /// <summary>
    /// Records of the consumer's assigned partitions on the broker that it has not handed out yet: per partition, the end
    /// offset the last fetch reported less the consumer's position. Read from what the client already knows (no
    /// request to the broker); a partition not fetched or not consumed from yet counts as none.
    /// </summary>
    public static long Backlog<TKey, TValue>(IConsumer<TKey, TValue> consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var total = 0L;
        foreach (var partition in consumer.Assignment)
        {
            try
            {
                var end = consumer.GetWatermarkOffsets(partition).High;
                var position = consumer.Position(partition);
                if (!end.IsSpecial && !position.IsSpecial)
                {
                    total += Math.Max(0, end.Value - position.Value);
                }
            }
            catch (KafkaException)
            {
                // A partition the client cannot answer for gives no evidence of a backlog: the batch may close sooner.
            }
        }

        return total;
    }
}
