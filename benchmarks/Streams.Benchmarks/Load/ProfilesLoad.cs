using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
/// <c>profiles-load [--events N] [--batch B] [--partitions P] [--warmup W]</c>: events per second through the real
/// profiles worker (embedded broker, throwaway PostgreSQL), against the same run's baseline: a binary COPY of as many
/// rows into an unindexed table of the same database. W events of other customers (default 14,000, in batches of 200;
/// 0 for a cold start) go through the worker, and a smaller COPY through the baseline, before either is timed.
/// </summary>
internal static class ProfilesLoad
{
    private const int WarmupChunk = 200;

    public static async Task<int> RunAsync(string[] args)
    {
        LoadRun.RejectUnknown(args, "--events", "--batch", "--partitions", "--warmup");
        var events = LoadRun.Option(args, "--events", 60_000, min: 1);
        var batch = LoadRun.Option(args, "--batch", 5000, min: 1, max: 100_000);
        var partitions = LoadRun.Option(args, "--partitions", 16, min: 1, max: 10_000);
        var warmup = LoadRun.Option(args, "--warmup", 14_000, min: 0);
        var state = Path.Combine(Path.GetTempPath(), "streams-load-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder([]);
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

        // Warm-up first, from other customers, in small batches: tiered JIT compiles a method called once per batch
        // fully only after some 60 calls (tier 0, instrumented, optimized), seconds of CPU on these 2 cores that
        // belong to starting up, not to the rate a running worker sustains.
        if (warmup > 0)
        {
            var warm = Messages(Generate(warmup, "warmup"));
            for (var done = 0; done < warm.Count; done += WarmupChunk)
            {
                Produce(environment.BootstrapServers, canonical, warm.GetRange(done, Math.Min(WarmupChunk, warm.Count - done)));
                while (metrics.Records < Math.Min(done + WarmupChunk, warm.Count))
                {
                    await Task.Delay(5);
                }
            }
        }

        // Serialized before the clock starts: ingest does that on its own hosts, not the worker's.
        var records = Generate(events, "load");
        var messages = Messages(records);
        var stagesBefore = metrics.StageTotals;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var jit = System.Runtime.JitInfo.GetCompilationTime();
        var postgresCpu = ProcessResources.PostgresCpuSeconds(environment);
        var clock = Stopwatch.StartNew();
        Produce(environment.BootstrapServers, canonical, messages);
        while (metrics.Records < warmup + events)
        {
            await Task.Delay(5);
        }

        var workerSeconds = clock.Elapsed.TotalSeconds;
        var workerCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var workerJit = (System.Runtime.JitInfo.GetCompilationTime() - jit).TotalSeconds;
        postgresCpu = ProcessResources.PostgresCpuSeconds(environment) - postgresCpu;
        var stages = metrics.StageTotals.ToDictionary(s => s.Key, s => Math.Round(s.Value - stagesBefore.GetValueOrDefault(s.Key)));
        var copySeconds = await CopyBaselineAsync(environment.DataSource, records, warmup > 0);
        await host.StopAsync();

        var result = new Dictionary<string, object>
        {
            ["events"] = events,
            ["batch_size"] = batch,
            ["partitions"] = partitions,
            ["warmup_events"] = warmup,
            ["profiles"] = events / 7,
            ["worker_events_per_s"] = Math.Round(events / workerSeconds),
            ["copy_rows_per_s"] = Math.Round(events / copySeconds),
            ["ratio_worker_to_copy"] = Math.Round(copySeconds / workerSeconds, 3),
            ["process_cpu_s_during_worker_run"] = Math.Round(workerCpu, 2),
            ["jit_s_during_worker_run"] = Math.Round(workerJit, 2),
            ["postgres_cpu_s_during_worker_run"] = Math.Round(postgresCpu, 2),
            ["stage_ms_total"] = stages,
            ["machine"] = LoadRun.Machine(),
        };
        await LoadRun.WriteJsonAsync("profiles-load", result);
        return 0;
    }

    private static List<Message<byte[], byte[]>> Messages(List<CanonicalEvent> records) =>
        [.. records.Select((e, i) => new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(e.Identifiers[0].Pseudonym),
            Value = IngestJson.Serialize(e),
            Headers = OutputHeaders.For(new SourcePosition(e.Source.Topic, 0, i), OutputHeaders.KindEvent),
        })];

