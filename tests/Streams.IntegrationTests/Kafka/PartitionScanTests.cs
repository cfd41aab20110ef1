using System.Text;
using Confluent.Kafka;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Kafka;

/// <summary>
/// The read that recoveries share (ingest's emitted outputs, the outbox's unfinished round): from given offsets to the
/// partitions' ends as they were when it started, however long that takes while it moves, and not a moment longer
/// than its patience once it stops moving.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class PartitionScanTests(KafkaFixture kafka)
{
    [Fact]
    public async Task ReadLongerThanItsPatience_WhileRecordsKeepComing_ReachesTheEnds_AndNothingWrittenAfterItsStart()
    {
        var topic = await kafka.CreateTopicAsync("scan", partitions: 2);
        Produce(topic, 0, 400);
        Produce(topic, 1, 400);
        var patience = TimeSpan.FromMilliseconds(500);
        var seen = new List<(int Partition, long Offset)>();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Config()).Build();
        Connect(consumer, topic);

        var read = PartitionScan.ReadToEnd(consumer,
            [new TopicPartitionOffset(topic, 0, 100), new TopicPartitionOffset(topic, 1, Offset.Beginning)],
            result =>
            {
                seen.Add((result.Partition.Value, result.Offset.Value));
                if (seen.Count == 1)
                {
                    // Written after the read started: past the ends it reads to.
                    Produce(topic, 0, 5);
                }

                // 700 records at 4 ms each: well over the 2 s (4 × patience) a read was once allowed in all.
                Thread.Sleep(4);
            }, patience, "the test's read");

        Assert.Equal(700, read);
        Assert.Equal([.. Enumerable.Range(100, 300).Select(o => (0, (long)o))], seen.Where(s => s.Partition == 0));
        Assert.Equal([.. Enumerable.Range(0, 400).Select(o => (1, (long)o))], seen.Where(s => s.Partition == 1));
    }

    [Fact]
    public async Task ReadThatStopsMoving_FailsAfterFourTimesItsPatience_SayingWhereItStood()
    {
        var topic = await kafka.CreateTopicAsync("scan-stuck", partitions: 1);
        Produce(topic, 0, 3);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(Config()).Build();
        Connect(consumer, topic);
        var reads = 0;

        // The first record takes longer than the patience allows; the records after it come at once, so only a pause
        // between records (not the total) can trip it. Here the callback itself is the pause.
        var error = Assert.Throws<TimeoutException>(() => PartitionScan.ReadToEnd(consumer,
            [new TopicPartitionOffset(topic, 0, 0)], _ =>
            {
                reads++;
                consumer.Pause(consumer.Assignment);
            }, TimeSpan.FromMilliseconds(200), "the test's read"));

        Assert.Equal(1, reads);
        Assert.Contains("the test's read read nothing for 0.8 s (1 records read)", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The scan asks for each partition's ends within its patience, and a new client's first request (connection,
    /// metadata) took longer than a test's 200 ms once on a loaded machine: connected first, so that what the tests
    /// measure is the read.
    /// </summary>
    private static void Connect(IConsumer<byte[]?, byte[]?> consumer, string topic) =>
        consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(30));

    private ConsumerConfig Config() => new()
    {
        BootstrapServers = kafka.BootstrapServers,
        GroupId = KafkaFixture.Unique("scan"),
        EnableAutoCommit = false,
        EnablePartitionEof = true,
    };

    private void Produce(string topic, int partition, int count)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(new TopicPartition(topic, partition), new Message<byte[], byte[]> { Key = [1], Value = Encoding.UTF8.GetBytes($"{i}") });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }
}
