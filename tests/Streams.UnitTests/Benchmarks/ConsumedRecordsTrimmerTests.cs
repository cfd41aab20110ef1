using Confluent.Kafka;
using Streams.Benchmarks.Load;

namespace Streams.UnitTests.Benchmarks;

/// <summary>
/// pipeline-load's trimming of consumed records (<c>--trim-consumed 1</c>): a record removed before one of its readers
/// has read it would be a record lost, and the run's figures would no longer be of every event.
/// </summary>
public sealed class ConsumedRecordsTrimmerTests
{
    private static readonly TopicPartition Zero = new("profiles", 0);
    private static readonly TopicPartition One = new("profiles", 1);

    [Fact]
    public void TrimIfDue_TrimsEachPartitionToItsSlowestReader_NeverBackwards_AndNotWhereAReaderHasNoPosition()
    {
        var deleted = new List<(string Topic, int Partition, long Before)>();
        var trimmer = new ConsumedRecordsTrimmer((topic, partition, before) => deleted.Add((topic, partition, before)), TimeSpan.Zero);

        // The tap has not read partition 1 yet: nothing of it may go.
        trimmer.TrimIfDue([Positions((Zero, 10), (One, 5)), Positions((Zero, 7))]);
        Assert.Equal([("profiles", 0, 7L)], deleted);

        deleted.Clear();
        trimmer.TrimIfDue([Positions((Zero, 12), (One, 6)), Positions((Zero, 12), (One, 3))]);
        Assert.Equal([("profiles", 0, 12L), ("profiles", 1, 3L)], deleted);

        // A reader that reports an older position (a stale read of its commits) moves nothing back, and nothing again.
        deleted.Clear();
        trimmer.TrimIfDue([Positions((Zero, 11), (One, 3)), Positions((Zero, 20), (One, 9))]);
        Assert.Empty(deleted);
        Assert.Equal(15, trimmer.Removed);
    }

    [Fact]
    public void TrimIfDue_WithinItsInterval_TrimsNothing()
    {
        var deleted = 0;
        var trimmer = new ConsumedRecordsTrimmer((_, _, _) => deleted++, TimeSpan.FromHours(1));

        trimmer.TrimIfDue([Positions((Zero, 10))]);
        trimmer.TrimIfDue([Positions((Zero, 20))]);

        Assert.Equal(1, deleted);
        Assert.Equal(10, trimmer.Removed);
    }

    private static IReadOnlyDictionary<TopicPartition, long> Positions(params (TopicPartition Partition, long Next)[] positions) =>
        positions.ToDictionary(p => p.Partition, p => p.Next);
}
