using System.Diagnostics;
using Confluent.Kafka;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Reads whole topics, every partition from the beginning to the end it has now.</summary>
public static class TopicReader
{
    public static List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string bootstrap, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var ends = new Dictionary<TopicPartition, long>();
        foreach (var partition in partitions)
        {
            var marks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
            if (marks.High.Value > marks.Low.Value)
            {
                ends[partition] = marks.High.Value;
            }
        }

        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        if (ends.Count == 0)
        {
            return records;
        }

        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var clock = Stopwatch.StartNew();
        while (ends.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (!result.IsPartitionEOF)
            {
                records.Add(result);
            }

            if (ends.TryGetValue(result.TopicPartition, out var end) && (result.IsPartitionEOF || result.Offset.Value >= end - 1))
            {
                ends.Remove(result.TopicPartition);
            }
        }

        return records;
    }

    /// <summary>Reads the topics until <paramref name="done"/> holds for what they contain, or the time is up.</summary>
    public static async Task<List<ConsumeResult<byte[]?, byte[]?>>> WaitForAsync(
        string bootstrap, IReadOnlyList<string> topics, Func<List<ConsumeResult<byte[]?, byte[]?>>, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var all = topics.SelectMany(t => ReadAll(bootstrap, t)).ToList();
            if (done(all) || clock.Elapsed > timeout)
            {
                return all;
            }

            await Task.Delay(250);
        }
    }
}
