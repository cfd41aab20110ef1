using System.Diagnostics;
using Confluent.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Hosting;

/// <summary>A record as a worker understood it (<typeparamref name="TItem"/>), with where it sits on its topic.</summary>
public readonly record struct PendingRecord<TItem>(string Topic, int Partition, long Offset, TItem Item)
{
    /// <summary>The span that produced it, when it carried trace context and a tracer listens (<see cref="RecordTracing"/>).</summary>
    public ActivityContext Producer { get; init; }
}

/// <summary>
/// Records read but not in a batch yet, per partition in offset order. A batch is cut from them oldest first across
/// partitions (by the record's timestamp, then by the order they were read), so that with a backlog a batch is a slice of
/// time across the partitions rather than a run of the few partitions whose fetches came back first. A customer's events,
/// spread over partitions by their keys, then meet in one batch and the profile is written once instead of once per batch
/// (measured: batches of 4 partitions of 16 wrote twice the profile rows of batches of all 16).
/// </summary>
/// <remarks>
/// Each partition gives the batch a prefix of what it holds, so the offsets stored with a batch never skip a record.
/// </remarks>
internal sealed class PendingRecords<TItem>
{
    private readonly Dictionary<(string Topic, int Partition), Queue<Entry>> partitions = [];
    private long sequence;
    private TimeSpan readTime;

    public int Count { get; private set; }

    /// <summary>Adds the next record of its partition; <paramref name="spent"/> is the time it took to understand it.</summary>
    public void Add(PendingRecord<TItem> record, long timestampMs, TimeSpan spent)
    {
        if (!partitions.TryGetValue((record.Topic, record.Partition), out var queue))
        {
            partitions[(record.Topic, record.Partition)] = queue = new Queue<Entry>();
        }

        queue.Enqueue(new Entry(timestampMs, sequence++, record));
        Count++;
        readTime += spent;
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> records, oldest first across partitions, and the time spent reading what was
    /// added since the last cut.
    /// </summary>
    public (List<PendingRecord<TItem>> Records, TimeSpan ReadTime) Cut(int max)
    {
        var records = new List<PendingRecord<TItem>>(Math.Min(max, Count));
        var heads = new PriorityQueue<Queue<Entry>, (long Timestamp, long Sequence)>(partitions.Count);
        foreach (var queue in partitions.Values)
        {
            if (queue.Count > 0)
            {
                heads.Enqueue(queue, Order(queue.Peek()));
            }
        }

        while (records.Count < max && heads.TryDequeue(out var queue, out _))
        {
            records.Add(queue.Dequeue().Record);
            if (queue.Count > 0)
            {
                heads.Enqueue(queue, Order(queue.Peek()));
            }
        }

        Count -= records.Count;
        var spent = readTime;
        readTime = TimeSpan.Zero;
        return (records, spent);
    }

    /// <summary>Forgets the records of partitions this worker no longer holds: their next owner reads them again.</summary>
    public void Drop(IEnumerable<TopicPartition> gone)
    {
        foreach (var partition in gone)
        {
            if (partitions.Remove((partition.Topic, partition.Partition.Value), out var queue))
            {
                Count -= queue.Count;
            }
        }
    }

    private static (long, long) Order(Entry entry) => (entry.TimestampMs, entry.Sequence);

    private readonly record struct Entry(long TimestampMs, long Sequence, PendingRecord<TItem> Record);
}
