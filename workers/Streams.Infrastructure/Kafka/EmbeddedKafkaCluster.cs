using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace Streams.Infrastructure.Kafka;

/// <summary>
/// An in-process Kafka-protocol broker: librdkafka's mock cluster, listening on 127.0.0.1, holding data in memory.
/// Used by the host when no broker is configured and by the tests. It lives and dies with this object (and process).
/// </summary>
/// <remarks>
/// The mock has no admin API: topics, including Streamiz's internal changelog and repartition topics, must be created
/// here before clients use them. It keeps at most ~5 MiB per partition and drops the oldest data beyond that.
/// </remarks>
public sealed class EmbeddedKafkaCluster : IDisposable
{
    private readonly Lock gate = new();
    private readonly HashSet<string> topics = new(StringComparer.Ordinal);
    private nint rk;
    private nint cluster;

    private EmbeddedKafkaCluster(nint rk, nint cluster, int brokerCount)
    {
        this.rk = rk;
        this.cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8(LibrdkafkaNative.MockClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap address.");
    }

    /// <summary>Comma-separated <c>host:port</c> list of the brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..BrokerCount.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a cluster of <paramref name="brokerCount"/> brokers.</summary>
    /// <param name="brokerCount">Brokers to start (ids 1..N).</param>
    /// <param name="initialRebalanceDelay">
    /// How long a new consumer group waits before its first assignment. The mock's default is about 3 s, which only
    /// slows tests and short runs down; zero by default here.
    /// </param>
    public static EmbeddedKafkaCluster Start(int brokerCount = 1, TimeSpan? initialRebalanceDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var errstr = new byte[512];
        var conf = LibrdkafkaNative.ConfNew();
        // The handle only owns the mock cluster; it never talks to a broker, so keep its own logging to errors.
        SetOrThrow(conf, "log_level", "3", errstr);
        SetOrThrow(conf, "client.id", "streams-embedded-broker", errstr);
        var rk = LibrdkafkaNative.KafkaNew(LibrdkafkaNative.ProducerType, conf, errstr, (nuint)errstr.Length);
        if (rk == 0)
        {
            LibrdkafkaNative.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_new failed: {ErrorText(errstr)}");
        }

        // rd_kafka_new took ownership of conf.
        var cluster = LibrdkafkaNative.MockClusterNew(rk, brokerCount);
        if (cluster == 0)
        {
            LibrdkafkaNative.KafkaDestroy(rk);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        var result = new EmbeddedKafkaCluster(rk, cluster, brokerCount);
        result.SetInitialRebalanceDelay(initialRebalanceDelay ?? TimeSpan.Zero);
        return result;
    }

    /// <summary>Topics created through this object.</summary>
    public IReadOnlyCollection<string> Topics
    {
        get
        {
            lock (gate)
            {
                return [.. topics];
            }
        }
    }

    /// <summary>Creates a topic. Creating an existing topic again is a no-op.</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        lock (gate)
        {
            var err = LibrdkafkaNative.MockTopicCreate(Handle(), name, partitions, Math.Min(replicationFactor, BrokerCount));
            if (err != (int)ErrorCode.NoError && err != (int)ErrorCode.TopicAlreadyExists)
            {
                throw new InvalidOperationException($"Creating topic '{name}' failed: {LibrdkafkaNative.Describe(err)}");
            }

            topics.Add(name);
        }
    }

    /// <summary>Sets how long a new consumer group waits before its first rebalance.</summary>
    public void SetInitialRebalanceDelay(TimeSpan delay) =>
        LibrdkafkaNative.MockGroupInitialRebalanceDelayMs(Handle(), checked((int)delay.TotalMilliseconds));

    /// <summary>Takes a broker down: its listener closes connections and refuses new ones until <see cref="BrokerUp"/>.</summary>
    public void BrokerDown(int brokerId) => Check(LibrdkafkaNative.MockBrokerSetDown(Handle(), brokerId), $"broker {brokerId} down");

    /// <summary>Brings a broker taken down back.</summary>
    public void BrokerUp(int brokerId) => Check(LibrdkafkaNative.MockBrokerSetUp(Handle(), brokerId), $"broker {brokerId} up");

    /// <summary>Adds a round-trip delay to every request a broker answers.</summary>
    public void SetBrokerRoundTrip(int brokerId, TimeSpan rtt) =>
        Check(LibrdkafkaNative.MockBrokerSetRtt(Handle(), brokerId, checked((int)rtt.TotalMilliseconds)), $"broker {brokerId} rtt");

    /// <summary>
    /// Makes the next <paramref name="errors"/>.Length requests of the given API (any broker) fail with these errors,
    /// in order. API keys are Kafka's: 0 Produce, 1 Fetch, 3 Metadata, 8 OffsetCommit, 22 InitProducerId, …
    /// </summary>
    public void PushRequestErrors(KafkaApiKey api, params ErrorCode[] errors)
    {
        var codes = Array.ConvertAll(errors, e => (int)e);
        LibrdkafkaNative.MockPushRequestErrorsArray(Handle(), (short)api, (nuint)codes.Length, codes);
    }

    /// <summary>Drops errors pushed for an API that were not consumed yet.</summary>
    public void ClearRequestErrors(KafkaApiKey api) => LibrdkafkaNative.MockClearRequestErrors(Handle(), (short)api);

    /// <summary>Makes every request about a topic fail with <paramref name="error"/> (NoError clears it).</summary>
    public void SetTopicError(string topic, ErrorCode error) => LibrdkafkaNative.MockTopicSetError(Handle(), topic, (int)error);

    /// <summary>
    /// Removes the records of a partition before <paramref name="offset"/>, as a broker's retention would: they can no
    /// longer be read, and the log starts there. The embedded broker finds a fetch's offset by walking the partition's
    /// message sets from the first, so a log kept short keeps its fetches cheap, as a real broker's offset index does.
    /// </summary>
    public void DeleteRecordsBefore(string topic, int partition, long offset) =>
        Check(LibrdkafkaNative.MockPartitionDeleteRecords(Handle(), topic, partition, offset), $"records of {topic}/{partition} before {offset} deleted");

    public void Dispose()
    {
        lock (gate)
        {
            // The cluster must go before the handle that owns it; both join their threads.
            if (cluster != 0)
            {
                LibrdkafkaNative.MockClusterDestroy(cluster);
                cluster = 0;
            }

            if (rk != 0)
            {
                LibrdkafkaNative.KafkaDestroy(rk);
                rk = 0;
            }
        }
    }

    private nint Handle()
    {
        var handle = cluster;
        ObjectDisposedException.ThrowIf(handle == 0, this);
        return handle;
    }

    private static void Check(int err, string what)
    {
        if (err != (int)ErrorCode.NoError)
        {
            throw new InvalidOperationException($"Mock cluster: {what} failed: {LibrdkafkaNative.Describe(err)}");
        }
    }

    private static void SetOrThrow(nint conf, string name, string value, byte[] errstr)
    {
        if (LibrdkafkaNative.ConfSet(conf, name, value, errstr, (nuint)errstr.Length) != 0)
        {
            LibrdkafkaNative.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {ErrorText(errstr)}");
        }
    }

    private static string ErrorText(byte[] errstr)
    {
        var end = Array.IndexOf(errstr, (byte)0);
        return Encoding.UTF8.GetString(errstr, 0, end < 0 ? errstr.Length : end);
    }
}

/// <summary>Kafka protocol API keys used for fault injection.</summary>
public enum KafkaApiKey : short
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    SyncGroup = 14,
    InitProducerId = 22,
    AddPartitionsToTxn = 24,
    EndTxn = 26,
}
