using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.Benchmarks.Load;

/// <summary>
/// One consumer group of a run and the topics it reads, with the mean size of those topics' records so far. A stage on
/// the latency path counts towards the backlog the producer may keep ahead (its records are about one per input event).
/// </summary>
internal sealed record Stage(string Name, string Group, IReadOnlyList<string> Topics, Func<double> MeanRecordBytes, bool OnLatencyPath = false);

/// <summary>A stage at one moment: records not yet committed (in all, and on its most loaded partition), and committed.</summary>
internal sealed record StageSample(string Stage, long Lag, long MaxPartitionLag, long Committed);

/// <summary>One stage's read of a sample: when it began, every partition's position, when it returned (Unix ms).</summary>
internal sealed record StageRead(long FromMs, IReadOnlyList<PartitionLag> Lags, long AtMs);

/// <summary>The run at one moment: seconds since the first produce, records produced, every stage, memory when read.</summary>
internal sealed record RunSample(double Seconds, long Produced, IReadOnlyList<StageSample> Stages, long? ProcessBytes, long? PostgresBytes);

/// <summary>
/// Samples each stage's consumer-group lag (committed offsets against log ends, without joining the groups) and sets
/// how far the producer may run ahead of the slowest stage.
/// </summary>
/// <remarks>
/// The embedded broker keeps at most ~5 MiB per partition and silently drops older records, so a stage more than that
/// behind loses input. The producer may add records only while every stage's most loaded partition stays below
/// <c>budgetBytes</c>: the headroom of a stage, in records, is what its worst partition can still take, times the
/// partition count (as if the records went to one topic's partitions, which over-counts the input stage's five topics
/// and so errs on the safe side). A stage's committed offsets trail what it has read by up to a batch, which the
/// budget's margin to 5 MiB absorbs.
/// <para>
/// Besides, the records waiting in the stages on the latency path together stay under <c>maxBacklog</c>: by Little's law
/// a saturated pipeline's latency is its backlog divided by its rate, so an unbounded producer would measure its own
/// queue. A backlog of a few batches keeps every stage busy, which is all a throughput measurement needs.
/// </para>
/// </remarks>
internal sealed class StageMonitor(string bootstrapServers, IReadOnlyList<Stage> stages, int partitions, long budgetBytes, Pacer pacer,
    long maxBacklog = long.MaxValue)
    : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ConsumerLagReader reader = new(bootstrapServers);
    private readonly Dictionary<string, StageRead> last = new(StringComparer.Ordinal);

    public IReadOnlyList<Stage> Stages => stages;

    /// <summary>Reads every stage in order (upstream first, so a caught-up stage's input is final) and raises the pacer's limit.</summary>
    public IReadOnlyList<StageSample> Sample()
    {
        var produced = pacer.Produced;
        var result = new List<StageSample>(stages.Count);
        var headroom = long.MaxValue;
        var backlog = 0L;
        foreach (var stage in stages)
        {
            var from = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var lags = reader.Read(stage.Group, stage.Topics, Timeout);
            last[stage.Name] = new StageRead(from, lags, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var sample = new StageSample(stage.Name, lags.Sum(l => l.Lag), lags.Count == 0 ? 0 : lags.Max(l => l.Lag), lags.Sum(l => l.Committed));
            result.Add(sample);
            headroom = Math.Min(headroom, Headroom(budgetBytes, stage.MeanRecordBytes(), sample.MaxPartitionLag, partitions));
            backlog += stage.OnLatencyPath ? sample.Lag : 0;
        }

        headroom = Math.Min(headroom, Math.Max(0, maxBacklog - backlog));

        pacer.Limit = Math.Max(pacer.Limit, produced + headroom);
        return result;
    }

    /// <summary>The end offset of every partition of <paramref name="of"/>'s topics at the last sample.</summary>
    public IReadOnlyDictionary<TopicPartition, long> Ends(IEnumerable<Stage> of) =>
        of.SelectMany(s => last.GetValueOrDefault(s.Name)?.Lags ?? []).ToDictionary(l => l.Partition, l => l.End);

    /// <summary>What the last sample read of <paramref name="stage"/>.</summary>
    public StageRead LastRead(string stage) => last[stage];

    /// <summary>Records a stage can still take before its most loaded partition holds <paramref name="budgetBytes"/>.</summary>
    public static long Headroom(long budgetBytes, double meanRecordBytes, long maxPartitionLag, int partitions)
    {
        var perPartition = (long)(budgetBytes / Math.Max(1, meanRecordBytes)) - maxPartitionLag;
        return Math.Max(0, perPartition) * partitions;
    }

    public void Dispose() => reader.Dispose();
}
