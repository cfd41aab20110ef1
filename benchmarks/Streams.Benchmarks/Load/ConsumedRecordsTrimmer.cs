using System.Diagnostics;
using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.Benchmarks.Load;

/// <summary>
/// <c>pipeline-load --trim-consumed 1</c>: removes from the embedded broker the records that every reader of a topic has
/// consumed, as a real broker's retention drops old segments. The embedded broker finds each fetch's offset by walking
/// the partition's message sets from the first (README, <i>The embedded broker at saturation</i>), so its cost per
/// fetch grows with the log kept before that offset; a real broker finds it through an offset index. With the logs kept
/// to what is not yet consumed, the run measures the workers rather than the test double's walk.
/// </summary>
/// <remarks>
/// A partition is trimmed to the lowest position of its readers, so no reader ever finds a record gone: the output
/// tap counts any gap it meets (<see cref="OutputTap.Missed"/>), and a run with one is invalid. Only topics whose every
/// reader is known are trimmed (ingest's inputs; the profiles topic, read by segmentation and the tap); the canonical
/// topic is also read by the stewards' figures, and its fetches were not found walking (ingest writes it in bursts).
/// </remarks>
/// <param name="deleteBefore">Removes a partition's records before an offset (<see cref="EmbeddedKafkaCluster.DeleteRecordsBefore"/>).</param>
/// <param name="every">Least time between two trims: a second keeps a partition to a few seconds of records.</param>
internal sealed class ConsumedRecordsTrimmer(Action<string, int, long> deleteBefore, TimeSpan every)
{
    private readonly Dictionary<TopicPartition, long> start = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private TimeSpan due = TimeSpan.Zero;

    /// <summary>Records removed so far.</summary>
    public long Removed { get; private set; }

    /// <summary>
    /// Trims the partitions of each group of readers to the lowest position any of them holds (a partition missing from
    /// one reader's positions is left alone), at most once every <c>every</c>; a partition's start only moves forward.
    /// </summary>
    /// <param name="topics">Per topic, its readers' next offsets by partition.</param>
    public void TrimIfDue(params IReadOnlyList<IReadOnlyDictionary<TopicPartition, long>>[] topics)
    {
        if (clock.Elapsed < due)
        {
            return;
        }

        due = clock.Elapsed + every;
        foreach (var readers in topics)
        {
            foreach (var (partition, _) in readers[0])
            {
                var consumed = readers.Min(r => r.TryGetValue(partition, out var next) ? next : 0);
                var from = start.GetValueOrDefault(partition);
                if (consumed > from)
                {
                    deleteBefore(partition.Topic, partition.Partition.Value, consumed);
                    start[partition] = consumed;
                    Removed += consumed - from;
                }
            }
        }
    }

    /// <summary>A stage's committed offsets, as read by <see cref="StageMonitor"/>: where its next record is.</summary>
    public static IReadOnlyDictionary<TopicPartition, long> Committed(StageRead read) => read.Lags.ToDictionary(l => l.Partition, l => l.Committed);
}
