using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Telemetry;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Host;

/// <summary>The real host's figures, scraped by Prometheus on the health port and exported over OTLP to a local collector.</summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class TelemetryTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    // Instrument → its Prometheus name: the figures compared between the scrape and the OTLP export.
    private static readonly (string Otlp, string Prometheus)[] Compared =
    [
        ("streams.ingest.records", "streams_ingest_records_total"),
        ("streams.ingest.reasons", "streams_ingest_reasons_total"),
        ("streams.profiles.records", "streams_profiles_records_total"),
        ("streams.segmentation.profiles", "streams_segmentation_profiles_total"),
        ("streams.runtime.consumer.lag", "streams_runtime_consumer_lag"),
        ("streams.runtime.outbox.depth", "streams_runtime_outbox_depth"),
    ];

    [Fact]
    public async Task RunningHost_ScrapeShowsEachWorkersLagRatesAndQuarantine_AndTheOtlpExportCarriesTheSameFigures()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        using var collector = new OtlpCollector(InProcessHost.FreePort());
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, InProcessHost.FreeHealthPort(),
            "--Telemetry:SampleInterval=00:00:00.200", $"--OTEL_EXPORTER_OTLP_ENDPOINT={collector.Endpoint}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_METRIC_EXPORT_INTERVAL=300", "--OTEL_BSP_SCHEDULE_DELAY=200");
        var clickstream = topics.Names.Clickstream;
        // One record comes from a channel that traces: its producer span is the start of the chain of links below.
        var channelSpan = (Trace: ActivityTraceId.CreateRandom().ToHexString(), Span: ActivitySpanId.CreateRandom().ToHexString());
        using (var feed = new InputFeed(kafka.BootstrapServers))
        {
            feed.Send([
                .. Enumerable.Range(0, 11).Select(i => (clickstream, SampleEvents.Clickstream($"ev-{i}", $"anon-{i % 4}", email: $"p{i % 4}@example.com"))),
                .. Enumerable.Range(0, 3).Select(_ => (clickstream, "{not json")),
            ]);
            feed.Send([(clickstream, SampleEvents.Clickstream("ev-11", "anon-3", email: "p3@example.com"))],
                new Headers { { RecordTracing.TraceParentHeader, Encoding.ASCII.GetBytes($"00-{channelSpan.Trace}-{channelSpan.Span}-01") } });
        }

        using var http = new HttpClient { BaseAddress = host.HealthAddress, Timeout = TimeSpan.FromSeconds(30) };
        var partitions = topics.Names.Partitions;
        var groups = topics.Catalog.Inputs.Count + 3; // ingest's inputs, profiles, segmentation, activation
        var scrape = await WaitForAsync(async () =>
        {
            var figures = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
            var lag = figures.Where(f => f.Name == "streams_runtime_consumer_lag").ToList();
            var done = Value(figures, "streams_ingest_records_total", ("outcome", "accepted"), ("topic", clickstream)) == 12
                       && Value(figures, "streams_ingest_records_total", ("outcome", "quarantined"), ("topic", clickstream)) == 3
                       && Value(figures, "streams_profiles_records_total") == 12
                       && Value(figures, "streams_segmentation_profiles_total") > 0
                       && lag.Count == groups * partitions && lag.All(l => l.Value == 0)
                       && Value(figures, "streams_runtime_outbox_depth", ("table", "profile_outbox")) == 0
                       && Value(figures, "streams_runtime_outbox_depth", ("table", "segment_outbox")) == 0;
            return (done, figures);
        }, "the scrape to show every record handled and no lag", figures => string.Join("; ", Series(figures
            .Where(f => f.Name.StartsWith("streams_", StringComparison.Ordinal) && !f.Name.Contains("_bucket", StringComparison.Ordinal))
            .Select(f => (f.Name, f.Labels, f.Value)))));

        Assert.Equal(3, Value(scrape, "streams_ingest_reasons_total", ("reason", "malformed_json"), ("topic", clickstream)));
        foreach (var worker in new[] { WorkerSelection.Ingest, WorkerSelection.Profiles, WorkerSelection.Segmentation })
        {
            Assert.Equal(partitions * (worker == WorkerSelection.Ingest ? topics.Catalog.Inputs.Count : 1),
                scrape.Count(f => f.Name == "streams_runtime_consumer_lag" && f.Labels["worker"] == worker));
        }

        Assert.Contains(scrape, f => f.Name == "streams_runtime_batch_size_count" && f.Labels["worker"] == WorkerSelection.Ingest && f.Value > 0);
        Assert.Contains(scrape, f => f.Name == "db_client_operation_duration_seconds_count" && f.Value > 0);

        // The OTLP export, a few intervals on, carries the same figures (nothing moves any more).
        var expected = Series(scrape.Where(f => Compared.Any(c => c.Prometheus == f.Name)).Select(f => (f.Name, f.Labels, f.Value)));
        await WaitForAsync(() =>
        {
            var exported = Series(collector.LastMetrics.Where(p => Compared.Any(c => c.Otlp == p.Name))
                .Select(p => (Compared.Single(c => c.Otlp == p.Name).Prometheus, p.Attributes, p.Value)));
            return Task.FromResult((exported.SequenceEqual(expected), exported));
        }, "the OTLP export to carry the scraped figures: " + string.Join("; ", expected), exported => string.Join("; ", exported));
        // The record's hops are one chain of links: the channel's span ← ingest's batch span ← profiles' ← segmentation's,
        // each found through the traceparent header the stage before wrote on its output (the outboxes keep it until they publish).
        var hops = await WaitForAsync(() =>
        {
            var spans = collector.Spans;
            var chain = new List<OtlpSpan>();
            var linked = (channelSpan.Trace, channelSpan.Span);
            foreach (var worker in new[] { "Ingest", "Profiles", "Segmentation" })
            {
                if (spans.FirstOrDefault(s => s.Name == $"{worker} process" && s.Links.Contains(linked)) is not { } hop)
                {
                    break;
                }

                chain.Add(hop);
                linked = (hop.TraceId, hop.SpanId);
            }

            return Task.FromResult((chain.Count == 3, chain));
        }, "spans linking the traced record's hops", chain => string.Join(" <- ", chain.Select(s => s.Name)));
        // Npgsql's spans went the same way, inside each batch span (the logs: see the child-process test).
        Assert.All(hops, hop => Assert.Contains(collector.Spans, s => s.TraceId == hop.TraceId && s.SpanId != hop.SpanId));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync(new Uri("/metrics", UriKind.Relative), null)).StatusCode);
    }

    [Fact]
    public async Task HostProcess_WithTheJsonConsoleFormatter_LogsOneJsonObjectPerLine_AndExportsItsLogsOverOtlpFromTheEnvironment()
    {
        var topics = await TestTopics.CreateAsync(kafka);
        var connectionString = await postgres.CreateDatabaseAsync();
        using var collector = new OtlpCollector(InProcessHost.FreePort());
        using var stateFolder = new TemporaryFolder("streams-json-");
        await using var host = HostProcess.Start(
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            },
            [
                .. InProcessHost.Arguments(kafka, topics, connectionString, stateFolder.Path),
                "--Logging:Console:FormatterName=json", "--Console:Live=false", "--Console:Report=false",
            ]);

        var started = await WaitForAsync(() =>
        {
            Assert.False(host.HasExited, $"the host exited with {(host.HasExited ? host.ExitCode : 0)}: {host.Errors}{host.Output}");
            var logs = host.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            return Task.FromResult((logs.Any(l => l.GetProperty("Message").GetString() == "Application started. Press Ctrl+C to shut down."), logs));
        }, "the host to log that it started, as JSON", _ => host.Output);

        Assert.All(started, log =>
        {
            Assert.False(string.IsNullOrEmpty(log.GetProperty("Category").GetString()));
            Assert.False(string.IsNullOrEmpty(log.GetProperty("LogLevel").GetString()));
            // A full UTC timestamp for a log shipper, not the terminal's short time.
            Assert.Equal(TimeSpan.Zero, DateTimeOffset.Parse(log.GetProperty("Timestamp").GetString()!, CultureInfo.InvariantCulture).Offset);
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T", log.GetProperty("Timestamp").GetString());
        });
        host.Interrupt();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(collector.Exports("/v1/logs") > 0, "no log export");
    }

    private static List<string> Series(IEnumerable<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> points) =>
        [.. points.Select(p => $"{p.Name}{{{string.Join(",", p.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}}} {p.Value.ToString(CultureInfo.InvariantCulture)}")
            .Order(StringComparer.Ordinal)];

    private static double? Value(List<Figure> figures, string name, params (string Key, string Value)[] labels) =>
        figures.FirstOrDefault(f => f.Name == name && labels.All(l => f.Labels.GetValueOrDefault(l.Key) == l.Value))?.Value;

    private static List<Figure> Parse(string text) =>
        [.. text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(line =>
        {
            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not a Prometheus sample line: {line}");
            var labels = LabelPair().Matches(sample.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => Regex.Unescape(m.Groups[2].Value), StringComparer.Ordinal);
            return new Figure(sample.Groups["name"].Value, labels, double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture));
        })];

    private static async Task<T> WaitForAsync<T>(Func<Task<(bool Done, T Value)>> probe, string what, Func<T, string> describe)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (done, value) = await probe();
            if (done)
            {
                return value;
            }

            Assert.True(clock.Elapsed < Patience, $"waited {Patience} for {what}; last: {describe(value)}");
            await Task.Delay(250);
        }
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)""")]
    private static partial Regex LabelPair();

    private sealed record Figure(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
}
