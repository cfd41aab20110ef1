using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Streams.Contracts;
using Streams.Contracts.Identifiers;
using Streams.Infrastructure.Hosting;
using Streams.Ingest.Pseudonymization;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Processing;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>A record PostgreSQL refuses for good does not stop the batch it came in, nor the worker.</summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class PoisonRecordTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task PoisonRecordInABatchOf1000_IsIsolatedInBoundedCommits_AndQuarantined_WhileTheOther999GoThrough()
    {
        const int Count = 1000;
        const int PoisonAt = 517;
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles",
            $"--Profiles:BatchSize={Count}", "--Profiles:MaxBatchWait=00:00:05");
        var poison = CanonicalFeed.Id(IdentifierType.Loyalty, "poison");
        // The reader accepts the record; the store refuses it, alone, every time: an integrity error (23514).
        await Database.RefuseIdentifierAsync(host.ConnectionString, poison.Pseudonym, "23514");

        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            for (var i = 0; i < Count; i++)
            {
                var id = i == PoisonAt ? poison : CanonicalFeed.Id(IdentifierType.Loyalty, $"L-{i}");
                feed.Send(CanonicalFeed.StoreEvent($"poison-test-{i}", DateTimeOffset.UtcNow.AddDays(-1), 10, "shoes", id));
            }
        }

        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= Count);

        var isolated = host.Logs.Lines.Select(l => Isolated().Match(l)).Single(m => m.Success);
        Assert.Equal(1, int.Parse(isolated.Groups["quarantined"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(Count, int.Parse(isolated.Groups["records"].Value, CultureInfo.InvariantCulture));
        // The failed batch, then two commits per halving: 1 + 2·⌈log2 1000⌉.
        Assert.InRange(int.Parse(isolated.Groups["attempts"].Value, CultureInfo.InvariantCulture), 2, 1 + 2 * 10);

        Assert.Equal(Count - 1, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(Count, await Database.CountAsync(host.ConnectionString, "select next_offset from consumer_offsets where consumer = 'profiles'"));
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical + ".quarantine"], r => r.Count >= 1, Patience);
        var record = Assert.Single(quarantine);
        Assert.Equal($"{topics.Names.Canonical}/0/{PoisonAt}", Encoding.UTF8.GetString(record.Message.Key!));
        var json = JsonDocument.Parse(record.Message.Value).RootElement;
        Assert.Equal("store_rejected", json.GetProperty("reasons")[0].GetProperty("code").GetString());
        Assert.Equal($"poison-test-{PoisonAt}", json.GetProperty("event_id").GetString());
        Assert.Equal(1, metrics.Quarantined);
        // The loop went on: no session failed.
        Assert.DoesNotContain("session failed", host.Logs.Text, StringComparison.Ordinal);
        Assert.Equal(WorkerLoopState.Running, host.Get<WorkerHeartbeats>().Statuses().Single(s => s.Worker == WorkerSelection.Profiles).State);
    }

    /// <summary>
    /// A new profile's id derives from its record's position and goes in by a plain insert: a stored profile already
    /// holding it (a canonical topic created again, say) is refused for good. Reading the batch again makes the same
    /// id, so retrying it as a collision with another worker would never end; the record is quarantined instead.
    /// </summary>
    [Fact]
    public async Task RecordWhoseNewProfileIdIsTaken_IsQuarantined_WhileTheOthersGoThrough()
    {
        const int Count = 200;
        const int TakenAt = 91;
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles",
            $"--Profiles:BatchSize={Count}", "--Profiles:MaxBatchWait=00:00:05");
        var taken = ProfileBatchProcessor.NewProfileId(new SourcePosition(topics.Names.Canonical, 0, TakenAt));
        await Database.WaitForColumnAsync(host.ConnectionString, "profiles", "pseudonyms");
        await Database.ExecuteAsync(host.ConnectionString,
            "insert into profiles (profile_id, first_seen, last_seen, aggregate, version, updated_at, pseudonyms) " +
            $"values ('{taken}', now(), now(), '{{}}', 1, now(), '{{k1:other}}')");

        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            for (var i = 0; i < Count; i++)
            {
                feed.Send(CanonicalFeed.StoreEvent($"taken-test-{i}", DateTimeOffset.UtcNow.AddDays(-1), 10, "shoes",
                    CanonicalFeed.Id(IdentifierType.Loyalty, $"T-{i}")));
            }
        }

        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= Count);

        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical + ".quarantine"], r => r.Count >= 1, Patience);
        var record = Assert.Single(quarantine);
        Assert.Equal($"{topics.Names.Canonical}/0/{TakenAt}", Encoding.UTF8.GetString(record.Message.Key!));
        Assert.Equal("store_rejected", JsonDocument.Parse(record.Message.Value).RootElement.GetProperty("reasons")[0].GetProperty("code").GetString());
        // The stored profile is left as it was; every other record made its profile.
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, $"select count(*) from profiles where profile_id = '{taken}' and version = 1"));
        Assert.Equal(Count, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(Count, await Database.CountAsync(host.ConnectionString, "select next_offset from consumer_offsets where consumer = 'profiles'"));
    }

    [GeneratedRegex(@"Isolated (?<quarantined>\d+) records the store refused in a batch of (?<records>\d+) with (?<attempts>\d+) commits")]
    private static partial Regex Isolated();

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
