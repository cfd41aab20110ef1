using System.Diagnostics;
using Confluent.Kafka;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Kafka;

/// <summary>
/// The broker the run uses, exercised through Confluent.Kafka: what the workers will rely on. Fault injection needs
/// the mock API, so those tests start a private embedded cluster and leave the shared broker alone.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class EmbeddedKafkaClusterTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RebalancePatience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ProduceThenConsume_RoundTripsEveryRecordInOrderPerPartition()
    {
        var topic = await kafka.CreateTopicAsync("roundtrip", partitions: 3);
        using (var producer = new ProducerBuilder<string, string>(ProducerConfig(kafka.BootstrapServers)).Build())
        {
            for (var i = 0; i < 300; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = $"k{i % 7}", Value = $"v{i}" });
            }

            Assert.Equal(0, producer.Flush(Patience));
        }

        var received = ConsumeAll<string, string>(kafka.BootstrapServers, topic, KafkaFixture.Unique("g"), expected: 300);
        Assert.Equal(300, received.Count);
        foreach (var key in received.GroupBy(r => r.Message.Key))
        {
            var values = key.Select(r => int.Parse(r.Message.Value[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.Order(), values);
            Assert.Single(key.Select(r => r.Partition.Value).Distinct());
        }
    }

    [Fact]
    public async Task ConsumerGroupOfTwo_SplitsThePartitions()
    {
        var topic = await kafka.CreateTopicAsync("group", partitions: 4);
        var group = KafkaFixture.Unique("g");
        // The mock completes a rebalance with a newcomer only when the session timeout runs out (measured: a default
        // 45 s session kept both members waiting); a short session keeps the test short on every broker.
        var config = ConsumerConfig(kafka.BootstrapServers, group);
        config.SessionTimeoutMs = 6000;
        config.HeartbeatIntervalMs = 500;
        using var first = new ConsumerBuilder<Ignore, string>(config).Build();
        using var second = new ConsumerBuilder<Ignore, string>(config).Build();
        first.Subscribe(topic);
        second.Subscribe(topic);

        // A rebalance on the mock takes up to two session timeouts per round, and a slow round (a loaded machine, a
        // member whose revocation waits for its next poll) starts another: allow several rounds, not one.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < RebalancePatience && (first.Assignment.Count + second.Assignment.Count != 4
                   || first.Assignment.Count == 0 || second.Assignment.Count == 0))
        {
            first.Consume(TimeSpan.FromMilliseconds(100));
            second.Consume(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(2, first.Assignment.Count);
        Assert.Equal(2, second.Assignment.Count);
        Assert.Empty(first.Assignment.Intersect(second.Assignment));
        first.Close();
        second.Close();
    }

    [SkippableFact]
    public async Task AbortedTransaction_IsNeverSeenByReadCommittedConsumer()
    {
        Skip.If(kafka.Embedded is not null,
            "librdkafka's mock broker answers Fetch with no aborted-transaction list, so read_committed cannot filter there; " +
            "see EmbeddedBroker_ReadCommitted_StillSeesAbortedRecords. Runs with STREAMS_TEST_KAFKA or Docker.");
        var topic = await kafka.CreateTopicAsync("txn", partitions: 2);
        var visible = await ProduceAbortedThenCommittedAsync(kafka.BootstrapServers, topic);
        Assert.Equal(10, visible.Count);
        Assert.All(visible, v => Assert.StartsWith("committed-", v, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EmbeddedBroker_ReadCommitted_StillSeesAbortedRecords()
    {
        // Pins down a measured limitation of the mock (its Fetch handler writes zero aborted transactions and
        // LSO = high watermark): transactions commit and abort without error, but aborted records stay visible.
        // Components that need exactly-once on the embedded broker must not rely on read_committed to hide them.
        // If a librdkafka upgrade makes this test fail, the mock has learnt to filter: revisit that decision.
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("txn", 2);
        var visible = await ProduceAbortedThenCommittedAsync(cluster.BootstrapServers, "txn");
        Assert.Equal(20, visible.Count);
        Assert.Equal(10, visible.Count(v => v.StartsWith("aborted-", StringComparison.Ordinal)));
    }

    private static Task<List<string>> ProduceAbortedThenCommittedAsync(string bootstrap, string topic)
    {
        var config = ProducerConfig(bootstrap);
        config.TransactionalId = KafkaFixture.Unique("tx");
        using (var producer = new ProducerBuilder<Null, string>(config).Build())
        {
            producer.InitTransactions(Patience);
            producer.BeginTransaction();
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(topic, new Message<Null, string> { Value = $"aborted-{i}" });
            }

            producer.Flush(Patience);
            producer.AbortTransaction(Patience);

            producer.BeginTransaction();
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(topic, new Message<Null, string> { Value = $"committed-{i}" });
            }

            producer.CommitTransaction(Patience);
        }

        var consumerConfig = ConsumerConfig(bootstrap, KafkaFixture.Unique("g"));
        consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        var received = ConsumeAll<Null, string>(consumerConfig, topic, expected: 10);
        return Task.FromResult(received.Select(r => r.Message.Value).ToList());
    }

    [Fact]
    public void Producer_KeepsDeliveringAcrossABrokerOutage_NothingLost()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("outage", partitions: 2);
        var config = ProducerConfig(cluster.BootstrapServers);
        config.MessageTimeoutMs = 60_000;
        var failures = 0;
        using (var producer = new ProducerBuilder<Null, string>(config).Build())
        {
            void Send(int from, int to)
            {
                for (var i = from; i < to; i++)
                {
                    producer.Produce("outage", new Message<Null, string> { Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                        report => { if (report.Error.IsError) { Interlocked.Increment(ref failures); } });
                }
            }

            Send(0, 100);
            producer.Flush(Patience);
            cluster.BrokerDown(1);
            Send(100, 200);
            // The producer retries while the broker is away; the records wait in its queue.
            producer.Poll(TimeSpan.FromSeconds(2));
            cluster.BrokerUp(1);
            Send(200, 300);
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(0, failures);
        var received = ConsumeAll<Null, string>(cluster.BootstrapServers, "outage", "g-outage", expected: 300);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(),
            received.Select(r => r.Message.Value).Order());
    }

    [Fact]
    public void InjectedProduceErrors_AreRetriedByTheIdempotentProducer_WithoutDuplicates()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("errors", partitions: 1);
        cluster.PushRequestErrors(KafkaApiKey.Produce,
            ErrorCode.NotEnoughReplicas, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas);
        using (var producer = new ProducerBuilder<Null, string>(ProducerConfig(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < 50; i++)
            {
                producer.Produce("errors", new Message<Null, string> { Value = $"m{i}" });
            }

            Assert.Equal(0, producer.Flush(Patience));
        }

        var received = ConsumeAll<Null, string>(cluster.BootstrapServers, "errors", "g-errors", expected: 50);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), received.Select(r => r.Message.Value));
    }

    [Fact]
    public void DeleteRecordsBefore_TheLogStartsThere_AndAReaderFromTheBeginningGetsOnlyWhatFollows()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("trimmed", partitions: 1);
        using (var producer = new ProducerBuilder<Null, string>(ProducerConfig(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < 20; i++)
            {
                producer.Produce("trimmed", new Message<Null, string> { Value = $"m{i}" });
                // One message set per record: the embedded broker frees whole sets.
                Assert.Equal(0, producer.Flush(Patience));
            }
        }

        cluster.DeleteRecordsBefore("trimmed", 0, 15);

        var received = ConsumeAll<Null, string>(cluster.BootstrapServers, "trimmed", "g-trimmed", expected: 5);
        Assert.Equal(["m15", "m16", "m17", "m18", "m19"], received.Select(r => r.Message.Value));
        Assert.Equal(15, received[0].Offset.Value);
        Assert.Throws<InvalidOperationException>(() => cluster.DeleteRecordsBefore("trimmed", 0, 21));
    }

    [Fact]
    public void StartAndDispose_ManyTimes_LeavesNoThreadsBehind()
    {
        // Warm up once so lazily created runtime threads (thread pool, GC) are not counted as leaks.
        using (EmbeddedKafkaCluster.Start(3)) { }
        var before = Process.GetCurrentProcess().Threads.Count;
        for (var i = 0; i < 10; i++)
        {
            using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 3);
            cluster.CreateTopic("t", 2);
            Assert.Equal(3, cluster.BootstrapServers.Split(',').Length);
        }

        var after = Process.GetCurrentProcess().Threads.Count;
        // Three brokers per cluster would leave dozens of threads if any leaked; allow for runtime noise.
        Assert.InRange(after - before, -50, 5);
    }

    [Fact]
    public void UsingADisposedCluster_Throws()
    {
        var cluster = EmbeddedKafkaCluster.Start();
        cluster.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", 1));
        cluster.Dispose();
    }

    internal static ProducerConfig ProducerConfig(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
    };

    internal static ConsumerConfig ConsumerConfig(string bootstrap, string group) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    };

    internal static List<ConsumeResult<TKey, TValue>> ConsumeAll<TKey, TValue>(string bootstrap, string topic, string group, int expected) =>
        ConsumeAll<TKey, TValue>(ConsumerConfig(bootstrap, group), topic, expected);

    internal static List<ConsumeResult<TKey, TValue>> ConsumeAll<TKey, TValue>(ConsumerConfig config, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<TKey, TValue>(config).Build();
        consumer.Subscribe(topic);
        var received = new List<ConsumeResult<TKey, TValue>>();
        var clock = Stopwatch.StartNew();
        // Keep reading a little past the expected count so that extra (duplicate) records would be caught.
        var quietSince = TimeSpan.Zero;
        while (clock.Elapsed < Patience)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false, Message: not null })
            {
                received.Add(result);
                quietSince = clock.Elapsed;
            }
            else if (received.Count >= expected && clock.Elapsed - quietSince > TimeSpan.FromSeconds(1))
            {
                break;
            }
        }

        consumer.Close();
        return received;
    }
}
