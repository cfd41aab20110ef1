using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Streams.Infrastructure.Kafka;

/// <summary>One partition's position for a consumer group: the log end, and the group's committed offset (or the log start).</summary>
public sealed record PartitionLag(TopicPartition Partition, long End, long Committed)
{
    /// <summary>Records in the partition the group has not committed yet.</summary>
    public long Lag => Math.Max(0, End - Committed);
}

/// <summary>
/// Reads how far consumer groups are behind the end of their topics: committed offsets (OffsetFetch, which does not
/// join the group, so it never triggers a rebalance) against each partition's high watermark. Works on the embedded
/// broker, which has no admin API, as on a real Kafka. A group that never committed a partition is counted from the
/// partition's log start. Not thread-safe; one reader per polling loop.
/// </summary>
public sealed class ConsumerLagReader(string bootstrapServers) : IDisposable
{
    private readonly ConcurrentDictionary<string, IConsumer<Ignore, Ignore>> consumers = new(StringComparer.Ordinal);
    private static readonly TimeSpan PartitionsFreshFor = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (List<TopicPartition> Partitions, long At)> partitionsOf = new(StringComparer.Ordinal);
    private IAdminClient? admin;

    /// <summary>Every partition of <paramref name="topics"/> with the group's position; missing topics are left out.</summary>
    public IReadOnlyList<PartitionLag> Read(string groupId, IEnumerable<string> topics, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        ArgumentNullException.ThrowIfNull(topics);
        var consumer = consumers.GetOrAdd(groupId, Create);
        admin ??= new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = new List<TopicPartition>();
        foreach (var topic in topics)
        {
            partitions.AddRange(PartitionsOf(admin, topic, timeout));
        }

        if (partitions.Count == 0)
        {
            return [];
        }

        var committed = consumer.Committed(partitions, timeout).ToDictionary(c => c.TopicPartition, c => c.Offset);
        // One ListOffsets request per bound for all partitions, where a watermark query costs a round trip each.
        var starts = Offsets(admin, partitions, OffsetSpec.Earliest(), timeout);
        var ends = Offsets(admin, partitions, OffsetSpec.Latest(), timeout);
        var result = new List<PartitionLag>(partitions.Count);
        foreach (var partition in partitions)
        {
            var start = starts[partition];
            var position = committed.TryGetValue(partition, out var offset) && offset != Offset.Unset ? offset.Value : start;
            result.Add(new PartitionLag(partition, ends[partition], Math.Max(position, start)));
        }

        return result;
    }

    /// <summary>
    /// The topic's partitions, from metadata asked again only after <see cref="PartitionsFreshFor"/>: the reader runs
    /// every 100 ms to 1 s (the simulator's pacing, the live view, the load commands), and partitions are rarely added.
    /// A topic not found is asked again on the next read.
    /// </summary>
    private List<TopicPartition> PartitionsOf(IAdminClient client, string topic, TimeSpan timeout)
    {
        if (partitionsOf.TryGetValue(topic, out var known) && Stopwatch.GetElapsedTime(known.At) < PartitionsFreshFor)
        {
            return known.Partitions;
        }

        var partitions = client.GetMetadata(topic, timeout).Topics
            .Where(t => t.Error.Code == ErrorCode.NoError)
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .ToList();
        if (partitions.Count > 0)
        {
            partitionsOf[topic] = (partitions, Stopwatch.GetTimestamp());
        }

        return partitions;
    }

    private static Dictionary<TopicPartition, long> Offsets(IAdminClient admin, List<TopicPartition> partitions, OffsetSpec spec, TimeSpan timeout) =>
        admin.ListOffsetsAsync(partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = spec }),
                new ListOffsetsOptions { RequestTimeout = timeout })
            .GetAwaiter().GetResult()
            .ResultInfos.ToDictionary(r => r.TopicPartitionOffsetError.TopicPartition, r => r.TopicPartitionOffsetError.Offset.Value);

    /// <summary>The group's total lag over <paramref name="topics"/>.</summary>
    public long TotalLag(string groupId, IEnumerable<string> topics, TimeSpan timeout) => Read(groupId, topics, timeout).Sum(p => p.Lag);

    public void Dispose()
    {
        admin?.Dispose();
        foreach (var consumer in consumers.Values)
        {
            // Close() would leave a group it never joined; Dispose only releases the handle.
            consumer.Dispose();
        }

        consumers.Clear();
    }

    private IConsumer<Ignore, Ignore> Create(string groupId) =>
        new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = groupId,
                EnableAutoCommit = false,
                EnableAutoOffsetStore = false,
            })
            .SetLogHandler((_, _) => { })
            .Build();
}
