using Confluent.Kafka;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class PendingRecordsTests
{
    private const string Topic = "canonical";

    [Fact]
    public void Cut_TakesTheOldestAcrossPartitions_NotTheFirstRead()
    {
        var pending = new PendingRecords<string>();
        // Partition 0 fetched first and far ahead; partitions 1 and 2 arrive later with older records.
        for (var offset = 0; offset < 6; offset++)
        {
            Add(pending, 0, offset, timestampMs: 100 + offset * 10);
        }

        Add(pending, 1, 0, timestampMs: 101);
        Add(pending, 1, 1, timestampMs: 111);
        Add(pending, 2, 0, timestampMs: 102);

        var (records, _) = pending.Cut(5);

        Assert.Equal(["0/0", "1/0", "2/0", "0/1", "1/1"], records.Select(Name));
        Assert.Equal(4, pending.Count);
        Assert.Equal(["0/2", "0/3", "0/4", "0/5"], pending.Cut(10).Records.Select(Name));
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
        var pending = new PendingRecords<string>();
        var next = new int[5];
        var taken = new List<PendingRecord<string>>();
        for (var round = 0; round < 40; round++)
        {
            for (var i = random.Next(0, 30); i > 0; i--)
            {
                var partition = random.Next(next.Length);
                Add(pending, partition, next[partition]++, timestampMs: random.Next(0, 1000));
            }

            taken.AddRange(pending.Cut(random.Next(1, 25)).Records);
        }

        taken.AddRange(pending.Cut(int.MaxValue).Records);

        Assert.Equal(next.Sum(), taken.Count);
        foreach (var partition in taken.GroupBy(r => r.Partition))
        {
            Assert.Equal(Enumerable.Range(0, next[partition.Key]).Select(o => (long)o), partition.Select(r => r.Offset));
        }
    }

    [Fact]
    public void Drop_ForgetsTheRecordsOfLostPartitionsOnly()
    {
        var pending = new PendingRecords<string>();
        Add(pending, 0, 0, 1);
        Add(pending, 1, 0, 2);
        Add(pending, 1, 1, 3);
        Add(pending, 2, 0, 4);

        pending.Drop([new TopicPartition(Topic, 1), new TopicPartition(Topic, 7)]);

        Assert.Equal(2, pending.Count);
        Assert.Equal(["0/0", "2/0"], pending.Cut(10).Records.Select(Name));
    }

    [Fact]
    public void Cut_HandsOverTheReadTimeOfWhatWasAddedSinceTheLastCut()
    {
        var pending = new PendingRecords<string>();
        pending.Add(Record(0, 0), 1, TimeSpan.FromMilliseconds(3));
        pending.Add(Record(0, 1), 2, TimeSpan.FromMilliseconds(4));

        Assert.Equal(TimeSpan.FromMilliseconds(7), pending.Cut(1).ReadTime);
        Assert.Equal(TimeSpan.Zero, pending.Cut(1).ReadTime);
    }

    private static void Add(PendingRecords<string> pending, int partition, long offset, long timestampMs) =>
        pending.Add(Record(partition, offset), timestampMs, TimeSpan.Zero);

    // The item names its position, so a test sees it is carried with the record it was read from.
    private static PendingRecord<string> Record(int partition, long offset) => new(Topic, partition, offset, $"{partition}/{offset}");

    private static string Name(PendingRecord<string> record)
    {
        Assert.Equal($"{record.Partition}/{record.Offset}", record.Item);
        return record.Item;
    }
}

public sealed class OverlappedBatchTests
{
    [Fact]
    public void NextOffsets_PassTheLastRecordOfEachPartition_AndAPartKeepsTheEpochsItWasReadUnder()
    {
        var epochs = new Dictionary<(string Topic, int Partition), long> { [("t", 0)] = 3, [("t", 1)] = 1 };
        var batch = new OverlappedBatch<string>(
            [new("t", 1, 7, "a"), new("t", 0, 4, "b"), new("t", 1, 8, "c"), new("t", 0, 5, "d")], epochs, TimeSpan.FromMilliseconds(2));

        Assert.Equal([("t", 0, 6L), ("t", 1, 9L)], batch.NextOffsets.OrderBy(o => o.Partition));
        Assert.Equal(["a", "b", "c", "d"], batch.Items);
        var part = batch.Part([new("t", 1, 7, "a")]);
        Assert.Equal([("t", 1, 8L)], part.NextOffsets);
        Assert.Same(epochs, part.Epochs);
        Assert.Equal(TimeSpan.Zero, part.ReadTime);
    }
}
