using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Hosting;
using Streams.Ingest;
using Streams.Ingest.Canonical;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.Profiles;
using Streams.Profiles.Worker;

namespace Streams.Benchmarks.Load;

/// <summary>
/// <c>profiles-load [--events N] [--batch B] [--partitions P]</c>: events per second through the real profiles worker
/// (embedded broker, throwaway PostgreSQL), against the same run's baseline: a binary COPY of as many rows into an
/// unindexed table of the same database.
/// </summary>
internal static class ProfilesLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        var events = Option(args, "--events", 60_000);
        var batch = Option(args, "--batch", 2000);
        var partitions = Option(args, "--partitions", 16);
        var state = Path.Combine(Path.GetTempPath(), "streams-load-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = Host.CreateApplicationBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Streams:StateDir"] = state,
            ["Topics:Partitions"] = partitions.ToString(CultureInfo.InvariantCulture),
            ["Profiles:BatchSize"] = batch.ToString(CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddStreamsEnvironment();
        builder.AddProfiles();
        using var host = builder.Build();
        await host.StartAsync();
        var environment = host.Services.GetRequiredService<StreamsEnvironment>();
        var metrics = host.Services.GetRequiredService<ProfilesMetrics>();
        var canonical = host.Services.GetRequiredService<Streams.Contracts.Topics.TopicCatalog>().Names.Canonical;

        var records = Generate(events);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = environment.BootstrapServers, LingerMs = 5 }).Build())
        {
            var position = 0L;
            foreach (var e in records)
            {
                producer.Produce(canonical, new Message<byte[], byte[]>
                {
                    Key = Encoding.UTF8.GetBytes(e.Identifiers[0].Pseudonym),
                    Value = IngestJson.Serialize(e),
                    Headers = OutputHeaders.For(new SourcePosition("load", 0, position++), OutputHeaders.KindEvent),
                });
            }

            producer.Flush(TimeSpan.FromMinutes(1));
        }

        while (metrics.Records < events)
        {
            await Task.Delay(20);
        }

        var workerSeconds = clock.Elapsed.TotalSeconds;
        var workerCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var copySeconds = await CopyBaselineAsync(environment.DataSource, records);
        await host.StopAsync();

        var result = new Dictionary<string, object>
        {
            ["events"] = events,
            ["batch_size"] = batch,
            ["partitions"] = partitions,
            ["profiles"] = events / 7,
            ["worker_events_per_s"] = Math.Round(events / workerSeconds),
            ["copy_rows_per_s"] = Math.Round(events / copySeconds),
            ["ratio_worker_to_copy"] = Math.Round(copySeconds / workerSeconds, 3),
            ["process_cpu_s_during_worker_run"] = Math.Round(workerCpu, 2),
            ["stage_ms_total"] = metrics.StageTotals.ToDictionary(s => s.Key, s => Math.Round(s.Value)),
            ["machine"] = $"{Environment.ProcessorCount} cores, {RuntimeVersion()}",
        };
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(json);
        var file = Path.Combine(Directory.GetCurrentDirectory(), "profiles-load.json");
        await File.WriteAllTextAsync(file, json);
        Console.WriteLine($"written to {file}");
        return 0;
    }

    // The same number of rows, of a similar width (event id, pseudonym, time, the event as JSON), into a table with
    // no index: the floor of what writing these events to this PostgreSQL costs.
    private static async Task<double> CopyBaselineAsync(NpgsqlDataSource dataSource, List<CanonicalEvent> records)
    {
        await using (var create = dataSource.CreateCommand("create unlogged table if not exists copy_baseline (event_id text, pseudonym text, at timestamptz, payload jsonb)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var payloads = records.Select(r => Encoding.UTF8.GetString(IngestJson.Serialize(r))).ToList();
        var clock = Stopwatch.StartNew();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var writer = await connection.BeginBinaryImportAsync("copy copy_baseline (event_id, pseudonym, at, payload) from stdin (format binary)"))
        {
            for (var i = 0; i < records.Count; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(records[i].EventId, NpgsqlDbType.Text);
                await writer.WriteAsync(records[i].Identifiers[0].Pseudonym, NpgsqlDbType.Text);
                await writer.WriteAsync(records[i].OccurredAt, NpgsqlDbType.TimestampTz);
                await writer.WriteAsync(payloads[i], NpgsqlDbType.Jsonb);
            }

            await writer.CompleteAsync();
        }

        return clock.Elapsed.TotalSeconds;
    }

    // Customers of five identifiers and seven events each, linked the way real journeys link them.
    private static List<CanonicalEvent> Generate(int events)
    {
        var random = new Random(1);
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var result = new List<CanonicalEvent>(events);
        for (var c = 0; result.Count < events; c++)
        {
            CanonicalIdentifier Id(IdentifierType type) =>
                new(type, "k1:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{type}:{c}")))[..32]);
            var (device, email, phone, loyalty, social) =
                (Id(IdentifierType.Device), Id(IdentifierType.Email), Id(IdentifierType.Phone), Id(IdentifierType.Loyalty), Id(IdentifierType.Social));
            var t = start.AddMinutes(random.Next(0, 43_200));
            var source = new SourcePosition("load", 0, 0);
            CanonicalEvent Click(string type, params CanonicalIdentifier[] ids) => new(Channel.Clickstream, $"c{c}-{result.Count}", t, ids, [], source)
            {
                Clickstream = new ClickstreamAttributes(type, "shoes", 1200, null, null, "mobile"),
            };
            CanonicalEvent Sale(params CanonicalIdentifier[] ids) => new(Channel.Store, $"s{c}-{result.Count}", t, ids, [], source)
            {
                Store = new StoreAttributes("S-1", 42, "EUR", 5, 3, [new CategoryAmount("grocery", 3, 42)], "card"),
            };
            result.Add(Click("page_view", device));
            result.Add(Click("add_to_cart", device, email));
            result.Add(Sale(loyalty, email));
            result.Add(new CanonicalEvent(Channel.Callcenter, $"k{c}", t, [phone, email], [], source)
            {
                Callcenter = new CallcenterAttributes("delivery", 200, 0.1, true),
            });
            result.Add(new CanonicalEvent(Channel.Social, $"o{c}", t, [social, email], [], source)
            {
                Social = new SocialAttributes("instagram", "like", 0.5, 100),
            });
            result.Add(Click("purchase", device));
            result.Add(Sale(loyalty));
        }

        return result.Take(events).ToList();
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string RuntimeVersion() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
}
