using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Fencing;

/// <summary>The group's offsets, kept for lag monitoring only, follow the offsets stored in PostgreSQL.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class GroupOffsetsTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A worker resumed from stored offsets with nothing left to read commits them to its group at assignment: before, a
    /// partition that moved to another host after its last batch (whose commit to the group the rebalance refused) kept
    /// its lag for good (pipeline-load --hosts 2 waited on it). A new group id over the same stored offsets is the same
    /// case, made certain.
    /// </summary>
    [Fact]
    public async Task ResumedFromStoredOffsets_WithNoNewInput_TheGroupShowsNoLag()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var (_, events) = CustomerGenerator.Generate(10, seed: 41, prefix: "regroup");
        string[] profilesOnly = ["--Streams:Workers=profiles", "--Profiles:MaxBatchWait=00:00:00.020"];
        string connectionString;
        await using (var first = await InProcessHost.StartAsync(kafka, postgres, topics, [.. profilesOnly, "--Profiles:GroupId=regroup-a"]))
        {
            using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
            {
                events.ForEach(feed.Send);
            }

            var metrics = first.Get<ProfilesMetrics>();
            await WaitUntilAsync(() => metrics.Records >= events.Count);
            connectionString = first.ConnectionString;
        }

        await using var second = await InProcessHost.RestartAsync(kafka, topics, connectionString,
            [.. profilesOnly, "--Profiles:GroupId=regroup-b", "--Pseudonymization:ActiveKeyId=k1", $"--Pseudonymization:Keys:k1={InProcessHost.TestKey}"]);
        using var lag = new ConsumerLagReader(kafka.BootstrapServers);
        await WaitUntilAsync(() => second.Get<ProfilesMetrics>().AssignedPartitions == 2
            && lag.TotalLag("regroup-b", [topics.Names.Canonical], TimeSpan.FromSeconds(10)) == 0);
        Assert.Equal(0, second.Get<ProfilesMetrics>().Records);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "timed out");
    }
}
