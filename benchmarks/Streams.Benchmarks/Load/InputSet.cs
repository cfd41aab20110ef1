using System.Text;
using Confluent.Kafka;
using Streams.Simulator;

namespace Streams.Benchmarks.Load;

/// <summary>
/// Simulated raw input records, generated and encoded before any clock starts, in the order they are produced: the
/// simulator's mix of channels, dirt, duplicates and consent requests. Keyed by simulated customer, as a channel team
/// would key them, so one customer's events keep their order within a partition.
/// </summary>
internal sealed class InputSet
{
    private readonly string[] topics;
    private readonly byte[] topicOf;
    private readonly byte[]?[] keys;
    private readonly byte[][] values;

    private InputSet(string[] topics, byte[] topicOf, byte[]?[] keys, byte[][] values)
    {
        this.topics = topics;
        this.topicOf = topicOf;
        this.keys = keys;
        this.values = values;
        Bytes = values.Sum(v => (long)v.Length);
        var perTopic = new int[topics.Length];
        foreach (var topic in topicOf)
        {
            perTopic[topic]++;
        }

        MostOfOneTopic = perTopic.Length == 0 ? 0 : perTopic.Max();
    }

    public int Count => values.Length;

    /// <summary>Bytes of all values (what the broker stores, before headers and framing).</summary>
    public long Bytes { get; }

    public double MeanBytes => Count == 0 ? 0 : (double)Bytes / Count;

    /// <summary>Records of the input topic that has most (counted when the set is made, before any clock starts).</summary>
    public int MostOfOneTopic { get; }

    /// <summary>The input topic of record <paramref name="i"/>.</summary>
    public string TopicOf(int i) => topics[topicOf[i]];

    public Message<byte[]?, byte[]> Message(int i) => new() { Key = keys[i], Value = values[i] };

    /// <summary>
    /// The first <paramref name="count"/> records and the rest, as two sets. One simulation split in two, because the
    /// simulator numbers event ids from 0 whatever its seed: two simulations into one pipeline would be duplicates.
    /// </summary>
    public (InputSet Head, InputSet Tail) Split(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        return (new InputSet(topics, topicOf[..count], keys[..count], values[..count]),
            new InputSet(topics, topicOf[count..], keys[count..], values[count..]));
    }

    /// <summary>Records per input topic.</summary>
    public IReadOnlyDictionary<string, int> CountByTopic() =>
        topicOf.GroupBy(t => topics[t]).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>
    /// The first <paramref name="count"/> records of a seeded simulation at <paramref name="now"/>; oversized records are
    /// made just larger than <paramref name="maxRecordBytes"/>, which must be the pipeline's <c>Ingest:MaxRecordBytes</c>.
    /// </summary>
    public static InputSet Simulate(int count, int seed, DateTimeOffset now, int maxRecordBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var options = new SimulatorOptions
        {
            Seed = seed,
            Now = now,
            MaxRecordBytes = maxRecordBytes,
            // Customers × events per customer, before consent requests and duplicates, covers the count.
            Customers = Math.Max(20, count / 20 + 1),
            EventsPerCustomer = 20,
        };
        var topics = SimulatorTopics.All.ToArray();
        var topicIndex = topics.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => (byte)p.i, StringComparer.Ordinal);
        var customerKeys = new Dictionary<int, byte[]>();
        var topicOf = new byte[count];
        var keys = new byte[]?[count];
        var values = new byte[count][];
        var n = 0;
        foreach (var record in new TrafficSimulator(options).Generate())
        {
            if (n == count)
            {
                break;
            }

            topicOf[n] = topicIndex[record.Topic];
            keys[n] = record.CustomerId is { } id
                ? customerKeys.TryGetValue(id, out var key) ? key : customerKeys[id] = Encoding.UTF8.GetBytes($"customer-{id}")
                : null;
            values[n] = Encoding.UTF8.GetBytes(record.Value);
            n++;
        }

        if (n < count)
        {
            throw new InvalidOperationException($"The simulation yielded {n:N0} records, fewer than the {count:N0} asked for.");
        }

        return new InputSet(topics, topicOf, keys, values);
    }
}
