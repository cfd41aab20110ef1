using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Streams.Contracts.Topics;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>A full set of catalog topics under names no other test uses, created on the run's broker.</summary>
public sealed class TestTopics
{
    private TestTopics(TopicsOptions names) => Names = names;

    public TopicsOptions Names { get; }

    public TopicCatalog Catalog => new(Names);

    /// <summary>The host arguments that point it at these topics.</summary>
    public IEnumerable<string> HostArguments =>
    [
        $"--Topics:Clickstream={Names.Clickstream}", $"--Topics:Store={Names.Store}", $"--Topics:Callcenter={Names.Callcenter}",
        $"--Topics:Social={Names.Social}", $"--Topics:Consent={Names.Consent}", $"--Topics:Profiles={Names.Profiles}",
        $"--Topics:ProfileMerges={Names.ProfileMerges}", $"--Topics:Segments={Names.Segments}",
        $"--Topics:SegmentCatalog={Names.SegmentCatalog}", $"--Topics:Canonical={Names.Canonical}",
        $"--Topics:ActivationRequests={Names.ActivationRequests}", $"--Topics:ActivationResponses={Names.ActivationResponses}",
        $"--Topics:DataQuality={Names.DataQuality}", $"--Topics:DataQualityAlerts={Names.DataQualityAlerts}",
        $"--Topics:Partitions={Names.Partitions}",
    ];

    public static async Task<TestTopics> CreateAsync(KafkaFixture kafka, int partitions = 4)
    {
        var prefix = KafkaFixture.Unique("t");
        var names = new TopicsOptions
        {
            Clickstream = $"{prefix}.clickstream", Store = $"{prefix}.store", Callcenter = $"{prefix}.callcenter",
            Social = $"{prefix}.social", Consent = $"{prefix}.consent", Profiles = $"{prefix}.profiles",
            ProfileMerges = $"{prefix}.profile-merges", Segments = $"{prefix}.segments",
            SegmentCatalog = $"{prefix}.segment-catalog", Canonical = $"{prefix}.canonical",
            ActivationRequests = $"{prefix}.activation-requests", ActivationResponses = $"{prefix}.activation-responses", Partitions = partitions,
            DataQuality = $"{prefix}.data-quality", DataQualityAlerts = $"{prefix}.data-quality-alerts",
        };
        var catalog = new TopicCatalog(names);
        if (kafka.Embedded is { } embedded)
        {
            foreach (var topic in catalog.All)
            {
                embedded.CreateTopic(topic.Name, topic.Partitions);
            }
        }
        else
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers }).Build();
            await admin.CreateTopicsAsync(catalog.All.Select(t => new TopicSpecification
            {
                Name = t.Name,
                NumPartitions = t.Partitions,
                ReplicationFactor = 1,
                Configs = new Dictionary<string, string> { ["cleanup.policy"] = t.CleanupPolicy },
            }));
        }

        return new TestTopics(names);
    }
}
