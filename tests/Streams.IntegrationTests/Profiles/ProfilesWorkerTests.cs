using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Infrastructure.Hosting;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
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
        var forged = ForgedCanonicalRecords();
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            // Each forged record is followed by a clean one of a customer of its own, which must come through.
            for (var i = 0; i < forged.Count; i++)
            {
                feed.SendRaw(forged[i].Key, forged[i].Value, forged[i].Headers);
                feed.Send(CanonicalFeed.StoreEvent($"sentinel-{i}", DateTimeOffset.UtcNow.AddDays(-1), 30, "shoes",
                    CanonicalFeed.Id(IdentifierType.Email, $"sentinel-{i}@example.com")));
            }
        }

        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.Records >= 2 * forged.Count);
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical + ".quarantine"],
            r => r.Count >= forged.Count, Patience);
        Assert.Equal(forged.Count, quarantine.Count);
        Assert.Equal(forged.Count, metrics.Quarantined);
        Assert.Equal(forged.Count, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(forged.Count, await Database.CountAsync(host.ConnectionString, "select count(*) from identifiers"));
        for (var i = 0; i < forged.Count; i++)
        {
            // Forged and sentinel alternate: the i-th forged record is at offset 2i.
            var record = quarantine.Single(r => r.Message.Key is not null
                && Encoding.UTF8.GetString(r.Message.Key) == $"{topics.Names.Canonical}/0/{2 * i}");
            Assert.InRange(record.Message.Value!.Length, 1, InternalQuarantineRecord.MaxBytes);
            var json = JsonDocument.Parse(record.Message.Value).RootElement;
            Assert.Equal("quarantined", json.GetProperty("disposition").GetString());
            Assert.Equal(forged[i].Code, json.GetProperty("reasons")[0].GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Null, json.GetProperty("record").ValueKind);
            var text = Encoding.UTF8.GetString(record.Message.Value);
            Assert.DoesNotContain("secret", text, StringComparison.OrdinalIgnoreCase);
        }

        // The loop never restarted: no session failed, nothing ended.
        Assert.DoesNotContain("session failed", host.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("loop ended", host.Logs.Text, StringComparison.Ordinal);
        Assert.Equal(WorkerLoopState.Running, host.Get<WorkerHeartbeats>().Statuses().Single(s => s.Worker == WorkerSelection.Profiles).State);
    }

    /// <summary>Canonical records ingest never writes, with the code each must be quarantined with. "secret" marks what must
    /// never be copied into a quarantine record.</summary>
    private static List<(byte[]? Key, byte[]? Value, Headers Headers, string Code)> ForgedCanonicalRecords()
    {
        var alice = CanonicalFeed.Id(IdentifierType.Email, "alice@example.com");
        var clean = Encoding.UTF8.GetString(CanonicalJson.Serialize(CanonicalFeed.StoreEvent("forged-1", DateTimeOffset.UtcNow.AddDays(-1), 30, "shoes", alice)));
        var consent = Encoding.UTF8.GetString(CanonicalJson.Serialize(CanonicalFeed.Consent("forged-2", alice, ConsentAction.Erase)));
        var key = Encoding.UTF8.GetBytes("secret-key@example.com");
        var list = new List<(byte[]?, byte[]?, Headers, string)>();
        void Add(string value, string code, string? kind = OutputHeaders.KindEvent, byte[]? withKey = null) =>
            list.Add((withKey ?? key, Encoding.UTF8.GetBytes(value), Kind(kind), code));
        string With(string from, string to) => clean.Replace(from, to, StringComparison.Ordinal);
        const string Sv = "schema_violation", Mj = "malformed_json", Or = "out_of_range";

        Add("secret plain text", Mj);
        list.Add((key, [.. Encoding.UTF8.GetBytes(clean[..30]), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes(clean[30..])], Kind(OutputHeaders.KindEvent), Mj));
        Add(With("\"forged-1\"", "\"\\ud800\""), Sv);
        Add(With("\"S-1\"", "\"\\ud800secret\""), Sv);
        Add(With("\"total\":30", "\"total\":1e400"), Or);
        Add(With("\"item_count\":2", "\"item_count\":99999999999999999999"), Or);
        Add(With("\"total\":30", "\"total\":-30"), Or);
        Add(With("\"total\":30", "\"total\":NaN"), Mj);
        Add(With("\"flags\":[]", "\"flags\":[],\"x\":" + new string('[', 100) + new string(']', 100)), Mj);
        Add(With("\"forged-1\"", "null"), Sv);
        Add(With("\"identifiers\":[", "\"identifiers\":null,\"y\":["), Sv);
        Add(With("\"identifiers\":[", "\"identifiers\":[" + string.Concat(Enumerable.Range(0, 10_000).Select(i => $"{{\"type\":\"device\",\"pseudonym\":\"k1:d{i}\"}},"))), Sv);
        Add(With("\"type\":\"email\"", "\"type\":99"), Sv);
        Add(With(alice.Pseudonym, "secret jane doe@example.com"), Sv);
        Add(With("\"channel\":\"store\"", "\"channel\":\"consent\""), Sv);
        Add(With("\"channel\":\"store\"", "\"channel\":\"social\""), Sv);
        Add(With("\"topic\":\"store\"", "\"topic\":\"../secret\""), Sv);
        Add(With("\"shoes\"", "\"secret" + new string('é', 300_000) + "\""), Sv);
        Add(clean, Sv, kind: null);
        Add(clean, Sv, kind: "quarantine");
        list.Add((key, Encoding.UTF8.GetBytes(clean), new Headers { { OutputHeaders.Source, "x/0/1"u8.ToArray() }, { OutputHeaders.Kind, [.. Enumerable.Repeat((byte)0xFF, 100_000)] } }, Sv));
        Add("", Sv, kind: OutputHeaders.KindConsent);
        list.Add((key, null, Kind(OutputHeaders.KindEvent), Sv));
        Add("secret", Mj, withKey: Encoding.UTF8.GetBytes("secret" + new string('k', 500_000)));
        list.Add((null, Encoding.UTF8.GetBytes("{}"), Kind(OutputHeaders.KindEvent), Sv));
        Add(consent.Replace("\"erase\"", "9", StringComparison.Ordinal), Sv, OutputHeaders.KindConsent);
        Add(consent.Replace(alice.Pseudonym, "k1:secret spaced", StringComparison.Ordinal), Sv, OutputHeaders.KindConsent);
        Add(clean, Sv, OutputHeaders.KindConsent);
        Add(consent.Replace("\"forged-2\"", "\"forged\\u00002\"", StringComparison.Ordinal), Sv, OutputHeaders.KindConsent);
        return list;

        static Headers Kind(string? kind) => kind is null ? [] : OutputHeaders.For(new Streams.Contracts.SourcePosition("input", 0, 1), kind);
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
