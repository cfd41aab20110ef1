using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.Benchmarks.Load;

/// <summary>
/// When a consumer group's committed offset on each partition passed each point: a record at offset o of partition p
/// was done (for the profiles group: its profile update acknowledged by the broker) by the first time the committed
/// offset of p exceeded o.
/// </summary>
internal sealed class CommitTimeline
{
    private readonly Dictionary<int, List<(long AtMs, long Committed)>> partitions = [];

    /// <summary>Notes the committed offset of <paramref name="partition"/> seen at <paramref name="atMs"/>; only increases are kept.</summary>
    public void Observe(int partition, long committed, long atMs)
    {
        if (!partitions.TryGetValue(partition, out var points))
        {
            partitions[partition] = points = [];
        }

        if (points.Count == 0 || committed > points[^1].Committed)
        {
            points.Add((atMs, committed));
        }
    }

    /// <summary>The first time the committed offset of <paramref name="partition"/> was past <paramref name="offset"/>.</summary>
    public bool TryFirstPast(int partition, long offset, out long atMs)
    {
        atMs = 0;
        if (!partitions.TryGetValue(partition, out var points) || points.Count == 0 || points[^1].Committed <= offset)
        {
            return false;
        }

        // Committed offsets only grow: the first point past the offset by binary search.
        int low = 0, high = points.Count - 1;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (points[mid].Committed > offset)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        atMs = points[low].AtMs;
        return true;
    }
}

/// <summary>
/// An upper bound on when a downstream group (segmentation) had handled what an upstream stage (profiles) had published
/// by some moment. Each observation is one read of the downstream group's committed offsets and of the ends of the
/// topic between the two stages, with the time before the read began and after it returned. An upstream stage commits
/// only after its outputs are acknowledged, so whatever it had committed when its offsets were seen lies below the ends
/// of any read that began later; the downstream stage commits only after publishing its own outputs, so once its
/// committed offsets reach those ends on every partition, the record is handled and its results are out.
/// </summary>
/// <remarks>
/// An upper bound three times over: every partition must reach its end, where the record went to one of them; the ends
/// are those of the first read after the upstream commit was seen (the lag sampler's, every 250 ms, 100 ms while
/// draining), and a read sees a commit up to one interval late. It needs no link from the downstream records back to
/// the events (profile records carry none) and no request beyond the lag sampler's.
/// </remarks>
internal sealed class DownstreamTimeline
{
    private readonly List<(long ReadFromMs, long[] Ends, long AtMs, long[] Committed)> polls = [];
    private long[]? doneAt;

    /// <summary>
    /// Notes one read that began at <paramref name="readFromMs"/> and returned at <paramref name="atMs"/>: the ends of the
    /// topic between the stages and the downstream group's committed offsets, by partition number.
    /// </summary>
    public void Observe(long readFromMs, IReadOnlyList<long> ends, long atMs, IReadOnlyList<long> committed)
    {
        polls.Add((readFromMs, [.. ends], atMs, [.. committed]));
        doneAt = null;
    }

    /// <summary>
    /// When the downstream group had handled everything the upstream group had committed by <paramref name="upstreamDoneAtMs"/>
    /// (a time <see cref="CommitTimeline.TryFirstPast"/> returned): the first read whose committed offsets reach, on
    /// every partition, the ends of the first read that began after that time. False when there is none.
    /// </summary>
    public bool TryDone(long upstreamDoneAtMs, out long atMs)
    {
        atMs = 0;
        // Strictly after: a read begun in the same millisecond may have begun before the upstream offsets were seen.
        int low = 0, high = polls.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (polls[mid].ReadFromMs > upstreamDoneAtMs)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        if (low == polls.Count)
        {
            return false;
        }

        doneAt ??= DoneAtEachPoll();
        atMs = doneAt[low];
        return atMs >= 0;
    }

    // For every poll, the time of the first poll from it on whose committed offsets reach its ends everywhere (-1: none):
    // committed offsets only grow (their running maximum is taken, as a group's may be read back lower for a moment),
    // so each partition's first poll is a binary search, and the answer the latest of them.
    private long[] DoneAtEachPoll()
    {
        var partitions = polls.Count == 0 ? 0 : polls.Max(p => Math.Max(p.Ends.Length, p.Committed.Length));
        var reached = new long[partitions][];
        for (var p = 0; p < partitions; p++)
        {
            reached[p] = new long[polls.Count];
            var max = 0L;
            for (var i = 0; i < polls.Count; i++)
            {
                max = Math.Max(max, p < polls[i].Committed.Length ? polls[i].Committed[p] : 0);
                reached[p][i] = max;
            }
        }

        var result = new long[polls.Count];
        for (var i = 0; i < polls.Count; i++)
        {
            var first = i;
            for (var p = 0; p < polls[i].Ends.Length && first >= 0; p++)
            {
                var j = FirstAtLeast(reached[p], i, polls[i].Ends[p]);
                first = j < 0 ? -1 : Math.Max(first, j);
            }

            result[i] = first < 0 ? -1 : polls[first].AtMs;
        }

        return result;
    }

