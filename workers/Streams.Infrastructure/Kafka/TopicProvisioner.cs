using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Streams.Contracts.Topics;

namespace Streams.Infrastructure.Kafka;

/// <summary>What provisioning found and did.</summary>
public sealed record ProvisioningReport(IReadOnlyList<string> Created, IReadOnlyList<string> Existing, IReadOnlyList<string> Problems);

/// <summary>
/// Creates the catalog's topics: on a real broker through the AdminClient, on the embedded broker through the mock API
/// (it has no admin API). Idempotent: existing topics are left alone; one whose size or configuration (cleanup policy,
/// retention, tombstone retention) differs is reported. The embedded broker keeps no topic configuration at all: there
/// the catalog's retention is not applied (its data lives as long as the process anyway).
/// </summary>
public sealed class TopicProvisioner(ILogger<TopicProvisioner> logger)
{
    private static readonly TimeSpan AdminTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Creates every topic on the embedded broker.</summary>
    public ProvisioningReport Provision(EmbeddedKafkaCluster cluster, IEnumerable<TopicSpec> topics)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var created = new List<string>();
        foreach (var topic in topics)
        {
            cluster.CreateTopic(topic.Name, topic.Partitions, topic.ReplicationFactor);
            created.Add(topic.Name);
        }

        logger.LogInformation("Created {Count} topics on the embedded broker", created.Count);
        return new ProvisioningReport(created, [], []);
    }

    /// <summary>Creates the missing topics on a real broker and checks the existing ones.</summary>
    public async Task<ProvisioningReport> ProvisionAsync(string bootstrapServers, IEnumerable<TopicSpec> topics, CancellationToken cancellationToken)
    {
        var wanted = topics.ToList();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers })
            .SetLogHandler((_, m) => logger.LogDebug("admin: {Message}", m.Message))
            .Build();

        // Read the metadata first: a broker without admin APIs (the mock, hosted by another process) still answers it,
        // and existing topics must not be created again.
        var metadata = await Task.Run(() => admin.GetMetadata(AdminTimeout), cancellationToken).ConfigureAwait(false);
        var existing = metadata.Topics.Where(t => t.Error.Code == ErrorCode.NoError).ToDictionary(t => t.Topic, t => t.Partitions.Count);

        var problems = new List<string>();
        var missing = wanted.Where(t => !existing.ContainsKey(t.Name)).ToList();
        var created = new List<string>();
        if (missing.Count > 0)
        {
            try
            {
                await admin.CreateTopicsAsync(
                    missing.Select(t => new TopicSpecification
                    {
                        Name = t.Name,
                        NumPartitions = t.Partitions,
                        ReplicationFactor = t.ReplicationFactor,
                        Configs = t.Configs.ToDictionary(),
                    }),
                    new CreateTopicsOptions { RequestTimeout = AdminTimeout }).ConfigureAwait(false);
                created.AddRange(missing.Select(t => t.Name));
            }
            catch (CreateTopicsException e)
            {
                foreach (var result in e.Results)
                {
                    if (result.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists)
                    {
                        created.Add(result.Topic);
                    }
                    else
                    {
                        throw new InvalidOperationException($"Creating topic '{result.Topic}' failed: {result.Error.Reason}", e);
                    }
                }
            }
        }

        var present = wanted.Where(t => existing.ContainsKey(t.Name)).ToList();
        foreach (var topic in present.Where(t => existing[t.Name] < t.Partitions))
        {
            problems.Add($"topic '{topic.Name}' has {existing[topic.Name]} partitions, the catalog wants {topic.Partitions}");
        }

        problems.AddRange(await CheckConfigsAsync(admin, present).ConfigureAwait(false));
        foreach (var problem in problems)
        {
            logger.LogWarning("Topic provisioning: {Problem}", problem);
        }

        logger.LogInformation("Topics: {Created} created, {Existing} already there", created.Count, present.Count);
        return new ProvisioningReport(created, present.Select(t => t.Name).ToList(), problems);
    }

    /// <summary>
    /// How an existing topic's configuration differs from the catalog's: one line per setting. A setting the broker did
    /// not report is taken at Kafka's default (<c>cleanup.policy=delete</c>) or reported as missing.
    /// </summary>
    public static IReadOnlyList<string> Differences(TopicSpec wanted, IReadOnlyDictionary<string, string> have)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        ArgumentNullException.ThrowIfNull(have);
        var problems = new List<string>();
        foreach (var (name, want) in wanted.Configs)
        {
            var value = have.TryGetValue(name, out var found) ? found : name == "cleanup.policy" ? "delete" : "(not reported)";
            if (!string.Equals(value, want, StringComparison.Ordinal))
            {
                problems.Add($"topic '{wanted.Name}' has {name}={value}, the catalog wants {want}");
            }
        }

        return problems;
    }

    private static async Task<IReadOnlyList<string>> CheckConfigsAsync(IAdminClient admin, IReadOnlyList<TopicSpec> topics)
    {
        if (topics.Count == 0)
        {
            return [];
        }

        try
        {
            var results = await admin.DescribeConfigsAsync(
                topics.Select(t => new ConfigResource { Type = ResourceType.Topic, Name = t.Name }),
                // Brokers answer this in milliseconds; one that cannot (the embedded mock) should not hold the start up.
                new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(3) }).ConfigureAwait(false);
            var problems = new List<string>();
            foreach (var result in results)
            {
                var wanted = topics.First(t => t.Name == result.ConfigResource.Name);
                problems.AddRange(Differences(wanted, result.Entries.ToDictionary(e => e.Key, e => e.Value.Value)));
            }

            return problems;
        }
        catch (KafkaException e)
        {
            // Brokers without DescribeConfigs (the embedded mock hosted elsewhere) cannot be checked; say so once.
            return [$"could not verify cleanup.policy, retention.ms and delete.retention.ms of existing topics: {e.Error.Reason}"];
        }
    }
}
