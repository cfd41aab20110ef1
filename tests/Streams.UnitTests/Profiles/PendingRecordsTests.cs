using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Profiles.Processing;
using Streams.Profiles.Worker;

namespace Streams.UnitTests.Profiles;

public sealed class PendingRecordsTests
{
    private const string Topic = "canonical";

    [Fact]
    public void Cut_TakesTheOldestAcrossPartitions_NotTheFirstRead()
    {
        var pending = new PendingRecords();
        // Partition 0 fetched first and far ahead; partitions 1 and 2 arrive later with older records.
        for (var offset = 0; offset < 6; offset++)
        {
            Add(pending, 0, offset, timestampMs: 100 + offset * 10);
        }

        Add(pending, 1, 0, timestampMs: 101);
        Add(pending, 1, 1, timestampMs: 111);
        Add(pending, 2, 0, timestampMs: 102);

        var (items, _) = pending.Cut(5);

        Assert.Equal(["0/0", "1/0", "2/0", "0/1", "1/1"], items.Select(Name));
        Assert.Equal(4, pending.Count);
        Assert.Equal(["0/2", "0/3", "0/4", "0/5"], pending.Cut(10).Items.Select(Name));
        Assert.Equal(0, pending.Count);
    }

    /// <summary>
    /// Whatever the timestamps (a partition's need not grow: several producers write it), every cut takes a prefix of
    /// each partition in offset order, so the offsets stored with a batch never skip a record, and nothing is lost or
    /// taken twice.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Cuts_TakeAPrefixOfEachPartition_AndEveryRecordOnce(int seed)
    {
        var random = new Random(seed);
        var pending = new PendingRecords();
        var next = new int[5];
        var taken = new List<BatchItem>();
        for (var round = 0; round < 40; round++)
        {
            for (var i = random.Next(0, 30); i > 0; i--)
            {
                var partition = random.Next(next.Length);
                Add(pending, partition, next[partition]++, timestampMs: random.Next(0, 1000));
            }

            taken.AddRange(pending.Cut(random.Next(1, 25)).Items);
        }

        taken.AddRange(pending.Cut(int.MaxValue).Items);

        Assert.Equal(next.Sum(), taken.Count);
        foreach (var partition in taken.GroupBy(i => i.Position.Partition))
        {
            Assert.Equal(Enumerable.Range(0, next[partition.Key]).Select(o => (long)o), partition.Select(i => i.Position.Offset));
        }
    }

    [Fact]
    public void Drop_ForgetsTheRecordsOfLostPartitionsOnly()
    {
        var pending = new PendingRecords();
        Add(pending, 0, 0, 1);
        Add(pending, 1, 0, 2);
        Add(pending, 1, 1, 3);
        Add(pending, 2, 0, 4);

        pending.Drop([new TopicPartition(Topic, 1), new TopicPartition(Topic, 7)]);

        Assert.Equal(2, pending.Count);
        Assert.Equal(["0/0", "2/0"], pending.Cut(10).Items.Select(Name));
    }

    [Fact]
    public void Cut_HandsOverTheReadTimeOfWhatWasAddedSinceTheLastCut()
    {
        var pending = new PendingRecords();
        pending.Add(Topic, 0, 1, Item(0, 0), TimeSpan.FromMilliseconds(3));
        pending.Add(Topic, 0, 2, Item(0, 1), TimeSpan.FromMilliseconds(4));

        Assert.Equal(TimeSpan.FromMilliseconds(7), pending.Cut(1).ReadTime);
        Assert.Equal(TimeSpan.Zero, pending.Cut(1).ReadTime);
    }

    private static void Add(PendingRecords pending, int partition, long offset, long timestampMs) =>
        pending.Add(Topic, partition, timestampMs, Item(partition, offset), TimeSpan.Zero);

    private static InvalidItem Item(int partition, long offset) =>
        new(new SourcePosition(Topic, partition, offset), null, new QuarantineReason(ReasonCodes.SchemaViolation, null, "test"), 0, "");

    private static string Name(BatchItem item) => $"{item.Position.Partition}/{item.Position.Offset}";
}