    private static int FirstAtLeast(long[] ascending, int from, long value)
    {
        if (ascending.Length == 0 || ascending[^1] < value)
        {
            return value <= 0 ? from : -1;
        }

        int low = from, high = ascending.Length - 1;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (ascending[mid] >= value)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        return low;
    }
}

/// <summary>A canonical record as the tap read it: where it is, when ingest wrote it, and the input record it came from.</summary>
internal readonly record struct CanonicalRecord(int Partition, long Offset, long WrittenMs, SourcePosition Source);

/// <summary>Percentiles of a set of durations in milliseconds.</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    public static LatencySummary Of(IReadOnlyCollection<long> milliseconds)
    {
        if (milliseconds.Count == 0)
        {
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = milliseconds.Order().ToArray();
        return new LatencySummary(sorted.Length, Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99), sorted[^1]);
    }

    /// <summary>Nearest rank: the smallest value with at least <paramref name="q"/> of the values at or below it.</summary>
    public static double Rank(long[] sorted, double q) =>
        // The small margin keeps 0.9 × 100 (90.00000000000001 in binary) at rank 90.
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length - 1e-9) - 1, 0, sorted.Length - 1)];
}

/// <summary>
/// The latencies of each input record the pipeline turned into a canonical event, per stage and end to end: to the
/// canonical event, to its profile update, and (an upper bound, see <see cref="DownstreamTimeline"/>) to its segment
/// assignment.
/// </summary>
/// <param name="SegmentUnmatched">Events whose profile update was seen but no segmentation poll reached its bound.</param>
internal sealed record LatencyReport(LatencySummary ProduceToProfile, LatencySummary ProduceToCanonical, LatencySummary CanonicalToProfile,
    int Unmatched, LatencySummary ProduceToSegment, LatencySummary ProfileToSegment, int SegmentUnmatched)
{
    /// <summary>
    /// Joins each canonical record to its input's produce timestamp (through ingest's <c>streams-source</c> header), to
    /// the time the profiles group's committed offset passed it and, through <paramref name="segments"/>, to the time
    /// segmentation had handled what was published by then. Records of inputs <paramref name="produced"/> did not
    /// write (the warm-up) are left out; records whose profile update was not seen count as unmatched.
    /// </summary>
    public static LatencyReport Join(IEnumerable<CanonicalRecord> canonical, ProduceLog produced, CommitTimeline profiles,
        DownstreamTimeline? segments = null)
    {
        var total = new List<long>();
        var ingest = new List<long>();
        var profile = new List<long>();
        var segment = new List<long>();
        var profileToSegment = new List<long>();
        var unmatched = 0;
        var segmentUnmatched = 0;
        foreach (var record in canonical)
        {
            if (!produced.TryGetTimestamp(record.Source.Topic, record.Source.Partition, record.Source.Offset, out var producedMs))
            {
                continue;
            }

            ingest.Add(record.WrittenMs - producedMs);
            if (!profiles.TryFirstPast(record.Partition, record.Offset, out var doneMs))
            {
                unmatched++;
                continue;
            }

            total.Add(doneMs - producedMs);
            profile.Add(doneMs - record.WrittenMs);
            if (segments is null)
            {
                continue;
            }

            if (segments.TryDone(doneMs, out var segmentMs))
            {
                segment.Add(segmentMs - producedMs);
                profileToSegment.Add(segmentMs - doneMs);
            }
            else
            {
                segmentUnmatched++;
            }
        }

        return new LatencyReport(LatencySummary.Of(total), LatencySummary.Of(ingest), LatencySummary.Of(profile), unmatched,
            LatencySummary.Of(segment), LatencySummary.Of(profileToSegment), segmentUnmatched);
    }
}

