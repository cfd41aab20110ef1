using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.UnitTests.Infrastructure;

/// <summary>Where the outbox's recovery looks for the rows of an unfinished round that the broker already has.</summary>
public sealed class TableOutboxScanStartsTests
{
    [Fact]
    public void APartitionAddedAfterItsTopicWasMarked_IsReadFromItsBeginning_AndATopicWithoutMarksIsNotRead()
    {
        TopicPartitionOffset[] marks = [new("profiles", 0, 5), new("profiles", 1, 7)];
        TopicPartition[] partitions = [new("profiles", 0), new("profiles", 1), new("profiles", 2), new("segments", 0)];

        var starts = TableOutboxPublisher.ScanStarts(marks, partitions);

        Assert.Equal(
            [new TopicPartitionOffset("profiles", 0, 5), new TopicPartitionOffset("profiles", 1, 7), new TopicPartitionOffset("profiles", 2, Offset.Beginning)],
            starts);
    }

    [Fact]
    public void EveryPartitionMarked_IsReadFromItsMarkOnly() =>
        Assert.Equal([new TopicPartitionOffset("profiles", 0, 5)],
            TableOutboxPublisher.ScanStarts([new TopicPartitionOffset("profiles", 0, 5)], [new TopicPartition("profiles", 0)]));
}
