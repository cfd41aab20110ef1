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
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Outputs;
using Streams.Infrastructure.Hosting;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.Profiles;
using Streams.Profiles.Worker;

namespace Streams.Benchmarks.Load;

/// <summary>
/// <c>profiles-load [--events N] [--batch B] [--partitions P] [--warmup W] [--repeat R]</c>: events per second through
/// the real profiles worker (embedded broker, throwaway PostgreSQL), against baselines measured around each timed run
/// (the mean of one just before and one just after): a binary COPY of as many rows into an unindexed table of the same
/// database, a plain (logged) table like the worker's and an unlogged one. W events of other customers (default 14,000, in batches of 200; 0 for
/// a cold start) go through the worker, then N more in full batches, and a smaller COPY through each baseline, before
/// anything is timed. Then R runs
/// (default 5) of N new customers' events each; the result holds every run and the medians.
/// </summary>
internal static class ProfilesLoad
{
    private const int WarmupChunk = 200;
    private const string Logged = "copy_baseline";
    private const string Unlogged = "copy_baseline_unlogged";

    public static async Task<int> RunAsync(string[] args)
    {
        LoadRun.RejectUnknown(args, "--events", "--batch", "--partitions", "--warmup", "--repeat", "--statements");
        var events = LoadRun.Option(args, "--events", 60_000, min: 1);
        var batch = LoadRun.Option(args, "--batch", 5000, min: 1, max: 100_000);
        var partitions = LoadRun.Option(args, "--partitions", 16, min: 1, max: 10_000);
        var warmup = LoadRun.Option(args, "--warmup", 14_000, min: 0);
        var repeat = LoadRun.Option(args, "--repeat", 5, min: 1, max: 100);
        // PostgreSQL's costliest statements during each worker run (not the baselines' COPYs), from pg_stat_statements; 0 for
        // none (tracking costs the database a little).
        var statements = LoadRun.Option(args, "--statements", 0, min: 0, max: 100);
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
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            var environment = host.Services.GetRequiredService<StreamsEnvironment>();
            var metrics = host.Services.GetRequiredService<ProfilesMetrics>();
            var canonical = host.Services.GetRequiredService<Streams.Contracts.Topics.TopicCatalog>().Names.Canonical;
            var stopping = LoadRun.Stopping(host);

            // Warm-up first, from other customers, in small batches: tiered JIT compiles a method called once per batch
            // fully only after some 60 calls (tier 0, instrumented, optimized), seconds of CPU on these 2 cores that
            // belong to starting up, not to the rate a running worker sustains. Then one untimed run of full batches: the
            // loops over a whole batch are compiled again on stack replacement, and the first full batches' statements
            // meet tables and plans of a different size (measured: the first full-size run was the slowest of five).
            var consumed = 0L;
            if (warmup > 0)
            {
                var warm = Messages(Generate(warmup, "warmup"));
                for (var done = 0; done < warm.Count; done += WarmupChunk)
                {
                    Produce(environment.BootstrapServers, canonical, warm.GetRange(done, Math.Min(WarmupChunk, warm.Count - done)));
                    while (metrics.Records < Math.Min(done + WarmupChunk, warm.Count))
                    {
                        LoadRun.ThrowIfStopping(stopping);
                        await Task.Delay(5);
                    }
                }

                Produce(environment.BootstrapServers, canonical, Messages(Generate(events, "warmup-full")));
                consumed = warmup + events;
                while (metrics.Records < consumed)
                {
                    LoadRun.ThrowIfStopping(stopping);
                    await Task.Delay(5);
                }
            }

            await PrepareBaselinesAsync(environment.DataSource, warmup > 0 ? Generate(Math.Min(events, 5000), "copy-warmup") : []);
            var runs = new List<Dictionary<string, object>>();
            for (var run = 1; run <= repeat; run++)
            {
                runs.Add(await MeasureAsync(environment, metrics, canonical, events, run, expected: consumed + (long)run * events, statements, stopping));
            }

            double Median(string key) => LoadRun.Median(runs.Select(r => Convert.ToDouble(r[key], CultureInfo.InvariantCulture)));
            var result = new Dictionary<string, object>
            {
                ["events_per_run"] = events,
                ["runs"] = repeat,
                ["batch_size"] = batch,
                ["partitions"] = partitions,
                ["warmup_events"] = warmup,
                ["profiles_per_run"] = events / 7,
                ["median_worker_events_per_s"] = Median("worker_events_per_s"),
                ["median_copy_rows_per_s"] = Median("copy_rows_per_s"),
                ["median_ratio_worker_to_copy"] = Median("ratio_worker_to_copy"),
                ["median_copy_unlogged_rows_per_s"] = Median("copy_unlogged_rows_per_s"),
                ["median_ratio_worker_to_copy_unlogged"] = Median("ratio_worker_to_copy_unlogged"),
                ["each_run"] = runs,
                ["machine"] = LoadRun.Machine(),
            };
            await LoadRun.WriteJsonAsync("profiles-load", result);
            return 0;
        }
        finally
        {
            // Also when a run fails or is stopped: the cluster and the broker go with the host, its state dir after it.
            await host.StopAsync();
            host.Dispose();
            LoadRun.TryDelete(state, "profiles-load");
        }
    }

    /// <summary>
    /// One timed run: <paramref name="events"/> events of new customers through the worker, and the same rows through
    /// both COPY baselines just before and just after it.
    /// </summary>
    private static async Task<Dictionary<string, object>> MeasureAsync(StreamsEnvironment environment, ProfilesMetrics metrics, string canonical,
        int events, int run, long expected, int statements, CancellationToken stopping)
    {
        // Serialized before the clock starts: ingest does that on its own hosts, not the worker's.
        var records = Generate(events, $"load{run}");
        var messages = Messages(records);
        // The input (about 100 MB for 60,000 events) is the benchmark's, not the worker's: settled in the oldest
        // generation before the clock starts, it is not copied again by every collection the worker's own garbage
        // triggers during the run (measured: 5-6 collections and 500-650 ms of pauses in a 3 s run without this).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        // The baselines are taken just before the worker's run and again just after, in mirrored order, and averaged:
        // this machine's speed drifts by half within a minute (measured), and a drift during the run then weighs on the
        // baselines as it does on the worker.
        var payloads = Payloads(records);
        var before = new Dictionary<string, double>
        {
            [Logged] = await CopyAsync(environment.DataSource, Logged, records, payloads),
            [Unlogged] = await CopyAsync(environment.DataSource, Unlogged, records, payloads),
        };
        await QuiesceAsync(environment.DataSource);
        var stagesBefore = metrics.StageTotals;
        var (writesBefore, mergesBefore) = (metrics.ProfileWrites, metrics.Merges);
        var threads = ProcessResources.ThreadCpuSeconds();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var jit = System.Runtime.JitInfo.GetCompilationTime();
        var allocated = GC.GetTotalAllocatedBytes();
        var paused = GC.GetTotalPauseDuration();
        var collections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var postgresCpu = ProcessResources.PostgresCpuSeconds(environment);
        var loadBefore = LoadRun.LoadAverage();
        var statisticsConnection = await LoadRun.StartStatementsAsync(environment, statements, "profiles-load");
        var clock = Stopwatch.StartNew();
        Produce(environment.BootstrapServers, canonical, messages);
        while (metrics.Records < expected)
        {
            // Checked before each short wait, so the run ends saying why rather than with a cancelled delay.
            LoadRun.ThrowIfStopping(stopping);
            await Task.Delay(5, CancellationToken.None);
        }

        var workerSeconds = clock.Elapsed.TotalSeconds;

        var threadCpu = ProcessResources.ThreadCpuDelta(threads, ProcessResources.ThreadCpuSeconds());
        var workerCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var workerJit = (System.Runtime.JitInfo.GetCompilationTime() - jit).TotalSeconds;
        var allocatedMiB = (GC.GetTotalAllocatedBytes() - allocated) / (1024.0 * 1024);
        var pausedMs = (GC.GetTotalPauseDuration() - paused).TotalMilliseconds;
        var gcs = $"{GC.CollectionCount(0) - collections.Item1} / {GC.CollectionCount(1) - collections.Item2} / {GC.CollectionCount(2) - collections.Item3}";
        postgresCpu = ProcessResources.PostgresCpuSeconds(environment) - postgresCpu;
        var statementCosts = await LoadRun.ReadStatementsAsync(statisticsConnection, statements);
        var stages = metrics.StageTotals.ToDictionary(s => s.Key, s => Math.Round(s.Value - stagesBefore.GetValueOrDefault(s.Key)));
        var after = new Dictionary<string, double>
        {
            [Unlogged] = await CopyAsync(environment.DataSource, Unlogged, records, payloads),
            [Logged] = await CopyAsync(environment.DataSource, Logged, records, payloads),
        };
        var copySeconds = new[] { Logged, Unlogged }.ToDictionary(t => t, t => (before[t] + after[t]) / 2);
        return new Dictionary<string, object>
        {
            ["run"] = run,
            ["worker_events_per_s"] = Math.Round(events / workerSeconds),
            ["copy_rows_per_s"] = Math.Round(events / copySeconds[Logged]),
            ["ratio_worker_to_copy"] = Math.Round(copySeconds[Logged] / workerSeconds, 3),
            ["copy_unlogged_rows_per_s"] = Math.Round(events / copySeconds[Unlogged]),
            ["ratio_worker_to_copy_unlogged"] = Math.Round(copySeconds[Unlogged] / workerSeconds, 3),
            ["profile_rows_written"] = metrics.ProfileWrites - writesBefore,
            ["merges"] = metrics.Merges - mergesBefore,
            ["process_cpu_s_during_worker_run"] = Math.Round(workerCpu, 2),
            ["jit_s_during_worker_run"] = Math.Round(workerJit, 2),
            ["allocated_mib_during_worker_run"] = Math.Round(allocatedMiB),
            ["gc_gen0_gen1_gen2_during_worker_run"] = gcs,
            ["gc_pause_ms_during_worker_run"] = Math.Round(pausedMs),
            ["postgres_cpu_s_during_worker_run"] = Math.Round(postgresCpu, 2),
            ["thread_cpu_s_during_worker_run"] = threadCpu,
            ["stage_ms_total"] = stages,
            ["load_average_before"] = loadBefore,
            ["postgres_statements_during_worker_run"] = statementCosts is null ? "off (--statements N)" : PipelineReport.StatementsJson(statementCosts),
        };
    }

    private static List<Message<byte[], byte[]>> Messages(List<CanonicalEvent> records) =>
        [.. records.Select((e, i) => new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(e.Identifiers[0].Pseudonym),
            Value = CanonicalJson.Serialize(e),
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

    // The same number of rows, of a similar width (event id, pseudonym, time, the event as JSON), into tables with no
    // index: the floor of what writing these events to this PostgreSQL costs. The plain table is written to the WAL like
    // the worker's tables; the unlogged one skips that, the stricter floor. Warmed up like the worker when it is.
    private static async Task PrepareBaselinesAsync(NpgsqlDataSource dataSource, List<CanonicalEvent> warm)
    {
        await using (var create = dataSource.CreateCommand($"""
            create table if not exists {Logged} (event_id text, pseudonym text, at timestamptz, payload jsonb);
            create unlogged table if not exists {Unlogged} (event_id text, pseudonym text, at timestamptz, payload jsonb)
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        if (warm.Count > 0)
        {
            var payloads = Payloads(warm);
            await CopyAsync(dataSource, Logged, warm, payloads);
            await CopyAsync(dataSource, Unlogged, warm, payloads);
        }
    }

    /// <summary>
    /// Vacuums and checkpoints, so that each timed phase starts on a database with no cleanup pending: otherwise the
    /// autovacuum and buffer writes the worker's run leaves behind land on whichever baseline runs next (measured: the
    /// COPY right after a worker run was up to twice as slow as the one after it).
    /// </summary>
    private static async Task QuiesceAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("vacuum analyze");
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync();
        await using var checkpoint = dataSource.CreateCommand("checkpoint");
        await checkpoint.ExecuteNonQueryAsync();
    }

    private static List<string> Payloads(List<CanonicalEvent> records) => [.. records.Select(r => Encoding.UTF8.GetString(CanonicalJson.Serialize(r)))];

    /// <summary>Seconds to COPY <paramref name="records"/> into <paramref name="table"/>, emptied first.</summary>
    private static async Task<double> CopyAsync(NpgsqlDataSource dataSource, string table, List<CanonicalEvent> records, List<string> payloads)
    {
        await using (var truncate = dataSource.CreateCommand($"truncate {table}"))
        {
            await truncate.ExecuteNonQueryAsync();
        }

        await QuiesceAsync(dataSource);
        var clock = Stopwatch.StartNew();
        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var writer = await connection.BeginBinaryImportAsync($"copy {table} (event_id, pseudonym, at, payload) from stdin (format binary)"))
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
