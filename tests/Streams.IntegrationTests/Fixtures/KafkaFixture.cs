using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Streams.Infrastructure.Kafka;
using Testcontainers.Kafka;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>
/// The run's one Kafka-protocol broker: <c>STREAMS_TEST_KAFKA</c> when set, else a Testcontainers Kafka when Docker
/// answers, else the embedded broker. Tests isolate themselves with unique topic and group names.
/// </summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    private KafkaContainer? container;

    public string BootstrapServers { get; private set; } = string.Empty;

    /// <summary>Which broker this run uses: <c>env</c>, <c>testcontainers</c> or <c>embedded</c>.</summary>
    public string Kind { get; private set; } = string.Empty;

    /// <summary>The embedded broker, when that is what the run uses.</summary>
    public EmbeddedKafkaCluster? Embedded { get; private set; }

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("STREAMS_TEST_KAFKA") is { Length: > 0 } configured)
        {
            (BootstrapServers, Kind) = (configured, "env");
        }
        else if (DockerProbe.IsAvailable)
        {
            container = new KafkaBuilder("confluentinc/cp-kafka:7.6.1").Build();
            await container.StartAsync();
            (BootstrapServers, Kind) = (container.GetBootstrapAddress(), "testcontainers");
        }
        else
        {
            Embedded = EmbeddedKafkaCluster.Start(brokerCount: 1);
            (BootstrapServers, Kind) = (Embedded.BootstrapServers, "embedded");
        }
    }

    /// <summary>A name no other test uses.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Creates a uniquely named topic and returns its name.</summary>
    public async Task<string> CreateTopicAsync(string prefix, int partitions = 4, bool compacted = false)
    {
        var name = Unique(prefix);
        if (Embedded is not null)
        {
            Embedded.CreateTopic(name, partitions);
            return name;
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        await admin.CreateTopicsAsync(
        [
            new TopicSpecification
            {
                Name = name,
                NumPartitions = partitions,
                ReplicationFactor = 1,
                Configs = new Dictionary<string, string> { ["cleanup.policy"] = compacted ? "compact" : "delete" },
            },
        ]);
        return name;
    }

    public async Task DisposeAsync()
    {
        Embedded?.Dispose();
        if (container is not null)
        {
            await container.DisposeAsync();
        }
    }
}
