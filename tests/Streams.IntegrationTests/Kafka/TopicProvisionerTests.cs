using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;

namespace Streams.IntegrationTests.Kafka;

public sealed class TopicProvisionerTests
{
    private readonly TopicProvisioner provisioner = new(NullLogger<TopicProvisioner>.Instance);

    [Fact]
    public void Provision_OnTheEmbeddedBroker_CreatesEveryCatalogTopicWithItsPartitions()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var catalog = new TopicCatalog(new TopicsOptions { Partitions = 3 });
        provisioner.Provision(cluster, catalog.All);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        foreach (var topic in catalog.All)
        {
            var found = Assert.Single(metadata.Topics, t => t.Topic == topic.Name);
            Assert.Equal(3, found.Partitions.Count);
        }
    }

    [Fact]
    public async Task ProvisionAsync_AgainstABrokerThatHasTheTopics_CreatesNothing_AndSaysWhatItCouldNotCheck()
    {
        // A broker hosted by another process (as in the crash tests) is reached through the admin path only.
        using var cluster = EmbeddedKafkaCluster.Start();
        var catalog = new TopicCatalog(new TopicsOptions());
        provisioner.Provision(cluster, catalog.All);

        var report = await provisioner.ProvisionAsync(cluster.BootstrapServers, catalog.All, CancellationToken.None);

        Assert.Empty(report.Created);
        Assert.Equal(catalog.All.Select(t => t.Name).Order(), report.Existing.Order());
        // The mock has no DescribeConfigs: the policies and retentions of existing topics are reported as unverified, not assumed.
        var unverified = Assert.Single(report.Problems);
        Assert.Contains("cleanup.policy, retention.ms and delete.retention.ms", unverified, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProvisionAsync_ReportsATopicWithFewerPartitionsThanTheCatalogWants()
    {
        using var cluster = EmbeddedKafkaCluster.Start();
        var catalog = new TopicCatalog(new TopicsOptions { Partitions = 4 });
        cluster.CreateTopic(catalog.Names.Clickstream, partitions: 2);
        provisioner.Provision(cluster, catalog.All.Where(t => t.Name != catalog.Names.Clickstream));

        var report = await provisioner.ProvisionAsync(cluster.BootstrapServers, catalog.All, CancellationToken.None);

        Assert.Contains(report.Problems, p => p.Contains("'clickstream' has 2 partitions", StringComparison.Ordinal));
    }
}
