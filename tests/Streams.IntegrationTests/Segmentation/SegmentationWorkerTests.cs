using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;
using Streams.Segmentation.Worker;

namespace Streams.IntegrationTests.Segmentation;

/// <summary>The segmentation worker in the real host (segmentation only), fed profiles as the profiles worker writes them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SegmentationWorkerTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static readonly string[] Options =
    [
        "--Streams:Workers=segmentation", "--Segmentation:K=3", "--Segmentation:SeedSize=200", "--Segmentation:MiniBatchSize=100",
        "--Segmentation:MinSegmentSize=20", "--Segmentation:MaxBatchWait=00:00:00.300", "--Segmentation:MinEvents=0",
    ];

    [Fact]
    public async Task Profiles_GetSegmentsWithExplanations_TheCatalogDescribesThem_AndOptOutIsHonoured()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var profiles = Produce(topics.Names.Profiles, groups: 3, perGroup: 150, optedOut: 5);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, Options);
        var metrics = host.Get<SegmentationMetrics>();
        await WaitUntilAsync(() => metrics.Profiles >= profiles);
        // Every profile record again, unchanged: no new segment records for them.
        var before = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Segments).Count;
        Produce(topics.Names.Profiles, groups: 3, perGroup: 150, optedOut: 5);
        await WaitUntilAsync(() => metrics.Profiles >= 2 * profiles);

        var segments = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Segments);
        var latest = segments.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        Assert.Equal(450, latest.Count(l => l.Value is not null));
        Assert.All(Enumerable.Range(0, 5), i => Assert.False(latest.TryGetValue($"opted-out-{i}", out var v) && v is not null));
        var sample = JsonDocument.Parse(latest["g1-p7"]!).RootElement;
        Assert.Equal("g1-p7", sample.GetProperty("profile_id").GetString());
        Assert.InRange(sample.GetProperty("explanation").GetArrayLength(), 1, 3);
        Assert.False(string.IsNullOrWhiteSpace(sample.GetProperty("summary").GetString()));
        Assert.True(sample.GetProperty("model_version").GetInt64() >= 1);
        Assert.True(segments.Count - before < 50, $"{segments.Count - before} segment records for unchanged profiles");

        // Each planted group is one segment.
        var byGroup = latest.Where(l => l.Value is not null && l.Key.StartsWith('g'))
            .GroupBy(l => l.Key.Split('-')[0])
            .Select(g => g.Select(l => JsonDocument.Parse(l.Value!).RootElement.GetProperty("segment_id").GetInt32()).Distinct().Count());
        Assert.All(byGroup, distinct => Assert.Equal(1, distinct));

        var catalog = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.SegmentCatalog)
            .Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).ToList();
        Assert.Equal(3, catalog.Select(c => c.GetProperty("segment_id").GetInt32()).Distinct().Count());
        Assert.All(catalog, c =>
        {
            Assert.True(c.GetProperty("size").GetInt64() >= 20);
            Assert.True(c.GetProperty("centroid").EnumerateObject().Any());
            Assert.True(c.GetProperty("top_features").GetArrayLength() >= 1);
            Assert.False(string.IsNullOrWhiteSpace(c.GetProperty("description").GetString()));
        });
    }

    [Fact]
    public async Task ProfileWhoseAssignmentTheStoreRefuses_IsQuarantinedAlone_AndEveryOtherProfileIsSegmented()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, Options);
        // PostgreSQL refuses one profile's row with a data exception, as it would a value out of a column's range.
        await Database.RefuseRowsAsync(host.ConnectionString, "segment_assignments", "profile_id", "g1-p7");
        var profiles = Produce(topics.Names.Profiles, groups: 3, perGroup: 150, optedOut: 0);
        var metrics = host.Get<SegmentationMetrics>();
        await WaitUntilAsync(() => metrics.Profiles >= profiles);

        var stored = (await Database.RowsAsync(host.ConnectionString, "select profile_id from segment_assignments")).Select(r => (string)r[0]!).ToList();
        Assert.Equal(profiles - 1, stored.Count);
        Assert.DoesNotContain("g1-p7", stored);
        var poison = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles).Single(r => Encoding.UTF8.GetString(r.Message.Key!) == "g1-p7");
        var quarantined = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, Streams.Contracts.Topics.TopicsOptions.QuarantineOf(topics.Names.Profiles)));
        Assert.Equal($"{poison.Topic}/{poison.Partition.Value}/{poison.Offset.Value}", Encoding.UTF8.GetString(quarantined.Message.Key!));
        var record = JsonDocument.Parse(quarantined.Message.Value!).RootElement;
        var reason = Assert.Single(record.GetProperty("reasons").EnumerateArray());
        Assert.Equal("store_rejected", reason.GetProperty("code").GetString());
        Assert.Contains("SQLSTATE 22003", reason.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Isolated 1 records the store refused", host.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seeding_ReassignsTheProfilesBeforeItInBoundedChunks_AndEveryoneEndsOnTheNewModel()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var profiles = Produce(topics.Names.Profiles, groups: 3, perGroup: 150, optedOut: 0);
        // The model is seeded at the fifth mini-batch of 100: the 400 profiles stored before it are re-assigned 100 at a time.
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            [.. Options, "--Segmentation:SeedSize=420", "--Segmentation:ReassignChunkSize=100", "--Segmentation:MaxBatchWait=00:00:05"]);
        var metrics = host.Get<SegmentationMetrics>();
        await WaitUntilAsync(() => metrics.Profiles >= profiles && host.Logs.Text.Contains("Segmentation re-assigned", StringComparison.Ordinal));

        var reassigned = host.Logs.Lines.Where(l => l.Contains("Segmentation re-assigned", StringComparison.Ordinal)).ToList();
        Assert.True(reassigned.Count == 1 && reassigned[0].Contains("re-assigned 400 profiles in 4 chunks", StringComparison.Ordinal),
            string.Join('\n', reassigned));
        Assert.Equal(profiles, await Database.CountAsync(host.ConnectionString,
            "select count(*) from segment_assignments where model_version = (select max(model_version) from segment_assignments)"));
        var latest = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Segments)
            .GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        Assert.Equal(profiles, latest.Count(l => l.Value is not null));
        Assert.Equal(profiles, await Database.CountAsync(host.ConnectionString, "select count(*) from segment_assignments where published"));
    }

    [Fact]
    public async Task BadProfileRecords_AreQuarantined_AndTheWorkerGoesOn()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var forged = ForgedProfileRecords();
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            // Each forged record is followed by a clean profile of its own, which must come through.
            for (var i = 0; i < forged.Count; i++)
            {
                producer.Produce(topics.Names.Profiles, new Message<byte[]?, byte[]?> { Key = forged[i].Key, Value = forged[i].Value });
                var id = $"sentinel-{i}";
                producer.Produce(topics.Names.Profiles, new Message<byte[]?, byte[]?>
                {
                    Key = Encoding.UTF8.GetBytes(id),
                    Value = Encoding.UTF8.GetBytes(ProfileJson(id, "{\"event_count\":3,\"store_spend\":12.5}")),
                });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, Options);
        var metrics = host.Get<SegmentationMetrics>();
        await WaitUntilAsync(() => metrics.Profiles >= 2 * forged.Count);

        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Profiles + ".quarantine"],
            r => r.Count >= forged.Count, Patience);
        Assert.Equal(forged.Count, quarantine.Count);
        Assert.Equal(forged.Count, metrics.Quarantined);
        var rows = (await Database.RowsAsync(host.ConnectionString, "select profile_id from segment_assignments")).Select(r => (string)r[0]!).ToList();
        Assert.Equal(Enumerable.Range(0, forged.Count).Select(i => $"sentinel-{i}").Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
        for (var i = 0; i < forged.Count; i++)
        {
            var record = quarantine.Single(r => Encoding.UTF8.GetString(r.Message.Key!) == $"{topics.Names.Profiles}/0/{2 * i}");
            Assert.InRange(record.Message.Value!.Length, 1, Streams.Contracts.Quarantine.InternalQuarantineRecord.MaxBytes);
            var json = JsonDocument.Parse(record.Message.Value).RootElement;
            Assert.Equal(forged[i].Code, json.GetProperty("reasons")[0].GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Null, json.GetProperty("record").ValueKind);
            Assert.DoesNotContain("secret", Encoding.UTF8.GetString(record.Message.Value), StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain("session failed", host.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("loop ended", host.Logs.Text, StringComparison.Ordinal);
        Assert.Equal(WorkerLoopState.Running,
            host.Get<WorkerHeartbeats>().Statuses().Single(s => s.Worker == WorkerSelection.Segmentation).State);
    }

    /// <summary>Profile records the profiles worker never writes, with the code each must be quarantined with. "secret" marks
    /// what must never be copied into a quarantine record.</summary>
    private static List<(byte[]? Key, byte[]? Value, string Code)> ForgedProfileRecords()
    {
        var list = new List<(byte[]?, byte[]?, string)>();
        var key = "secret-1"u8.ToArray();
        void Add(string? value, string code, byte[]? withKey = null) => list.Add((withKey ?? key, value is null ? null : Encoding.UTF8.GetBytes(value), code));
        var clean = ProfileJson("secret-1", "{\"event_count\":3}");
        string With(string from, string to) => clean.Replace(from, to, StringComparison.Ordinal);
        const string Sv = "schema_violation", Mj = "malformed_json", Or = "out_of_range";

        Add(With("\"secret-1\"", "null"), Sv);
        Add(With("3}", "1e400}"), Or);
        Add(With("3}", "-1e400}"), Or);
        Add(With("3}", "1e308}"), Or);
        Add(With("3}", "\"NaN\"}"), Sv);
        Add(With("3}", "NaN}"), Mj);
        Add(null, Sv, withKey: []);
        list.Add((null, null, Sv));
        list.Add((null, Encoding.UTF8.GetBytes(clean), Sv));
        Add(clean, Sv, withKey: Encoding.UTF8.GetBytes("secret" + new string('k', 500_000)));
        Add(clean, Sv, withKey: [0x73, 0xFF, 0xFE]);
        Add("secret plain text", Mj);
        list.Add((key, [.. Encoding.UTF8.GetBytes(clean[..20]), 0xFF, .. Encoding.UTF8.GetBytes(clean[20..])], Mj));
        Add("", Mj);
        Add(With("\"secret-1\"", "\"\\ud800\""), Sv);
        Add(With("\"secret-1\"", "\"secret-2\""), Sv);
        Add(With("{\"event_count\":3}", "[3]"), Sv);
        Add(With("\"personalization_allowed\":true", "\"personalization_allowed\":\"secret\""), Sv);
        Add(With("{\"event_count\":3}", "{" + string.Join(",", Enumerable.Range(0, 50_000).Select(i => $"\"f{i}\":1")) + "}"), Sv);
        Add(With("\"version\":1", "\"version\":" + new string('[', 100) + new string(']', 100)), Mj);
        Add(With("\"identifiers\"", "\"profile_id\":\"secret-2\",\"identifiers\""), Mj);
        Add(With("\"event_count\"", "\"\\udc00\""), Sv);
        return list;
    }

    private static string ProfileJson(string id, string features) =>
        $$"""{"profile_id":"{{id}}","identifiers":[],"first_seen":"2026-06-01T00:00:00.000Z","last_seen":"2026-06-20T00:00:00.000Z","event_counts":{},"features":{{features}},"personalization_allowed":true,"version":1,"updated_at":"2026-06-20T00:00:00.000Z"}""";

    [Fact]
    public async Task RestartedMidStream_EndsWithTheSameModelAsAnUninterruptedRun()
    {
        var reference = await TestTopics.CreateAsync(kafka, partitions: 1);
        var restarted = await TestTopics.CreateAsync(kafka, partitions: 1);
        var count = Produce(reference.Names.Profiles, groups: 3, perGroup: 200, optedOut: 0);
        // Mini-batch k-means depends on where batches are cut. Every record is on the topic before either run starts,
        // so with a generous wait each batch is full until the last one, in both runs, however slow the machine: a
        // short wait cut batches early under load (seen at a load average of 20) and the models differed.
        string[] options = [.. Options, "--Segmentation:MaxBatchWait=00:00:05"];
        string referenceDb;
        await using (var host = await InProcessHost.StartAsync(kafka, postgres, reference, options))
        {
            var metrics = host.Get<SegmentationMetrics>();
            await WaitUntilAsync(() => metrics.Profiles >= count);
            referenceDb = host.ConnectionString;
        }

        var db = await postgres.CreateDatabaseAsync();
        using var stateFolder = new TemporaryFolder("streams-seg-");
        var state = stateFolder.Path;
        string[] arguments = [.. InProcessHost.Arguments(kafka, restarted, db, state), .. options,
            $"--Topics:Profiles={reference.Names.Profiles}", "--Segmentation:GroupId=restarted"];
        foreach (var crash in new[] { "segmentation.after-commit@3", "segmentation.before-commit@2" })
        {
            await using var host = HostProcess.Start(new Dictionary<string, string> { [CrashPoints.Variable] = crash }, arguments);
            await host.WaitForExitAsync(Patience);
            Assert.Contains($"crash point {crash} reached", host.Errors, StringComparison.Ordinal);
        }

        await using (var last = HostProcess.Start(arguments: arguments))
        {
            await WaitUntilAsync(() => Offset(db) >= count);
            last.Interrupt();
            Assert.Equal(0, await last.WaitForExitAsync(Patience));
        }

        Assert.Equal(await Model(referenceDb), await Model(db));
        Assert.Equal(await Database.DumpAsync(referenceDb, "segment_assignments", "t.profile_id, t.segment_id, t.model_version, t.published"),
            await Database.DumpAsync(db, "segment_assignments", "t.profile_id, t.segment_id, t.model_version, t.published"));
    }

    // Planted groups: distinct spending, channel and call behaviour, with per-profile noise.
    private int Produce(string topic, int groups, int perGroup, int optedOut)
    {
        var random = new Random(99);
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        var n = 0;
        for (var i = 0; i < perGroup; i++)
        {
            for (var g = 0; g < groups; g++)
            {
                Send($"g{g}-p{i}", g, allowed: true);
            }
        }

        for (var i = 0; i < optedOut; i++)
        {
            Send($"opted-out-{i}", 0, allowed: false);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        return n;

        void Send(string id, int group, bool allowed)
        {
            double Noise(double scale) => 1 + (random.NextDouble() - 0.5) * scale;
            var features = group switch
            {
                0 => new JsonObject { ["store_spend"] = 900 * Noise(0.3), ["purchase_count"] = 20 * Noise(0.3), ["event_count"] = 30 * Noise(0.3), ["online_share"] = 0.05 },
                1 => new JsonObject { ["online_spend"] = 400 * Noise(0.3), ["avg_dwell_s"] = 40 * Noise(0.3), ["event_count"] = 80 * Noise(0.3), ["online_share"] = 0.95 },
                _ => new JsonObject { ["call_count"] = 12 * Noise(0.3), ["complaint_share"] = 0.8, ["avg_call_sentiment"] = -0.6, ["event_count"] = 15 * Noise(0.3) },
            };
            var profile = new JsonObject
            {
                ["profile_id"] = id, ["identifiers"] = new JsonArray(), ["first_seen"] = "2026-06-01T00:00:00.000Z",
                ["last_seen"] = "2026-06-20T00:00:00.000Z", ["event_counts"] = new JsonObject(), ["features"] = features,
                ["personalization_allowed"] = allowed, ["version"] = 1, ["updated_at"] = "2026-06-20T00:00:00.000Z",
            };
            producer.Produce(topic, new Message<string, string> { Key = id, Value = profile.ToJsonString() });
            n++;
        }
    }

    private static long Offset(string connectionString)
    {
        try
        {
            return Database.CountAsync(connectionString, "select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = 'segmentation'").Result;
        }
        catch (AggregateException)
        {
            return 0;
        }
    }

    private static async Task<string> Model(string connectionString)
    {
        var json = JsonNode.Parse((string)(await Database.RowsAsync(connectionString, "select checkpoint::text from segmentation_model"))[0][0]!)!;
        return json["model"]!.ToJsonString();
    }

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
