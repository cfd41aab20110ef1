using Confluent.Kafka;
using Streams.Infrastructure.Hosting;

namespace Streams.Infrastructure.Kafka;

/// <summary>Gathers consumed records into batches: a batch is what one checkpoint covers.</summary>
public static class BatchCollector
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Clears <paramref name="buffer"/> and fills it with up to <paramref name="maxRecords"/> records, waiting at most
    /// <paramref name="maxWait"/> on <paramref name="clock"/> once the first one is in; an idle input gives an empty
    /// buffer after about <paramref name="maxWait"/> (at least one idle poll), so the caller's upkeep runs while nothing comes. Beats <paramref name="heartbeat"/> once per batch and on every idle poll (not per record: a beat reads
    /// the clock, which is not free at hundreds of thousands of records a second). Being called again tells the heartbeat
    /// that the batch filled before is done, for the runtime's batch meters.
    /// </summary>
    public static void Fill<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, List<ConsumeResult<TKey, TValue>> buffer, int maxRecords, TimeSpan maxWait,
        WorkerHeartbeat? heartbeat, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(buffer);
        buffer.Clear();
        heartbeat?.BatchDone();
        heartbeat?.Beat(consumer);
        Collect(consumer, () => buffer.Count, buffer.Add, maxRecords, maxWait, heartbeat, clock, cancellationToken);
        if (buffer.Count > 0)
        {
            heartbeat?.BatchFilled(buffer.Count);
        }
    }

    /// <summary>
    /// Consumes into <paramref name="add"/> until <paramref name="count"/> reaches <paramref name="maxRecords"/>, waiting
    /// at most <paramref name="maxWait"/> on <paramref name="clock"/> once there is a record; with none it returns after
    /// about <paramref name="maxWait"/> of idle polls (at least one), beating <paramref name="heartbeat"/> on each. For a loop that keeps records
    /// its own way; <see cref="Fill{TKey, TValue}"/> is this into a list.
    /// </summary>
    public static void Collect<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, Func<int> count, Action<ConsumeResult<TKey, TValue>> add, int maxRecords, TimeSpan maxWait,
        WorkerHeartbeat? heartbeat, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(count);
        ArgumentNullException.ThrowIfNull(add);
        var started = clock.GetTimestamp();
        var idleSince = started;
        while (count() < maxRecords && !cancellationToken.IsCancellationRequested)
        {
            var wait = count() == 0 ? IdlePoll : maxWait - clock.GetElapsedTime(started);
            if (wait <= TimeSpan.Zero)
            {
                break;
            }

            var result = consumer.Consume(wait);
            if (result is null || result.IsPartitionEOF)
            {
                if (count() > 0)
                {
                    break;
                }

                heartbeat?.Beat(consumer);
                if (clock.GetElapsedTime(idleSince) >= maxWait)
                {
                    break;
                }

                started = clock.GetTimestamp();
                continue;
            }

            add(result);
        }
    }
}
