using System.Diagnostics;
using System.Xml.Linq;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using Spectre.Console;
using Spectre.Console.Testing;
using Streams.Dashboard;
using Streams.Dashboard.Hosting;
using Streams.Dashboard.Report;
using Streams.Host;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Streams.Segmentation.Worker;

namespace Streams.IntegrationTests.Dashboard;

/// <summary>
/// The real host with the live view on a test console: the pipeline runs on the embedded broker and PostgreSQL, the
/// screen shows its figures, and stopping the host writes the report with segment charts, without personal data.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class DashboardHostTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task LiveHost_ShowsThePipelineOnTheConsole_LogsToTheFile_AndWritesTheReportOnShutdown()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var connectionString = await postgres.CreateDatabaseAsync();
        var stateDirectory = Path.Combine(Path.GetTempPath(), "streams-dashboard-" + Guid.NewGuid().ToString("N")[..10]);
        var personal = Produce(topics);
        var console = new TestConsole().Width(200);
        var builder = StreamsHost.CreateBuilder([
            .. InProcessHost.Arguments(kafka, topics, connectionString, stateDirectory),
            "--Console:Live=true", "--Console:RefreshInterval=00:00:00.200", "--Console:SegmentsInterval=00:00:00.200",
            // One or two events per customer: Segmentation:MinEvents=0 lets them be segmented (the default asks for 10).
            "--Segmentation:K=2", "--Segmentation:SeedSize=10", "--Segmentation:MiniBatchSize=10", "--Segmentation:MinSegmentSize=3",
            "--Segmentation:MinEvents=0",
            "--Segmentation:MaxBatchWait=00:00:00.200", "--Profiles:MaxBatchWait=00:00:00.050",
        ]);
        builder.Services.AddSingleton<IAnsiConsole>(console);
        var host = builder.Build();
        try
        {
            Assert.DoesNotContain(host.Services.GetServices<ILoggerProvider>(), p => p is ConsoleLoggerProvider);
            Assert.Contains(host.Services.GetServices<ILoggerProvider>(), p => p is FileLoggerProvider);
            await host.StartAsync();
            var ingest = host.Services.GetRequiredService<IngestMetrics>();
            var segmentation = host.Services.GetRequiredService<SegmentationMetrics>();
            await WaitUntilAsync(() => ingest.Snapshot().Where(kv => !kv.Key.Name.StartsWith("reason:", StringComparison.Ordinal)).Sum(kv => kv.Value) >= Total
                && segmentation.ModelVersion >= 1 && segmentation.Profiles >= Customers);
        }
        finally
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StopAsync(timeout.Token);
            host.Dispose();
        }

        try
        {
            // What a person saw last: every figure at the moment of stopping.
            var screen = console.Output;
            Assert.Matches($@"{topics.Names.Store}\s+\S+\s+{StoreRecords}\s+{Customers / 2}\s+0\s+{Malformed}\s", screen);
            Assert.Matches($@"{topics.Names.Clickstream}\s+\S+\s+{Customers / 2}\s+{Customers / 2 - InvalidEmails}\s+{InvalidEmails}\s+0\s", screen);
            Assert.Matches($@"malformed_json\s+quarantined\s+{Malformed}\s+{topics.Names.Store} {Malformed}", screen);
            Assert.Matches($@"invalid_email\s+flagged \(quarantined if only identifier\)\s+{InvalidEmails}\s", screen);
            Assert.Contains($"log lines go to {Path.Combine(stateDirectory, DashboardExtensions.LogFileName)}", screen, StringComparison.Ordinal);
            Assert.Contains("lag (records behind): streams-ingest ", screen, StringComparison.Ordinal);
            Assert.Contains("Segments (model version ", screen, StringComparison.Ordinal);

            // Log lines went to the file, not to the view.
            var log = await File.ReadAllTextAsync(Path.Combine(stateDirectory, DashboardExtensions.LogFileName));
            Assert.Contains("Application started", log, StringComparison.Ordinal);
            Assert.DoesNotContain("Application started", screen, StringComparison.Ordinal);

            var reportDirectory = Path.Combine(stateDirectory, "report");
            var report = await File.ReadAllTextAsync(Path.Combine(reportDirectory, ReportWriter.FileName));
            Assert.Contains($"| {topics.Names.Store} | {StoreRecords} | {Customers / 2} | 0 | {Malformed} | 0 | 0 |", report, StringComparison.Ordinal);
            Assert.Contains($"| `malformed_json` | quarantined | {Malformed} | {topics.Names.Store} {Malformed} |", report, StringComparison.Ordinal);
            Assert.Contains("## Segments (model version ", report, StringComparison.Ordinal);

            // The chart's bars are the segment sizes in the database.
            var bars = XDocument.Load(Path.Combine(reportDirectory, ReportWriter.SizesChart)).Descendants()
                .Where(e => e.Name.LocalName == "rect" && (string?)e.Attribute("class") == "bar").ToList();
            Assert.Equal(await AssignedAsync(connectionString), bars.Sum(b => long.Parse(b.Attribute("data-size")!.Value, System.Globalization.CultureInfo.InvariantCulture)));
            Assert.NotNull(XDocument.Load(Path.Combine(reportDirectory, ReportWriter.FeaturesChart)).Root);

            foreach (var file in Directory.GetFiles(reportDirectory))
            {
                var text = await File.ReadAllTextAsync(file);
                Assert.All(personal, value => Assert.DoesNotContain(value, text, StringComparison.OrdinalIgnoreCase));
            }
        }
        finally
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private const int Customers = 24;
    private const int Malformed = 3;
    private const int InvalidEmails = 2;
    private const int StoreRecords = Customers / 2 + Malformed;
    private const int Total = Customers + Malformed;

    /// <summary>
    /// Half the customers shop in stores, half browse online (two of them with an invalid email, flagged); three store
    /// records are not JSON. Returns the personal values sent, which must appear in no report file.
    /// </summary>
    private List<string> Produce(TestTopics topics)
    {
        var personal = new List<string>();
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
        for (var i = 0; i < Customers / 2; i++)
        {
            var email = $"dash.shopper{i}@example.com";
            var loyalty = $"DASHLOY{i:0000}";
            personal.AddRange([email, loyalty]);
            producer.Produce(topics.Names.Store, new Message<Null, string> { Value = SampleEvents.Store($"s-{i}", loyaltyId: loyalty, email: email) });
            var device = $"dash-device-{i}";
            var online = i < InvalidEmails ? $"not-an-email-{i}" : $"dash.browser{i}@example.com";
            personal.AddRange([device, online]);
            producer.Produce(topics.Names.Clickstream, new Message<Null, string> { Value = SampleEvents.Clickstream($"c-{i}", device, email: online) });
        }

        for (var i = 0; i < Malformed; i++)
        {
            producer.Produce(topics.Names.Store, new Message<Null, string> { Value = "{\"event_id\": \"broken" });
        }

        producer.Flush(TimeSpan.FromSeconds(10));
        return personal;
    }

    private static async Task<long> AssignedAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("""
            select count(*) from segment_assignments
            where segment_id is not null and model_version = (select max(model_version) from segment_assignments)
            """);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(200);
        }

        Assert.True(condition(), "timed out");
    }
}
