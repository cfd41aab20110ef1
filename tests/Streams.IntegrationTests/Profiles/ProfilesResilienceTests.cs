using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streams.Contracts.Canonical;
using Streams.Infrastructure.Diagnostics;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>Crashes, a second instance, a database outage: the profiles end the same as without them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ProfilesResilienceTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task KilledAtRandomPointsManyTimes_EndsWithTheSameTablesAndLastPublishedProfilesAsAnUninterruptedRun()
    {
        // One canonical partition, read by both runs: the same records in the same order, cut into different batches.
        var reference = await TestTopics.CreateAsync(kafka, partitions: 1);
        var crashed = await TestTopics.CreateAsync(kafka, partitions: 1);
        var total = Feed(reference.Names.Canonical, customers: 500, seed: 5);

        string referenceDb;
        await using (var host = await InProcessHost.StartAsync(kafka, postgres, reference, "--Streams:Workers=profiles"))
        {
            var metrics = host.Get<ProfilesMetrics>();
            await WaitUntilAsync(() => metrics.Records >= total);
            referenceDb = host.ConnectionString;
        }

        var crashedDb = await postgres.CreateDatabaseAsync();
        using var stateFolder = new TemporaryFolder("streams-crash-");
        var state = stateFolder.Path;
        string[] arguments =
        [
            .. InProcessHost.Arguments(kafka, crashed, crashedDb, state),
            $"--Topics:Canonical={reference.Names.Canonical}", "--Streams:Workers=profiles", "--Profiles:GroupId=crash-run",
            "--Profiles:BatchSize=60", "--Profiles:MaxBatchWait=00:00:00.020",
        ];
        // Inside the transaction, between commit and publish, after publish, and wherever a plain SIGKILL lands.
        string?[] crashes =
        [
            "profiles.before-commit@3", "profiles.after-commit@2", "profiles.after-publish@4", null,
            "profiles.after-commit@5", "profiles.before-commit@2", null, "profiles.after-commit@1",
        ];
        var random = new Random(42);
        foreach (var crash in crashes)
        {
            var environment = crash is null ? null : new Dictionary<string, string> { [CrashPoints.Variable] = crash };
            await using var host = HostProcess.Start(environment, arguments);
            if (crash is null)
            {
                await Task.Delay(random.Next(2500, 5000));
                host.KillHard();
            }

            await host.WaitForExitAsync(Patience);
            Assert.True(crash is null || host.Errors.Contains($"crash point {crash} reached", StringComparison.Ordinal), host.Errors + host.Output);
        }

        await using (var last = HostProcess.Start(arguments: arguments))
        {
            await WaitUntilAsync(() => Offset(crashedDb).Result >= total);
            await Task.Delay(1000);
            last.Interrupt();
            Assert.Equal(0, await last.WaitForExitAsync(Patience));
        }

        Assert.Equal(await Tables(referenceDb), await Tables(crashedDb));
        await ProfileInvariants.AssertListsMatchLinksAsync(crashedDb);
        Assert.Equal(LastPublished(reference.Names.Profiles), LastPublished(crashed.Names.Profiles));
        Assert.Equal(0, await Database.CountAsync(crashedDb, "select count(*) from profile_outbox"));
    }

    [Fact]
    public async Task TwoInstancesInOneGroup_ReachTheSameResultAsOne()
    {
        var single = await TestTopics.CreateAsync(kafka);
        var pair = await TestTopics.CreateAsync(kafka);
        string singleDb;
        int total;
        await using (var host = await InProcessHost.StartAsync(kafka, postgres, single, "--Streams:Workers=profiles"))
        {
            total = Feed(single.Names.Canonical, customers: 800, seed: 8, consent: false);
            var metrics = host.Get<ProfilesMetrics>();
            await WaitUntilAsync(() => metrics.Records >= total);
            singleDb = host.ConnectionString;
        }

        // Both instances share one database, one group and the same canonical topic.
        var pairDb = await postgres.CreateDatabaseAsync();
        string[] shared = ["--Streams:Workers=profiles", "--Profiles:GroupId=pair",
            $"--ConnectionStrings:Profiles={pairDb}", "--Profiles:BatchSize=200"];
        await using var first = await InProcessHost.StartAsync(kafka, postgres, pair, shared);
        await using var second = await InProcessHost.StartAsync(kafka, postgres, pair, shared);
        var a = first.Get<ProfilesMetrics>();
        var b = second.Get<ProfilesMetrics>();
        // Both must hold partitions before the records come, or the first would do everything alone.
        await WaitUntilAsync(() => a.AssignedPartitions > 0 && b.AssignedPartitions > 0 && a.AssignedPartitions + b.AssignedPartitions == 4);
        var again = Feed(pair.Names.Canonical, customers: 800, seed: 8, consent: false);
        Assert.Equal(total, again);
        await WaitUntilAsync(() => a.Records + b.Records >= total);
        Assert.True(a.Records > 0 && b.Records > 0, $"both instances should have worked: {a.Records} and {b.Records}");

        // Profile ids may differ (which partition's record created a profile depends on timing); the people may not.
        Assert.Equal(await ByIdentifiers(singleDb), await ByIdentifiers(pairDb));
        await ProfileInvariants.AssertListsMatchLinksAsync(pairDb);
    }

    [SkippableFact]
    public async Task PostgresStoppedMidStream_TheWorkerRetriesAndCatchesUpWithoutLoss()
    {
        Skip.If(postgres.Local is null, "needs the local PostgreSQL cluster, which this test stops and starts");
        var topics = await TestTopics.CreateAsync(kafka);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles",
            "--Profiles:BatchSize=100", "--Profiles:RetryDelay=00:00:00.200", "--Profiles:MaxRetryDelay=00:00:02");
        var metrics = host.Get<ProfilesMetrics>();
        var (customers, events) = CustomerGenerator.Generate(600, seed: 3, prefix: "outage");
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            events.Take(events.Count / 2).ToList().ForEach(feed.Send);
            feed.Flush();
            await WaitUntilAsync(() => metrics.Records > 0);
            await postgres.Local!.StopAsync();
            events.Skip(events.Count / 2).ToList().ForEach(feed.Send);
            feed.Flush();
            await Task.Delay(4000);
            Assert.Contains(host.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("Profiles session failed", StringComparison.Ordinal));
            await postgres.Local.RestartAsync();
        }

        await WaitUntilAsync(() => Offset(host.ConnectionString).Result >= events.Count);
        Assert.Equal(customers.Count, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(events.Count, await Database.CountAsync(host.ConnectionString,
            "select sum((aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint + " +
            "(aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint) from profiles"));
    }

    // Consent requests race with events on other partitions (an erasure applies to what was seen before it), so
    // runs over several partitions compare without them.
    private int Feed(string canonical, int customers, int seed, bool consent = true)
    {
        var (people, events) = CustomerGenerator.Generate(customers, seed, $"s{seed}");
        using var feed = new CanonicalFeed(kafka.BootstrapServers, canonical);
        events.ForEach(feed.Send);
        if (!consent)
        {
            return events.Count;
        }

        // Consent in the middle of the stream: an opt-out, an opt-in, an erasure.
        feed.Send(CanonicalFeed.Consent("opt-out-1", people[1].Identifiers[1], ConsentAction.OptOut));
        feed.Send(CanonicalFeed.Consent("erase-2", people[2].Identifiers[3], ConsentAction.Erase));
        feed.Send(CanonicalFeed.Consent("opt-in-1", people[1].Identifiers[2], ConsentAction.OptIn));
        feed.Send(CanonicalFeed.Consent("opt-out-3", people[3].Identifiers[0], ConsentAction.OptOut));
        return events.Count + 4;
    }

    private static async Task<long> Offset(string connectionString)
    {
        try
        {
            return await Database.CountAsync(connectionString, "select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = 'profiles'");
        }
        catch (Npgsql.NpgsqlException)
        {
            return 0;
        }
    }

    // Every table as rows of text, leaving out what records when (version, updated_at, processed_at) and which
    // topic the offsets came from: those depend on batching and wall-clock time, the data must not.
    private static async Task<List<string>> Tables(string connectionString) =>
    [
        .. await Database.DumpAsync(connectionString, "profiles", "t.profile_id, t.first_seen, t.last_seen, t.aggregate, t.personalization_allowed, t.pseudonyms"),
        .. await Database.DumpAsync(connectionString, "identifiers"),
        .. await Database.DumpAsync(connectionString, "profile_merges"),
        .. await Database.DumpAsync(connectionString, "consent_audit",
            "t.event_id, t.action, t.identifier_type, t.outcome, t.identifiers_removed, t.events_erased, t.requested_at", "t.event_id"),
    ];

    private static async Task<List<string>> ByIdentifiers(string connectionString) =>
        (await Database.RowsAsync(connectionString, """
            select string_agg(i.pseudonym, ',' order by i.pseudonym), p.aggregate::text, p.personalization_allowed
            from profiles p join identifiers i using (profile_id)
            group by p.profile_id, p.aggregate::text, p.personalization_allowed
            """)).Select(r => string.Join('|', r)).Order(StringComparer.Ordinal).ToList();

    /// <summary>
    /// What a consumer of the compacted topic ends up with: each live key's last record. A tombstoned key and a key
    /// never published read the same; which of the two a short-lived profile gets depends on where batches were cut
    /// (one created and absorbed within a batch is never published, so never tombstoned).
    /// </summary>
    private List<string> LastPublished(string topic) =>
        TopicReader.ReadAll(kafka.BootstrapServers, topic)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key ?? []))
            .Select(g => g.OrderBy(r => r.Offset.Value).Last())
            .Where(r => r.Message.Value is not null)
            .Select(r =>
            {
                var json = JsonNode.Parse(r.Message.Value)!.AsObject();
                json.Remove("version");
                json.Remove("updated_at");
                return json.ToJsonString();
            })
            .Order(StringComparer.Ordinal).ToList();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(200);
        }

        Assert.True(condition(), "timed out");
    }
}
