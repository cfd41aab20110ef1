using System.Diagnostics;
using System.Text.Json;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Figures;
using Streams.Quality.Worker;

namespace Streams.IntegrationTests.Quality;

/// <summary>The data-quality worker in the real host, on the run's broker, fed what ingest writes.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class QualityWorkerTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Figures_PerTopicReasonAndMinute_EqualWhatIngestWrote_InStoreAndOnTopic()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        var applicationId = KafkaFixture.Unique("quality");
        CreateInternalTopics(topics, applicationId);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, QualityArguments(applicationId, InProcessHost.FreeHealthPort()));
        var port = host.HealthAddress.Port;
        var start = Minute(DateTimeOffset.UtcNow) - TimeSpan.FromMinutes(3);
        using var feed = new QualityFeed(kafka.BootstrapServers, topics.Catalog);
        var random = new Random(15);
        string[] codes = ["invalid_email", "unknown_currency", "schema_violation", "total_mismatch"];
        for (var i = 0; i < 240; i++)
        {
            var topic = i % 3 == 0 ? topics.Names.Store : topics.Names.Clickstream;
            var at = start + TimeSpan.FromSeconds(i * 0.75);
            switch (random.Next(4))
            {
                case 0: feed.Quarantined(topic, at, codes[random.Next(codes.Length)]); break;
                case 1: feed.Flagged(topic, at, codes[random.Next(codes.Length)], codes[random.Next(codes.Length)]); break;
                default: feed.Accepted(topic, at); break;
            }
        }

        feed.Flush();
        var worker = host.Get<QualityWorker>();
        foreach (var ((topic, minute), expected) in feed.Expected)
        {
            var found = await EventuallyAsync(() => worker.Query(topic, minute, minute).SingleOrDefault(),
                m => m is not null && m.Inputs == expected.Inputs && m.Quarantined == expected.Quarantined && m.Flagged == expected.Flagged);
            Assert.Equal(expected.Reasons.OrderBy(r => r.Key), found!.Reasons.OrderBy(r => r.Key));
            Assert.Equal((double)expected.Quarantined / expected.Inputs, found.QuarantinedShare);
        }

        // The compacted topic: the last record per key is the window's count.
        var published = await EventuallyAsync(() => LastPerKey(topics.Names.DataQuality), p => p.Count == feed.Expected.Count
            && feed.Expected.All(e => p.TryGetValue(QualityMinute.KeyOf(e.Key.Topic, e.Key.Minute), out var m) && m.Inputs == e.Value.Inputs
                && m.Quarantined == e.Value.Quarantined && m.Flagged == e.Value.Flagged));
        Assert.All(published.Values, m => Assert.Equal(TimeSpan.FromMinutes(1), m.WindowEnd - m.WindowStart));

        // The same store asked by the host command, over the running host's health port.
        var (exit, table, errors) = await HostCommand.RunAsync("quality", "--topic", topics.Names.Store, "--minutes", "10", $"--Health:Port={port}");
        Assert.True(exit == 0, errors);
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        var storeMinutes = feed.Expected.Where(e => e.Key.Topic == topics.Names.Store).OrderBy(e => e.Key.Minute).ToList();
        Assert.Equal(storeMinutes.Count, rows.Count);
        Assert.All(storeMinutes.Zip(rows), pair => Assert.StartsWith(
            $"{pair.First.Key.Minute.UtcDateTime:yyyy-MM-dd HH:mm} {pair.First.Value.Inputs,9} {pair.First.Value.Quarantined,12}", pair.Second, StringComparison.Ordinal));
        var (badExit, _, badErrors) = await HostCommand.RunAsync("quality", "--topic", topics.Names.Profiles, $"--Health:Port={port}");
        Assert.Equal((2, true), (badExit, badErrors.Contains("topic must be one of", StringComparison.Ordinal)));
    }

    internal static string[] QualityArguments(string applicationId, params string[] more) =>
    [
        "--only", "quality", $"--Quality:ApplicationId={applicationId}", "--Quality:CommitInterval=00:00:00.200", .. more,
    ];

    /// <summary>On the embedded broker (no admin API) the test creates Streamiz's internal topics; a real Kafka lets Streamiz do it.</summary>
    internal void CreateInternalTopics(TestTopics topics, string applicationId)
    {
        foreach (var topic in QualityTopology.InternalTopics(applicationId))
        {
            kafka.Embedded?.CreateTopic(topic, topics.Names.Partitions);
        }
    }

    internal static DateTimeOffset Minute(DateTimeOffset at) => new(at.Year, at.Month, at.Day, at.Hour, at.Minute, 0, TimeSpan.Zero);

    internal Dictionary<string, QualityMinute> LastPerKey(string topic)
    {
        var last = new Dictionary<string, QualityMinute>(StringComparer.Ordinal);
        foreach (var record in TopicReader.ReadAll(kafka.BootstrapServers, topic))
        {
            using var json = JsonDocument.Parse(record.Message.Value!);
            var root = json.RootElement;
            last[System.Text.Encoding.UTF8.GetString(record.Message.Key!)] = new QualityMinute(
                root.GetProperty("topic").GetString()!, root.GetProperty("window_start").GetDateTimeOffset(),
                root.GetProperty("window_end").GetDateTimeOffset(), root.GetProperty("inputs").GetInt64(),
                root.GetProperty("quarantined").GetInt64(), root.GetProperty("flagged").GetInt64(), null, null,
                root.GetProperty("reasons").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64()));
        }

        return last;
    }

    internal static Task<T> EventuallyAsync<T>(Func<T> read, Func<T, bool> done) => Eventually.UntilAsync(read, done, Patience);
}