    private static void Produce(string bootstrapServers, string topic, List<Message<byte[], byte[]>> messages)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 5 }).Build();
        foreach (var message in messages)
        {
            producer.Produce(topic, message);
        }

        producer.Flush(TimeSpan.FromMinutes(1));
    }

    // The same number of rows, of a similar width (event id, pseudonym, time, the event as JSON), into a table with
    // no index: the floor of what writing these events to this PostgreSQL costs. Warmed up like the worker when it is.
    private static async Task<double> CopyBaselineAsync(NpgsqlDataSource dataSource, List<CanonicalEvent> records, bool warmUp)
    {
        await using (var create = dataSource.CreateCommand("create unlogged table if not exists copy_baseline (event_id text, pseudonym text, at timestamptz, payload jsonb)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var payloads = records.Select(r => Encoding.UTF8.GetString(IngestJson.Serialize(r))).ToList();
        if (warmUp)
        {
            await CopyAsync(dataSource, records, payloads, Math.Min(records.Count, 5000));
            await using var truncate = dataSource.CreateCommand("truncate copy_baseline");
            await truncate.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        await CopyAsync(dataSource, records, payloads, records.Count);
        return clock.Elapsed.TotalSeconds;
    }

    private static async Task CopyAsync(NpgsqlDataSource dataSource, List<CanonicalEvent> records, List<string> payloads, int count)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var writer = await connection.BeginBinaryImportAsync("copy copy_baseline (event_id, pseudonym, at, payload) from stdin (format binary)");
        for (var i = 0; i < count; i++)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(records[i].EventId, NpgsqlDbType.Text);
            await writer.WriteAsync(records[i].Identifiers[0].Pseudonym, NpgsqlDbType.Text);
            await writer.WriteAsync(records[i].OccurredAt, NpgsqlDbType.TimestampTz);
            await writer.WriteAsync(payloads[i], NpgsqlDbType.Jsonb);
        }

        await writer.CompleteAsync();
    }

    // Customers of five identifiers and seven events each, linked the way real journeys link them.
    private static List<CanonicalEvent> Generate(int events, string run)
    {
        var random = new Random(1);
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var result = new List<CanonicalEvent>(events);
        for (var c = 0; result.Count < events; c++)
        {
            CanonicalIdentifier Id(IdentifierType type) =>
                new(type, "k1:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{run}:{type}:{c}")))[..32]);
            var (device, email, phone, loyalty, social) =
                (Id(IdentifierType.Device), Id(IdentifierType.Email), Id(IdentifierType.Phone), Id(IdentifierType.Loyalty), Id(IdentifierType.Social));
            var t = start.AddMinutes(random.Next(0, 43_200));
            var source = new SourcePosition(run, 0, 0);
            CanonicalEvent Click(string type, params CanonicalIdentifier[] ids) => new(Channel.Clickstream, $"{run}-c{c}-{result.Count}", t, ids, [], source)
            {
                Clickstream = new ClickstreamAttributes(type, "shoes", 1200, null, null, "mobile"),
            };
            CanonicalEvent Sale(params CanonicalIdentifier[] ids) => new(Channel.Store, $"{run}-s{c}-{result.Count}", t, ids, [], source)
            {
                Store = new StoreAttributes("S-1", 42, "EUR", 5, 3, [new CategoryAmount("grocery", 3, 42)], "card"),
            };
            result.Add(Click("page_view", device));
            result.Add(Click("add_to_cart", device, email));
            result.Add(Sale(loyalty, email));
            result.Add(new CanonicalEvent(Channel.Callcenter, $"{run}-k{c}", t, [phone, email], [], source)
            {
                Callcenter = new CallcenterAttributes("delivery", 200, 0.1, true),
            });
            result.Add(new CanonicalEvent(Channel.Social, $"{run}-o{c}", t, [social, email], [], source)
            {
                Social = new SocialAttributes("instagram", "like", 0.5, 100),
            });
            result.Add(Click("purchase", device));
            result.Add(Sale(loyalty));
        }

        return result.Take(events).ToList();
    }
}
