using System.Text;
using System.Text.Json;
using Streams.Ingest.Canonical;
using Streams.Ingest.Pseudonymization;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Profiles;

/// <summary>The profiles worker in the real host (profiles only), fed canonical records as ingest writes them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ProfilesWorkerTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task GeneratedCustomers_EachEndAsExactlyOneProfile()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles", "--Profiles:MaxBatchWait=00:00:00.050");
        var (customers, events) = CustomerGenerator.Generate(2000, seed: 11, prefix: "gen");
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            events.ForEach(feed.Send);
        }

        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= events.Count);

        var owners = (await Database.RowsAsync(host.ConnectionString, "select pseudonym, profile_id from identifiers"))
            .ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        Assert.Equal(customers.Count * 5, owners.Count);
        foreach (var customer in customers)
        {
            var profiles = customer.Identifiers.Select(i => owners[i.Pseudonym]).Distinct().ToList();
            Assert.True(profiles.Count == 1, $"customer {customer.Number} is spread over {profiles.Count} profiles");
        }

        Assert.Equal(customers.Count, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        await ProfileInvariants.AssertListsMatchLinksAsync(host.ConnectionString);
        Assert.Equal(customers.Count * 7L, await Database.CountAsync(host.ConnectionString,
            "select sum((aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint + " +
            "(aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint) from profiles"));

        // What campaign systems read: the last record of each key on the compacted topic.
        var published = LatestByKey(topics.Names.Profiles);
        var live = published.Where(p => p.Value is not null).ToList();
        Assert.Equal(customers.Count, live.Count);
        var sample = JsonDocument.Parse(live[0].Value!).RootElement;
        Assert.Equal(5, sample.GetProperty("identifiers").GetArrayLength());
        Assert.True(sample.GetProperty("features").EnumerateObject().Count() >= 12);
        Assert.True(sample.GetProperty("personalization_allowed").GetBoolean());
        Assert.Equal(7, sample.GetProperty("event_counts").EnumerateObject().Sum(c => c.Value.GetInt32()));
    }

    [Fact]
    public async Task BadCanonicalInput_IsQuarantined_AndTheWorkerGoesOn()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles");
        var alice = CanonicalFeed.Id(IdentifierType.Email, "alice@example.com");
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            feed.SendRaw(Encoding.UTF8.GetBytes("not json at all"), "event");
            feed.SendRaw(Encoding.UTF8.GetBytes("{\"channel\":\"store\",\"event_id\":\"x\"}"), "event");
            feed.SendRaw(Encoding.UTF8.GetBytes("{}"), null);
            feed.SendRaw([], "consent");
            // Well-formed JSON, but pseudonyms ingest never writes: with a space, and blank.
            feed.Send(CanonicalFeed.StoreEvent("spaced", DateTimeOffset.UtcNow.AddDays(-1), 30, "shoes", alice with { Pseudonym = "k1:ab cd" }));
            feed.Send(CanonicalFeed.StoreEvent("blank", DateTimeOffset.UtcNow.AddDays(-1), 30, "shoes", alice with { Pseudonym = " " }));
            feed.Send(CanonicalFeed.StoreEvent("after-the-bad-ones", DateTimeOffset.UtcNow.AddDays(-1), 30, "shoes", alice));
        }

        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= 7);
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical + ".quarantine"], r => r.Count >= 6, Patience);
        Assert.Equal(6, quarantine.Count);
        Assert.All(quarantine, r => Assert.Equal("quarantined", JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("disposition").GetString()));
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
    }

    [Fact]
    public async Task Erase_LeavesNoRowAboutTheProfile_TombstonesBothTopics_AndKeepsTheAudit()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles");
        var email = CanonicalFeed.Id(IdentifierType.Email, "erase.me@example.com");
        var card = CanonicalFeed.Id(IdentifierType.Loyalty, "ERASE-1");
        var device = CanonicalFeed.Id(IdentifierType.Device, "erase-device");
        var other = CanonicalFeed.Id(IdentifierType.Email, "keep.me@example.com");
        var metrics = host.Get<ProfilesMetrics>();
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            var t = DateTimeOffset.UtcNow.AddDays(-10);
            feed.Send(CanonicalFeed.ClickEvent("e1", t, "page_view", device));
            feed.Send(CanonicalFeed.StoreEvent("e2", t.AddHours(1), 50, "shoes", card));
            // Bridges the two: a merge, so profile_merges mentions the profile too.
            feed.Send(CanonicalFeed.StoreEvent("e3", t.AddHours(2), 20, "shoes", card, email, device));
            feed.Send(CanonicalFeed.StoreEvent("e4", t.AddHours(3), 10, "grocery", other));
        }

        await WaitUntilAsync(() => metrics.Records >= 4);
        var profileId = (string)(await Database.RowsAsync(host.ConnectionString,
            $"select profile_id from identifiers where pseudonym = '{email.Pseudonym}'"))[0][0]!;
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from profile_merges"));

        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            feed.Send(CanonicalFeed.Consent("erase-request", card, ConsentAction.Erase));
            feed.Send(CanonicalFeed.Consent("never-seen", CanonicalFeed.Id(IdentifierType.Phone, "+15550000000"), ConsentAction.OptOut));
        }

        await WaitUntilAsync(() => metrics.Records >= 6);
        var absorbed = LatestByKey(topics.Names.ProfileMerges).Select(m => Encoding.UTF8.GetString(m.Key!)).ToList();
        foreach (var table in await Database.TablesAsync(host.ConnectionString))
        {
            var rows = await Database.DumpAsync(host.ConnectionString, table);
            foreach (var needle in new[] { profileId, email.Pseudonym, card.Pseudonym, device.Pseudonym }.Concat(absorbed))
            {
                Assert.DoesNotContain(rows, row => row.Contains(needle, StringComparison.Ordinal));
            }
        }

        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        var audit = await Database.RowsAsync(host.ConnectionString, "select event_id, action, outcome, identifiers_removed from consent_audit order by id");
        Assert.Equal(["erase-request", "erase", "erased", 3], audit[0]);
        Assert.Equal(["never-seen", "opt_out", "unknown_identifier", 0], audit[1]);

        var profiles = LatestByKey(topics.Names.Profiles).ToDictionary(p => Encoding.UTF8.GetString(p.Key!), p => p.Value);
        Assert.Null(profiles[profileId]);
        // Tombstoned, or never published when it was created and absorbed within one batch: no live record either way.
        Assert.All(absorbed, a => Assert.Null(profiles.GetValueOrDefault(a)));
        var segments = LatestByKey(topics.Names.Segments).ToDictionary(p => Encoding.UTF8.GetString(p.Key!), p => p.Value);
        Assert.Null(segments[profileId]);
    }

    [Fact]
    public async Task OptOutThenOptIn_FlipsPersonalization_AndOptOutTombstonesTheSegment()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles");
        var phone = CanonicalFeed.Id(IdentifierType.Phone, "+15551234567");
        var metrics = host.Get<ProfilesMetrics>();
        using var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical);
        feed.Send(CanonicalFeed.CallEvent("c1", DateTimeOffset.UtcNow.AddDays(-2), phone));
        feed.Send(CanonicalFeed.Consent("out", phone, ConsentAction.OptOut));
        feed.Flush();
        await WaitUntilAsync(() => metrics.Records >= 2);
        var profileId = (string)(await Database.RowsAsync(host.ConnectionString, "select profile_id from profiles"))[0][0]!;
        Assert.False((bool)(await Database.RowsAsync(host.ConnectionString, "select personalization_allowed from profiles"))[0][0]!);
        var segments = LatestByKey(topics.Names.Segments);
        Assert.Contains(segments, s => Encoding.UTF8.GetString(s.Key!) == profileId && s.Value is null);
        var optedOut = JsonDocument.Parse(LatestByKey(topics.Names.Profiles).Single().Value!).RootElement;
        Assert.False(optedOut.GetProperty("personalization_allowed").GetBoolean());

        feed.Send(CanonicalFeed.Consent("in", phone, ConsentAction.OptIn));
        feed.Flush();
        await WaitUntilAsync(() => metrics.Records >= 3);
        var latest = JsonDocument.Parse(LatestByKey(topics.Names.Profiles).Single().Value!).RootElement;
        Assert.True(latest.GetProperty("personalization_allowed").GetBoolean());
        Assert.True(latest.GetProperty("version").GetInt64() > optedOut.GetProperty("version").GetInt64());
    }

    private List<(byte[]? Key, byte[]? Value)> LatestByKey(string topic) =>
        TopicReader.ReadAll(kafka.BootstrapServers, topic)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key ?? []))
            .Select(g => g.OrderBy(r => r.Offset.Value).Last())
            .Select(r => (r.Message.Key, r.Message.Value))
            .ToList();

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