/// <summary>
/// Reads the canonical topic (for the latency join) and the profiles topic (for its record sizes) from the start, as a
/// consumer outside any group, and notices records the embedded broker dropped before they were read.
/// </summary>
/// <param name="expectedCanonical">About how many canonical records a run writes: the list of them is made that large at
/// once, not grown (and copied) while the workers run.</param>
internal sealed class OutputTap(string bootstrapServers, string canonicalTopic, string profilesTopic, int partitions, int expectedCanonical = 0)
    : IDisposable
{
    // Keys are not read and values only measured: a copy of each (a profile record is about 1 KiB) was the benchmark's
    // garbage, collected in the same pauses as the workers'.
    private readonly IConsumer<Ignore, int> consumer = new ConsumerBuilder<Ignore, int>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-output-tap",
            ClientId = "bench-output-tap",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
        })
        .SetValueDeserializer(ValueLength.Instance)
        .Build();

    private readonly Dictionary<TopicPartition, long> next = [];
    private IReadOnlyDictionary<TopicPartition, long> positions = new Dictionary<TopicPartition, long>();
    private long positionsAt;
    private readonly Dictionary<string, string> topicNames = new(StringComparer.Ordinal);
    private long canonicalBytes;
    private long canonicalCount;
    private long profileBytes;
    private long profileCount;
    private long missed;

    /// <summary>Every canonical record read, in read order.</summary>
    public List<CanonicalRecord> Canonical { get; } = new(expectedCanonical);

    public double MeanCanonicalBytes => Mean(ref canonicalBytes, ref canonicalCount);

    public double MeanProfileBytes => Mean(ref profileBytes, ref profileCount);

    public long ProfileRecords => Interlocked.Read(ref profileCount);

    /// <summary>The next offset to read of each partition read from, as of at most half a second ago (safe from any thread).</summary>
    public IReadOnlyDictionary<TopicPartition, long> Positions => Volatile.Read(ref positions);

    /// <summary>Records that were gone from the broker before anyone could read them (offset gaps): the run is then invalid.</summary>
    public long Missed => Interlocked.Read(ref missed);

    /// <summary>Reads until <paramref name="ends"/> (set once the run is done) is reached on every partition, or cancellation.</summary>
    public void Run(Func<IReadOnlyDictionary<TopicPartition, long>?> ends, CancellationToken cancellationToken)
    {
        consumer.Assign(new[] { canonicalTopic, profilesTopic }
            .SelectMany(t => Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(t, p, Offset.Beginning))));
        while (!cancellationToken.IsCancellationRequested)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                Take(record);
            }

            if (Environment.TickCount64 - positionsAt >= 500)
            {
                // A copy for the other threads now and then, not a lock on every record.
                Volatile.Write(ref positions, new Dictionary<TopicPartition, long>(next));
                positionsAt = Environment.TickCount64;
            }

            if (ends() is { } last && last.All(e => next.GetValueOrDefault(e.Key) >= e.Value))
            {
                return;
            }
        }
    }

    private void Take(ConsumeResult<Ignore, int> record)
    {
        var expected = next.GetValueOrDefault(record.TopicPartition);
        if (record.Offset.Value > expected)
        {
            Interlocked.Add(ref missed, record.Offset.Value - expected);
        }

        next[record.TopicPartition] = record.Offset.Value + 1;
        var size = record.Message.Value;
        if (record.Topic == profilesTopic)
        {
            Interlocked.Add(ref profileBytes, size);
            Interlocked.Increment(ref profileCount);
            return;
        }

        Interlocked.Add(ref canonicalBytes, size);
        Interlocked.Increment(ref canonicalCount);
        if (OutputHeaders.Read(record.Message.Headers) is { } written)
        {
            // One string per input topic rather than one per record.
            var topic = topicNames.TryGetValue(written.Source.Topic, out var known) ? known : topicNames[written.Source.Topic] = written.Source.Topic;
            Canonical.Add(new CanonicalRecord(record.Partition.Value, record.Offset.Value, record.Message.Timestamp.UnixTimestampMs,
                written.Source with { Topic = topic }));
        }
    }

    private static double Mean(ref long bytes, ref long count)
    {
        var n = Interlocked.Read(ref count);
        return n == 0 ? double.NaN : (double)Interlocked.Read(ref bytes) / n;
    }

    public void Dispose()
    {
        consumer.Close();
        consumer.Dispose();
    }
}

/// <summary>A record value's length, without a copy of its bytes.</summary>
internal sealed class ValueLength : IDeserializer<int>
{
    public static readonly ValueLength Instance = new();

    public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => isNull ? 0 : data.Length;
}
