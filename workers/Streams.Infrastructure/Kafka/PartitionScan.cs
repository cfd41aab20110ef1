using System.Diagnostics;
using Confluent.Kafka;

namespace Streams.Infrastructure.Kafka;

/// <summary>Reading partitions from given offsets up to their ends as they are when the read starts, as recoveries do.</summary>
public static class PartitionScan
{
    /// <summary>
    /// Hands every record of each partition, from its start offset (raised to the log start: retention may have removed
    /// what came before; a negative one is the log start) up to the partition's end now, to <paramref name="read"/>.
    /// Returns how many records were read; throws <see cref="TimeoutException"/> when four times
    /// <paramref name="patience"/> pass without a record or an end being reached. A read that keeps moving is not cut
    /// off however long it takes (the ends are fixed when it starts, so it is bounded): a recovery after a long outage
    /// may have hours of other producers' records to pass, and a read cut off by the clock would fail again on every
    /// restart.
    /// </summary>
    /// <param name="consumer">A consumer with <c>enable.partition.eof</c> on and nothing assigned; this assigns it.</param>
    public static int ReadToEnd<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<TopicPartitionOffset> from,
        Action<ConsumeResult<TKey, TValue>> read, TimeSpan patience, string what)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(read);
        var ends = new Dictionary<TopicPartition, long>();
        var assignment = new List<TopicPartitionOffset>();
        foreach (var start in from)
        {
            var marks = consumer.QueryWatermarkOffsets(start.TopicPartition, patience);
            var begin = Math.Max(start.Offset.Value < 0 ? marks.Low.Value : start.Offset.Value, marks.Low.Value);
            if (begin < marks.High.Value)
            {
                ends[start.TopicPartition] = marks.High.Value;
                assignment.Add(new TopicPartitionOffset(start.TopicPartition, begin));
            }
        }

        if (assignment.Count == 0)
        {
            return 0;
        }

        consumer.Assign(assignment);
        var count = 0;
        var sinceProgress = Stopwatch.StartNew();
        while (ends.Count > 0)
        {
            if (sinceProgress.Elapsed > patience * 4)
            {
                throw new TimeoutException(
                    $"{what} read nothing for {(patience * 4).TotalSeconds:0.#} s ({count} records read) and did not reach the end of {string.Join(", ", ends.Keys)}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            sinceProgress.Restart();
            if (!result.IsPartitionEOF)
            {
                count++;
                read(result);
            }

            if (ends.TryGetValue(result.TopicPartition, out var end) && (result.IsPartitionEOF || result.Offset.Value >= end - 1))
            {
                ends.Remove(result.TopicPartition);
            }
        }

        consumer.Close();
        return count;
    }
}
