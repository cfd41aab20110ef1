using Confluent.Kafka;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Kafka;

/// <summary>Lag read from committed offsets and high watermarks, without joining the group it inspects.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ConsumerLagReaderTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Lag_IsTheRecordsPastTheGroupsCommittedOffsets_PerPartition()
    {
        var topic = await kafka.CreateTopicAsync("lag", partitions: 2);
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(new TopicPartition(topic, i < 6 ? 0 : 1), new Message<Null, string> { Value = $"v{i}" });
            }

            Assert.Equal(0, producer.Flush(Patience));
        }

        var group = KafkaFixture.Unique("g");
        using var reader = new ConsumerLagReader(kafka.BootstrapServers);
        var before = reader.Read(group, [topic, KafkaFixture.Unique("missing")], Patience);
        Assert.Equal([6L, 4L], before.OrderBy(p => p.Partition.Partition.Value).Select(p => p.Lag));

        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = group }).Build())
        {
            consumer.Commit([new TopicPartitionOffset(topic, 0, 4), new TopicPartitionOffset(topic, 1, 4)]);
        }

        var after = reader.Read(group, [topic], Patience).OrderBy(p => p.Partition.Partition.Value).ToList();
        Assert.Equal([2L, 0L], after.Select(p => p.Lag));
        Assert.Equal([6L, 4L], after.Select(p => p.End));
        Assert.Equal(2, reader.TotalLag(group, [topic], Patience));
    }
}
