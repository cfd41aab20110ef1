using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Npgsql;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Lineage;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>
/// A shared device wrongly merges two customers; the operator's <c>unmerge</c> (CONTRACT §5.4), run as the host command
/// while the profiles worker runs, splits them back exactly.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class UnmergeTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Customer 1 browses on device D; customer 2 shops by e-mail and card and once buys on customer 1's device. Pair
    /// "twin" lives the same lives with identifiers of its own, except that its bridging purchase never carried the device.
    /// </summary>
    internal static List<CanonicalEvent> Lives(string pair, bool shareDevice)
    {
        var (email1, device) = (CanonicalFeed.Id(IdentifierType.Email, $"one-{pair}@example.com"), CanonicalFeed.Id(IdentifierType.Device, $"dev-{pair}"));
        var (email2, card) = (CanonicalFeed.Id(IdentifierType.Email, $"two-{pair}@example.com"), CanonicalFeed.Id(IdentifierType.Loyalty, $"card-{pair}"));
        return
        [
            CanonicalFeed.ClickEvent($"{pair}-1", T0, "page_view", email1, device),
            CanonicalFeed.StoreEvent($"{pair}-2", T0.AddMinutes(1), 80, "shoes", email2, card),
            CanonicalFeed.ClickEvent($"{pair}-3", T0.AddMinutes(2), "add_to_cart", device),
            CanonicalFeed.ClickEvent($"{pair}-4", T0.AddMinutes(3), "purchase", shareDevice ? [email2, device] : [email2]),
            CanonicalFeed.CallEvent($"{pair}-5", T0.AddMinutes(4), card),
            CanonicalFeed.SocialEvent($"{pair}-6", T0.AddMinutes(5), email1, device),
        ];
    }

    [Fact]
    public async Task AWrongMerge_IsUndone_BothProfilesEqualARunWithoutTheBridge_AndTheSameEvidenceNeverMergesThemAgain()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        // Segmentation runs too: it follows the split through the profiles records the command publishes.
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles,segmentation",
            "--Profiles:MaxBatchWait=00:00:00.050", $"--Segmentation:GroupId={KafkaFixture.Unique("unmerge-seg")}", "--Segmentation:MinEvents=1",
            "--Segmentation:K=2", "--Segmentation:MinSegmentSize=1", "--Segmentation:MiniBatchSize=10",
            "--Segmentation:MaxBatchWait=00:00:00.100");
        var (merged, twin) = (Lives("shared", shareDevice: true), Lives("twin", shareDevice: false));
        using var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical);
        merged.Concat(twin).ToList().ForEach(feed.Send);
        feed.Flush();
        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= merged.Count + twin.Count);

        var lineage = Assert.Single(await Database.RowsAsync(host.ConnectionString,
            "select merge_id, absorbed, survivor, event_id, cardinality(identifiers), cardinality(bridge) from merge_lineage"));
        var (mergeId, absorbed, survivor) = ((string)lineage[0]!, (string)lineage[1]!, (string)lineage[2]!);
        Assert.Equal(["shared-4", 2, 1], lineage[3..]);
        Assert.Equal(3, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));

        var settings = new[]
        {
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--ConnectionStrings:Profiles={host.ConnectionString}",
        }.Concat(topics.HostArguments).ToArray();
        // The worker goes on meanwhile: both pairs keep living the same lives while the command runs.
        var command = HostCommand.RunAsync(["unmerge", "--merge", mergeId, .. settings]);
        var during = 0;
        for (; !command.IsCompleted || during < 20; during++)
        {
            foreach (var pair in new[] { "shared", "twin" })
            {
                var later = Lives(pair, shareDevice: false);
                var e = later[during % later.Count];
                feed.Send(e with { EventId = $"{e.EventId}-during-{during}", OccurredAt = e.OccurredAt.AddHours(1 + during) });
            }

            feed.Flush();
            await Task.Delay(20);
        }

        var (exit, output, errors) = await command;
        Assert.True(exit == 0, errors);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.Equal(2, result.GetProperty("profiles").GetArrayLength());
        await WaitUntilAsync(() => metrics.Records >= merged.Count + twin.Count + 2 * during);

        // Each half equals its twin: the same aggregate, the same number of identifiers, linked the same way.
        var profiles = await Database.RowsAsync(host.ConnectionString, "select profile_id, aggregate::text, cardinality(pseudonyms) from profiles order by 1");
        Assert.Equal(4, profiles.Count);
        var twinIds = (await Database.RowsAsync(host.ConnectionString, "select profile_id from profiles")).Select(r => (string)r[0]!)
            .Except([absorbed, survivor]).ToList();
        Assert.Equal(2, twinIds.Count);
        var byAggregate = profiles.GroupBy(p => ((string)p[1]!, (int)p[2]!)).ToList();
        Assert.All(byAggregate, g => Assert.Equal(2, g.Count()));
        Assert.All(byAggregate, g => Assert.Single(g, p => twinIds.Contains((string)p[0]!)));

        // Published: both profiles again (features as stored), the unmerge on profile-merges.
        var latest = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Offset.Value).Last().Message.Value);
        var features = (string id) => JsonDocument.Parse(latest[id]!).RootElement.GetProperty("features").GetRawText();
        Assert.Equal(4, latest.Values.Count(v => v is not null));
        foreach (var id in new[] { absorbed, survivor })
        {
            Assert.Contains(twinIds, t => features(t) == features(id));
        }

        // Segments follow: each half is assigned again from the same feature vector as its twin (the absorbed profile,
        // whose assignment went with the merge, gets one back), and to the same segment when the same model assigned both.
        // (Four customers are fewer than a seed takes, so no model exists here and no segment id is given: the vectors
        // segmentation keeps are what this checks; nearest-centroid assignment makes equal vectors equal segments.)
        foreach (var id in new[] { absorbed, survivor })
        {
            var twinOf = twinIds.Single(t => features(t) == features(id));
            var pair = await EventuallyAsync(async () => await Database.RowsAsync(host.ConnectionString,
                    $"select profile_id, raw::text, segment_id, model_version from segment_assignments where profile_id in ('{id}', '{twinOf}')"),
                rows => rows.Count == 2 && (string)rows[0][1]! == (string)rows[1][1]!);
            if (Equals(pair[0][3], pair[1][3]))
            {
                Assert.Equal(pair[0][2], pair[1][2]);
            }
        }

        var unmerge = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.ProfileMerges)
            .Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).Single(r => r.GetProperty("kind").GetString() == "unmerge");
        Assert.Equal((mergeId, absorbed, survivor),
            (unmerge.GetProperty("merge_id").GetString(), unmerge.GetProperty("from").GetString(), unmerge.GetProperty("into").GetString()));
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from merge_lineage where unmerged_at is not null"));
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from identity_blocks where merge_id is not null"));

        // Asked again, or for an identifier the profile does not hold (typed raw by mistake): refused, never echoed.
        (exit, _, errors) = await HostCommand.RunAsync(["unmerge", "--merge", mergeId, .. settings]);
        Assert.Equal(1, exit);
        Assert.Contains("undone already", errors, StringComparison.Ordinal);
        (exit, _, errors) = await HostCommand.RunAsync(["detach", "--profile", survivor, "--identifier", "one-shared@example.com", .. settings]);
        Assert.Equal(1, exit);
        Assert.DoesNotContain("one-shared", errors, StringComparison.Ordinal);

        // The same evidence again: refused as identity_conflict, counted, nothing merged.
        var conflicts = metrics.Conflicts;
        feed.Send(merged[3] with { EventId = "shared-4-again" });
        feed.Flush();
        await WaitUntilAsync(() => metrics.Records >= merged.Count + twin.Count + 2 * during + 1);
        Assert.Equal(conflicts + 1, metrics.Conflicts);
        Assert.Equal(1, metrics.Blocked);
        Assert.Equal(4, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from merge_lineage"));
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical + ".quarantine"],
            r => r.Count >= 1, Patience);
        Assert.Contains(quarantine, r => Encoding.UTF8.GetString(r.Message.Value!).Contains("identity_conflict", StringComparison.Ordinal));
        await ProfileInvariants.AssertListsMatchLinksAsync(host.ConnectionString);

        // Customer 1's device, detached: it is left out beside the e-mail address, and its events alone make a profile.
        (exit, output, errors) = await HostCommand.RunAsync(
            ["detach", "--profile", survivor, "--identifier", CanonicalFeed.Id(IdentifierType.Device, "dev-shared").Pseudonym, .. settings]);
        Assert.True(exit == 0, errors);
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("profiles").GetArrayLength());
        Assert.Equal(5, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        var detach = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.ProfileMerges)
            .Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).Single(r => r.GetProperty("kind").GetString() == "detach");
        Assert.Equal(JsonValueKind.Null, detach.GetProperty("merge_id").ValueKind);
        Assert.Equal(survivor, detach.GetProperty("into").GetString());
        await ProfileInvariants.AssertListsMatchLinksAsync(host.ConnectionString);
    }

    [Fact]
    public async Task AnUnmergeWhoseConnectionIsLost_FailsWithThatLoss_AndTheNextOneGoesThrough()
    {
        // A connection lost under the split (a stopped server, a terminated backend) ends the session and its locks; the
        // release of the locks on it must not replace that loss with "Connection is not open" (the stewards' page shows it).
        var (host, _, mergeId) = await OneMergeAsync("lost");
        await using var running = host;
        await Database.ExecuteAsync(host.ConnectionString, """
            create function lose_the_connection() returns trigger language plpgsql as
            $$ begin perform pg_terminate_backend(pg_backend_pid()); return new; end $$;
            create trigger lose_the_connection before update on merge_lineage for each row execute function lose_the_connection();
            """);
        var operations = host.Get<IMergeOperations>();

        var failure = Assert.ThrowsAny<Exception>(() => operations.Unmerge(mergeId));

        Assert.IsNotType<InvalidOperationException>(failure);
        Assert.IsAssignableFrom<NpgsqlException>(failure);
        await Database.ExecuteAsync(host.ConnectionString, "drop trigger lose_the_connection on merge_lineage");
        Assert.Equal(2, operations.Unmerge(mergeId).Profiles.Count);
    }

    [Fact]
    public async Task AnUnmergeOfMoreKeptEventsThanTheBound_IsRefused_AndChangesNothing()
    {
        // A profile's kept events have no bound of their own; a split reads them into the memory of the process that runs
        // it (the host of the stewards' console too), so one past Identity:MaxSplitLineageBytes is refused before that.
        var (host, topics, mergeId) = await OneMergeAsync("large");
        await using var running = host;
        var settings = new[]
        {
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--ConnectionStrings:Profiles={host.ConnectionString}",
        }.Concat(topics.HostArguments).ToArray();

        var (exit, _, errors) = await HostCommand.RunAsync(["unmerge", "--merge", mergeId, .. settings, "--Identity:MaxSplitLineageBytes=1024"]);

        Assert.Equal(1, exit);
        Assert.Contains("refused, nothing changed", errors, StringComparison.Ordinal);
        Assert.Contains("Identity:MaxSplitLineageBytes", errors, StringComparison.Ordinal);
        Assert.Equal(0, await Database.CountAsync(host.ConnectionString, "select count(*) from merge_lineage where unmerged_at is not null"));
        Assert.Equal(0, await Database.CountAsync(host.ConnectionString, "select count(*) from identity_blocks"));
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        (exit, _, errors) = await HostCommand.RunAsync(["unmerge", "--merge", mergeId, .. settings]);
        Assert.True(exit == 0, errors);
        Assert.Equal(2, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
    }

    [Fact]
    public async Task AnUnmergeWithABoundOutOfRange_IsAConfigurationError_BeforeAnyDatabaseIsReached()
    {
        // Nothing listens on either port: a command that got as far as the database would fail there, with exit 1.
        var (exit, _, errors) = await HostCommand.RunAsync(["unmerge", "--merge", "m-1", "--Kafka:BootstrapServers=127.0.0.1:9",
            "--ConnectionStrings:Profiles=Host=127.0.0.1;Port=9;Timeout=3", "--Identity:MaxSplitLineageBytes=5"]);

        Assert.True(exit == 2, errors);
        Assert.Contains("configuration error", errors, StringComparison.Ordinal);
        Assert.Contains("MaxSplitLineageBytes", errors, StringComparison.Ordinal);
    }

    /// <summary>A host running the profiles worker alone, fed <see cref="Lives"/> of <paramref name="pair"/> sharing the device: one merge.</summary>
    private async Task<(InProcessHost Host, TestTopics Topics, string MergeId)> OneMergeAsync(string pair)
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles", "--Profiles:MaxBatchWait=00:00:00.050");
        try
        {
            var merged = Lives(pair, shareDevice: true);
            using var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical);
            merged.ForEach(feed.Send);
            feed.Flush();
            var metrics = host.Get<ProfilesMetrics>();
            await WaitUntilAsync(() => metrics.Records >= merged.Count);
            var mergeId = (string)Assert.Single(await Database.RowsAsync(host.ConnectionString, "select merge_id from merge_lineage"))[0]!;
            return (host, topics, mergeId);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.UntilAsync(read, done, Patience);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the profiles worker did not get there in time");
    }
}
