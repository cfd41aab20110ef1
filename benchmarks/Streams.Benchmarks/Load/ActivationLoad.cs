using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Streams.Activation;
using Streams.Activation.Worker;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Ingest.Pseudonymization;

namespace Streams.Benchmarks.Load;

/// <summary>
/// <c>activation-load [--rows N] [--profiles P] [--batch B] [--partitions Q]</c>: list rows per second through the real
/// activation worker (embedded broker, throwaway PostgreSQL) against P profiles (default 100,000, 90 % consenting, every
/// consenting one with a published segment), and the process's memory while it runs. The profiles are written straight
/// into the profiles and segmentation tables (their workers are not what is measured); each of the N rows (default
/// 100,000) holds a customer's e-mail in another spelling and a phone no profile has. Timed from the first row produced
/// until every answer is committed and published. The producer runs at most <c>--ahead</c> rows (default 100,000) ahead
/// of the answered ones: the embedded broker keeps only about 5 MiB per partition and drops the oldest beyond it, so an
/// unpaced million-row list would lose rows before the worker read them (a real Kafka keeps them for its retention).
/// </summary>
internal static class ActivationLoad
{
    private const int Segments = 8;

    public static async Task<int> RunAsync(string[] args)
    {
        LoadRun.RejectUnknown(args, "--rows", "--profiles", "--batch", "--partitions", "--ahead");
        var rows = LoadRun.Option(args, "--rows", 100_000, min: 1);
        var profiles = LoadRun.Option(args, "--profiles", 100_000, min: 1);
        var batch = LoadRun.Option(args, "--batch", 5000, min: 1, max: 100_000);
        var partitions = LoadRun.Option(args, "--partitions", 16, min: 1, max: 10_000);
        var ahead = LoadRun.Option(args, "--ahead", 100_000, min: 1);
        var state = Path.Combine(Path.GetTempPath(), "streams-load-" + Guid.NewGuid().ToString("N")[..8]);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder([.. args.Where(LoadRun.IsHostSetting)]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Streams:StateDir"] = state,
            ["Topics:Partitions"] = partitions.ToString(CultureInfo.InvariantCulture),
            ["Activation:BatchSize"] = batch.ToString(CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddStreamsEnvironment();
        builder.AddActivation();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var environment = host.Services.GetRequiredService<StreamsEnvironment>();
            var metrics = host.Services.GetRequiredService<ActivationMetrics>();
            var pseudonymizer = host.Services.GetRequiredService<Pseudonymizer>();
            var names = host.Services.GetRequiredService<TopicCatalog>().Names;
            var stopping = LoadRun.Stopping(host);

            var clock = Stopwatch.StartNew();
            await PopulateAsync(environment.DataSource, pseudonymizer, profiles, stopping);
            LoadRun.ThrowIfStopping(stopping);
            Console.WriteLine($"activation-load: {profiles:N0} profiles written in {clock.Elapsed.TotalSeconds:F1} s");
            var messages = Requests(rows, profiles);
            GC.Collect();
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var (baseWorkingSet, baseHeap) = (process.WorkingSet64, GC.GetTotalMemory(false));
            long peakWorkingSet = baseWorkingSet, peakHeap = baseHeap;
            var before = metrics.Rows;
            var samples = 0;

            clock.Restart();
            var cpu = process.TotalProcessorTime;
            var producing = Task.Run(() => Produce(environment.BootstrapServers, names.ActivationRequests, messages, () => metrics.Rows - before, ahead, stopping));
            while (metrics.Rows - before < rows || await OutboxDepthAsync(environment.DataSource) > 0)
            {
                LoadRun.ThrowIfStopping(stopping);
                await Task.Delay(100);
                process.Refresh();
                peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                if (samples++ % 100 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"activation-load: {clock.Elapsed.TotalSeconds,6:F0} s: {metrics.Rows - before:N0} rows answered"));
                }

                if (clock.Elapsed > TimeSpan.FromMinutes(10))
                {
                    // A row the embedded broker dropped before it was read (see --ahead) is never answered.
                    throw new TimeoutException($"only {metrics.Rows - before:N0} of {rows:N0} rows answered in 10 minutes");
                }
            }

            await producing;
            LoadRun.ThrowIfStopping(stopping);
            var elapsed = clock.Elapsed;

            process.Refresh();
            var cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
            const double MiB = 1024 * 1024;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"activation-load: {rows:N0} rows against {profiles:N0} profiles in {elapsed.TotalSeconds:F1} s: {rows / elapsed.TotalSeconds:N0} rows/s, " +
                $"{metrics.Matched:N0} matched; CPU {cpuSeconds:F1} s ({cpuSeconds * 1e6 / rows:F0} µs/row, whole process); batch {batch:N0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"activation-load: memory: working set {baseWorkingSet / MiB:F0} MiB before, peak {peakWorkingSet / MiB:F0} MiB; " +
                $"managed heap {baseHeap / MiB:F0} MiB before, peak {peakHeap / MiB:F0} MiB (requests made as they are produced)"));
            return 0;
        }
        finally
        {
            await host.StopAsync();
            LoadRun.TryDelete(state, "activation-load");
        }
    }

    // Profiles p1…pN with one e-mail each; every tenth opted out (and so without an assignment, as segmentation leaves it).
    private static async Task PopulateAsync(NpgsqlDataSource dataSource, Pseudonymizer pseudonymizer, int profiles, CancellationToken stopping)
    {
        var pseudonyms = new string[profiles];
        for (var n = 1; n <= profiles; n++)
        {
            if (n % 10_000 == 0)
            {
                LoadRun.ThrowIfStopping(stopping);
            }

            pseudonymizer.TryPseudonymize(IdentifierType.Email, Email(n), out var pseudonym);
            pseudonyms[n - 1] = pseudonym!;
        }

        await using var command = dataSource.CreateCommand($"""
            insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms)
            select 'p' || n, now(), now(), '{"{}"}', n % 10 <> 0, 1, now(), array[(@ps)[n]] from generate_series(1, @count) n;
            insert into identifiers (pseudonym, type, profile_id, linked_at)
            select (@ps)[n], 'email', 'p' || n, now() from generate_series(1, @count) n;
            insert into segment_assignments (profile_id, raw, segment_id, model_version, published, assignment, assigned_at)
            select 'p' || n, '{"{}"}', n % {Segments}, 1, true, jsonb_build_object('summary', 'Segment ' || (n % {Segments}) || ' buys often.'), now()
            from generate_series(1, @count) n where n % 10 <> 0;
            analyze profiles; analyze identifiers; analyze segment_assignments;
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ps", pseudonyms));
        command.Parameters.Add(new NpgsqlParameter<int>("count", profiles));
        command.CommandTimeout = 600;
        try
        {
            await command.ExecuteNonQueryAsync(stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            LoadRun.ThrowIfStopping(stopping);
        }
    }

    // Made as they are produced, not up front: the process's memory is then the worker's, whatever the list's length.
    private static IEnumerable<Message<byte[]?, byte[]>> Requests(int rows, int profiles)
    {
        for (var i = 0; i < rows; i++)
        {
            var n = (i % profiles) + 1;
            yield return new Message<byte[]?, byte[]>
            {
                Value = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                {
                    ["list_id"] = "load", ["record_id"] = $"crm-{i}", ["requested_by"] = "activation-load",
                    ["identifiers"] = new[]
                    {
                        new Dictionary<string, string> { ["type"] = "email", ["value"] = " " + Email(n).ToUpperInvariant() },
                        new Dictionary<string, string> { ["type"] = "phone", ["value"] = $"(555) {n % 1000:D3}-{n % 10000:D4}" },
                    },
                }),
            };
        }
    }

    private static string Email(int n) => $"customer{n}@example.com";

    // At most `ahead` rows produced and not yet answered; stops producing once the run is asked to stop.
    private static void Produce(string bootstrapServers, string topic, IEnumerable<Message<byte[]?, byte[]>> messages, Func<long> answered, int ahead,
        CancellationToken stopping)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 5 }).Build();
        var produced = 0L;
        foreach (var message in messages)
        {
            while (produced - answered() >= ahead && !stopping.IsCancellationRequested)
            {
                producer.Poll(TimeSpan.FromMilliseconds(20));
            }

            if (stopping.IsCancellationRequested)
            {
                return;
            }

            produced++;
            while (true)
            {
                try
                {
                    producer.Produce(topic, message);
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }

        producer.Flush(TimeSpan.FromMinutes(1));
    }

    private static async Task<long> OutboxDepthAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("select count(*) from activation_outbox");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
