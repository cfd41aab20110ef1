using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Host;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.Profiles;
using Streams.Profiles.Worker;
using Streams.Segmentation;
using Streams.Segmentation.Worker;

namespace Streams.Benchmarks.Load;

/// <summary>
/// <c>pipeline-load [--events N] [--partitions P[,P…]] [--hosts H] [--warmup W] [--rate R] [--max-backlog E] [--budget-kib B]
/// [--sample-ms S] [--stall-s T] [--input-linger-ms L] [--Section:Key=value …]</c>:
/// simulated raw input through every worker of the real host (ingest → canonical topic → profiles → segmentation; embedded
/// broker, throwaway PostgreSQL), timed from the first produce until the segmentation group has committed the last profile
/// record, against the same run's bare consume→produce copy of the same records; with produce→profile and (bounded)
/// produce→segment latencies, each stage's lag over time, CPU per event and by part (broker, workers, benchmark,
/// PostgreSQL) and peak memory. H hosts share the work, P partitions each (one run per P). W records go through first,
/// untimed, then a pause until the JIT is quiet. Without a rate the producer keeps E events waiting in ingest and
/// profiles (throughput at saturation, latency with that backlog); with <c>--rate R</c> it offers R records a second
/// (latency at a load the pipeline can take). The JIT's work during the timed run is reported.
/// </summary>
internal static class PipelineLoad
{
    private const string Name = "pipeline-load";
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan DrainSample = TimeSpan.FromMilliseconds(100);
    // PostgreSQL's memory is the sum of its processes' PSS, and reading a backend's smaps_rollup walks the page tables of
    // all it maps (the shared buffers included): every second, that was about 3 % of this process's CPU in a perf
    // profile, on the cores the workers run on. The memory a run holds grows over tens of seconds.
    private static readonly TimeSpan MemorySample = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        LoadRun.RejectUnknown(args, "--events", "--partitions", "--hosts", "--warmup", "--rate", "--max-backlog", "--budget-kib", "--sample-ms",
            "--stall-s", "--input-linger-ms", "--allocations", "--statements", "--trim-consumed");
        var hosts = LoadRun.Option(args, "--hosts", 1, min: 1, max: 8);
        var settings = new Settings(
            Events: LoadRun.Option(args, "--events", 1_000_000, min: 1, max: 20_000_000),
            Partitions: 0,
            // Enough batches for tiered compilation to be done with the code run once per batch (a method is compiled up to
            // three times, the last after some 60 calls): after 20,000 records a 1,000,000-event run still compiled
            // 6,800-8,700 methods in 10-15 s of JIT, after 200,000 1,000-1,200 in 1.6-2.1 s (benchmarks/README.md).
            Warmup: LoadRun.Option(args, "--warmup", 200_000, min: 0, max: 1_000_000),
            Rate: LoadRun.Option(args, "--rate", 0, min: 0),
            // Four ingest batches: enough to keep every stage busy, small enough not to be the latency measured.
            MaxBacklog: LoadRun.Option(args, "--max-backlog", 8000, min: 0),
            // Under the embedded broker's ~5 MiB a partition, with room for a batch in flight and uneven partitions.
            BudgetBytes: LoadRun.Option(args, "--budget-kib", 2048, min: 64, max: 4096) * 1024L,
            SampleEvery: TimeSpan.FromMilliseconds(LoadRun.Option(args, "--sample-ms", 250, min: 50, max: 10_000)),
            StallAfter: TimeSpan.FromSeconds(LoadRun.Option(args, "--stall-s", 120, min: 5, max: 3600)),
            Hosts: hosts,
            // The input producer's linger: how many records a partition's message set holds at an offered rate. The
            // embedded broker finds a lagging consumer's offset by walking the partition's message sets from the first,
            // so sets of a record or two make every fetch behind the end cost thousands of steps (README, pipeline-load).
            InputLingerMs: LoadRun.Option(args, "--input-linger-ms", PacedProducer.DefaultLingerMs, min: 0, max: 1000),
            // The types that allocate most in the timed run, from the runtime's allocation tick; 0 for none (the default:
            // listening to the runtime's GC events costs a little).
            AllocationTypes: LoadRun.Option(args, "--allocations", 0, min: 0, max: 100),
            // PostgreSQL's costliest statements in the timed run, from pg_stat_statements; 0 for none (the default: tracking
            // every statement costs the database a little).
            Statements: LoadRun.Option(args, "--statements", 0, min: 0, max: 100),
            // 1: the embedded broker drops the records every reader of a topic has consumed (ConsumedRecordsTrimmer), so
            // that its fetches cost what a broker with an offset index pays; 0 (the default): it keeps them.
            TrimConsumed: LoadRun.Option(args, "--trim-consumed", 0, min: 0, max: 1) == 1);
        var perHost = PartitionsPerHost(args, fallback: 16);
        if (perHost.Count == 1)
        {
            var result = await RunOnceAsync(settings with { Partitions = perHost[0] * hosts }, args, Name);
            return result.Valid ? 0 : 1;
        }

        // One run per partition count, each in an environment of its own, then their figures side by side.
        var results = new List<PipelineResult>();
        foreach (var partitions in perHost)
        {
            results.Add(await RunOnceAsync(settings with { Partitions = partitions * hosts }, args, $"{Name}-h{hosts}-p{partitions}"));
        }

        var scaling = PipelineReport.ScalingMarkdown(results);
        Console.WriteLine(scaling);
        await File.WriteAllTextAsync(Path.Combine(Directory.GetCurrentDirectory(), $"{Name}-h{hosts}-scaling.md"), scaling);
        return results.All(r => r.Valid) ? 0 : 1;
    }

    /// <summary>
    /// <c>--partitions</c>: partitions per host, one number or several separated by commas (one run each); every topic
    /// then has that many times the host count.
    /// </summary>
    internal static IReadOnlyList<int> PartitionsPerHost(string[] args, int fallback)
    {
        var i = Array.IndexOf(args, "--partitions");
        if (i < 0)
        {
            return [fallback];
        }

        var text = i + 1 < args.Length ? args[i + 1] : "";
        var values = text.Split(',', StringSplitOptions.TrimEntries);
        return [.. values.Select(v => LoadRun.Option(["--partitions", v], "--partitions", fallback, min: 1, max: 1000))];
    }

    /// <summary>
    /// One run: H hosts in this process, each built by <c>StreamsHost.CreateBuilder</c>; the first starts the embedded
    /// broker and the throwaway PostgreSQL, the others are pointed at both (and given the first's pseudonymization key),
    /// so they share the work through the consumer groups and the partition epochs as hosts on separate machines would.
    /// </summary>
    private static async Task<PipelineResult> RunOnceAsync(Settings settings, string[] args, string name)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        string[] HostArgs(int index) =>
        [
            $"--Streams:StateDir={StateDir(runId, index)}",
            $"--Topics:Partitions={settings.Partitions}",
            // Small enough that the simulator's oversized records stay far below the broker's message limit.
            "--Ingest:MaxRecordBytes=65536",
            "--Logging:LogLevel:Default=Warning",
            // The bench produces its own records: the host's simulator (on by default with the embedded broker) would
            // add traffic nobody counts, and the exit report's queries are not part of the pipeline.
            "--Simulator:Enabled=false",
            "--Console:Report=false",
            .. args.Where(LoadRun.IsHostSetting),
        ];
        var hosts = new List<IHost> { StreamsHost.CreateBuilder(HostArgs(0)).Build() };
        try
        {
            var host = hosts[0];
            var streams = host.Services.GetRequiredService<IOptions<StreamsOptions>>().Value;
            if (!(streams.Runs("ingest") && streams.Runs("profiles") && streams.Runs("segmentation")))
            {
                throw new LoadOptionException("the pipeline needs every worker: leave Streams:Workers at 'all'.");
            }

            if (!host.Services.GetRequiredService<IOptions<KafkaOptions>>().Value.UseEmbedded)
            {
                throw new LoadOptionException(
                    "the run needs the embedded broker (its baseline topics are created through it): leave Kafka:BootstrapServers unset.");
            }

            var maxRecordBytes = host.Services.GetRequiredService<IOptions<IngestOptions>>().Value.MaxRecordBytes;
            Console.WriteLine($"{name}: simulating {settings.Warmup:N0} warm-up and {settings.Events:N0} timed records …");
            var now = DateTimeOffset.UtcNow;
            // One simulation: the warm-up is its first records, so the timed ones are not duplicates of them, and some of
            // their customers already have profiles, as in a running system.
            var (warmup, inputs) = InputSet.Simulate(settings.Warmup + settings.Events, seed: 1, now, maxRecordBytes).Split(settings.Warmup);

            await host.StartAsync();
            var environment = host.Services.GetRequiredService<StreamsEnvironment>();
            for (var i = 1; i < settings.Hosts; i++)
            {
                var other = StreamsHost.CreateBuilder([.. HostArgs(i), .. SharedWith(environment, StateDir(runId, 0))]).Build();
                hosts.Add(other);
                await other.StartAsync();
            }

            var stopping = LoadRun.Stopping(host);
            var result = await LoadRun.OnOwnThread("bench-monitor", () => Measure(hosts, settings, warmup, inputs, stopping));
            var markdown = PipelineReport.Markdown(result);
            Console.WriteLine(markdown);
            await File.WriteAllTextAsync(Path.Combine(Directory.GetCurrentDirectory(), name + ".md"), markdown);
            await LoadRun.WriteJsonAsync(name, PipelineReport.Json(result));
            return result;
        }
        finally
        {
            // The first host last: it holds the broker and the database the others use.
            for (var i = hosts.Count - 1; i >= 0; i--)
            {
                using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                {
                    await hosts[i].StopAsync(timeout.Token);
                }

                hosts[i].Dispose();
                LoadRun.TryDelete(StateDir(runId, i), Name);
            }
        }
    }

    private static string StateDir(string runId, int host) =>
        Path.Combine(Path.GetTempPath(), $"streams-pipeline-load-{runId}" + (host == 0 ? "" : $"-{host}"));

    /// <summary>
    /// What points another host at the first one's broker and database: they are then not embedded for it, so it needs
    /// the pseudonymization key spelt out (the first's development key, or pseudonyms would not match across hosts).
    /// </summary>
    private static string[] SharedWith(StreamsEnvironment first, string firstStateDir) =>
    [
        $"--Kafka:BootstrapServers={first.BootstrapServers}",
        $"--ConnectionStrings:{StreamsEnvironment.ConnectionName}={first.LocalPostgres?.ConnectionString
            ?? throw new LoadOptionException("--hosts above 1 needs the throwaway PostgreSQL: leave ConnectionStrings:Profiles unset.")}",
        $"--Pseudonymization:ActiveKeyId={DevelopmentKey.KeyId}",
        $"--Pseudonymization:Keys:{DevelopmentKey.KeyId}={File.ReadAllText(DevelopmentKey.PathIn(firstStateDir)).Trim()}",
    ];

    private static PipelineResult Measure(IReadOnlyList<IHost> hosts, Settings settings, InputSet warmup, InputSet inputs, CancellationToken stopping)
    {
        var services = hosts[0].Services;
        var environment = services.GetRequiredService<StreamsEnvironment>();
        var catalog = services.GetRequiredService<TopicCatalog>();
        var ingest = services.GetRequiredService<IOptions<IngestWorkerOptions>>().Value;
        var profilesGroup = services.GetRequiredService<IOptions<ProfilesOptions>>().Value.GroupId;
        var segmentationGroup = services.GetRequiredService<IOptions<SegmentationOptions>>().Value.GroupId;
        // Every host counts its own share: the figures are their sums.
        var profilesMetrics = hosts.Select(h => h.Services.GetRequiredService<ProfilesMetrics>()).ToList();
        var ingestMetrics = hosts.Select(h => h.Services.GetRequiredService<IngestMetrics>()).ToList();
        var segmentationMetrics = hosts.Select(h => h.Services.GetRequiredService<SegmentationMetrics>()).ToList();
        IReadOnlyDictionary<string, double> StageTotals() => Sum(profilesMetrics.Select(m => m.StageTotals));
        IReadOnlyDictionary<(string Topic, string Name), long> IngestTotals() => Sum(ingestMetrics.Select(m => m.Snapshot()));
        long SegmentationProfiles() => segmentationMetrics.Sum(m => m.Profiles);
        var bootstrap = environment.BootstrapServers;
        var names = catalog.Names;

        using var tap = new OutputTap(bootstrap, names.Canonical, names.Profiles, settings.Partitions, warmup.Count + inputs.Count);
        IReadOnlyDictionary<TopicPartition, long>? tapEnds = null;
        using var stopTap = new CancellationTokenSource();
        var tapTask = LoadRun.OnOwnThread("bench-tap", () => tap.Run(() => Volatile.Read(ref tapEnds), stopTap.Token), stopTap.Token);
        double Known(double mean) => double.IsNaN(mean) ? inputs.MeanBytes : mean;
        Stage[] stages =
        [
            new("ingest", ingest.GroupId, catalog.Inputs, () => inputs.MeanBytes, OnLatencyPath: true),
            new("profiles", profilesGroup, [names.Canonical], () => Known(tap.MeanCanonicalBytes), OnLatencyPath: true),
            new("segmentation", segmentationGroup, [names.Profiles], () => Known(tap.MeanProfileBytes)),
        ];
        var trimmer = settings.TrimConsumed ? new ConsumedRecordsTrimmer(environment.EmbeddedKafka!.DeleteRecordsBefore, TimeSpan.FromSeconds(1)) : null;
        // Ingest reads the inputs (the first stage); segmentation and the tap read the profiles topic (the last stage's).
        void AfterSample(StageMonitor monitor) => trimmer?.TrimIfDue(
            [ConsumedRecordsTrimmer.Committed(monitor.LastRead(stages[0].Name))],
            [ConsumedRecordsTrimmer.Committed(monitor.LastRead(stages[^1].Name)), tap.Positions]);
        var timeline = new CommitTimeline();
        var downstream = new DownstreamTimeline();
        using var probe = new CommitProbe(bootstrap, profilesGroup, names.Canonical, settings.Partitions);
        (TimeSpan Waited, JitActivity Jit)? settled = null;
        try
        {
            if (warmup.Count > 0)
            {
                Console.WriteLine($"{Name}: warm-up …");
                RunPhase(bootstrap, stages, settings, warmup, 0, probe, timeline, downstream, environment, AfterSample, stopping, out _, out _);
                var before = JitActivity.Now();
                var waited = JitActivity.Settle(stopping);
                settled = (waited, JitActivity.Now().Since(before));
            }

            Console.WriteLine($"{Name}: timed run of {inputs.Count:N0} records …");
            var stagesBefore = StageTotals();
            var ingestBefore = IngestTotals();
            var segmentationBefore = SegmentationProfiles();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var postgresCpu = ProcessResources.PostgresCpuSeconds(environment);
            var loadBefore = LoadRun.LoadAverage();
            var machineBefore = MachineCpu.Now();
            var checkpointBefore = SegmentationCheckpoint(environment.DataSource);
            using var threads = new ThreadCpuTracker(TimeSpan.FromSeconds(1));
            var gc = GcActivity.Now();
            var jit = JitActivity.Now();
            using var allocations = settings.AllocationTypes > 0 ? new AllocationSampler() : null;
            allocations?.Start();
            var statisticsConnection = LoadRun.StartStatementsAsync(environment, settings.Statements, Name).GetAwaiter().GetResult();
            var phase = RunPhase(bootstrap, stages, settings, inputs, settings.Rate, probe, timeline, downstream, environment, AfterSample, stopping, out var log,
                out var ends);
            var threadCpu = threads.Stop();
            gc = GcActivity.Now().Since(gc);
            jit = JitActivity.Now().Since(jit);
            var allocated = allocations?.Stop(settings.AllocationTypes);
            var processCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            postgresCpu = ProcessResources.PostgresCpuSeconds(environment) - postgresCpu;
            var statementCosts = LoadRun.ReadStatementsAsync(statisticsConnection, settings.Statements).GetAwaiter().GetResult();
            var loadAfter = LoadRun.LoadAverage();
            var idle = MachineCpu.Now() is { } machineAfter && machineBefore is { } machineStart ? machineAfter.IdleShareSince(machineStart) : double.NaN;
            var checkpointAfter = SegmentationCheckpoint(environment.DataSource);

            Volatile.Write(ref tapEnds, ends);
            if (!tapTask.Wait(TimeSpan.FromSeconds(60), stopping))
            {
                throw new TimeoutException("The output tap did not reach the end of the canonical and profiles topics within 60 s.");
            }

            var latency = LatencyReport.Join(tap.Canonical, log, timeline, downstream);
            var profileStages = StageTotals().ToDictionary(s => s.Key, s => Math.Round(s.Value - stagesBefore.GetValueOrDefault(s.Key)));
            var outcomes = IngestTotals()
                .Where(kv => !kv.Key.Name.StartsWith("reason:", StringComparison.Ordinal))
                .GroupBy(kv => kv.Key.Name)
                .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value - ingestBefore.GetValueOrDefault(kv.Key)));

            Console.WriteLine($"{Name}: baseline (bare consume→produce copy) …");
            var baseline = RawCopyBaseline.Run(environment.EmbeddedKafka!, inputs, settings.Partitions, settings.BudgetBytes, settings.SampleEvery,
                settings.StallAfter, stopping);
            return new PipelineResult(settings, inputs, phase, latency, baseline, processCpu, postgresCpu, threadCpu, profileStages, outcomes,
                SegmentationProfiles() - segmentationBefore, checkpointAfter.MiniBatches - checkpointBefore.MiniBatches, checkpointAfter.Bytes, tap.Missed, LoadRun.Machine(), (loadBefore, loadAfter, LoadRun.LoadAverage()), gc, allocated, idle, statementCosts, trimmer?.Removed, jit, settled);
        }
        finally
        {
            stopTap.Cancel();
            try
            {
                // Also when stopping: the tap's consumer goes before the hosts and their broker do.
                tapTask.Wait(TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (AggregateException)
            {
                // The run already failed for a reason of its own; that is the one reported.
            }
        }
    }

    /// <summary>The segmentation stage's read of the sample just taken, as a point of the segment latency's bound.</summary>
    private static void Observe(DownstreamTimeline downstream, StageRead read, int partitions)
    {
        var (ends, committed) = (new long[partitions], new long[partitions]);
        foreach (var lag in read.Lags.Where(l => l.Partition.Partition.Value < partitions))
        {
            ends[lag.Partition.Partition.Value] = lag.End;
            committed[lag.Partition.Partition.Value] = lag.Committed;
        }

        downstream.Observe(read.FromMs, ends, read.AtMs, committed);
    }

    private static Dictionary<TKey, TValue> Sum<TKey, TValue>(IEnumerable<IReadOnlyDictionary<TKey, TValue>> parts)
        where TKey : notnull
        where TValue : System.Numerics.INumber<TValue>
    {
        var sum = new Dictionary<TKey, TValue>();
        foreach (var (key, value) in parts.SelectMany(p => p))
        {
            sum[key] = sum.GetValueOrDefault(key, TValue.Zero) + value;
        }

        return sum;
    }

    /// <summary>
    /// Produces <paramref name="inputs"/> paced on the stages' lag and samples until every stage has caught up with
    /// everything produced. Returns the samples; <paramref name="ends"/> is each output partition's end at that moment.
    /// </summary>
    private static PhaseResult RunPhase(string bootstrap, Stage[] stages, Settings settings, InputSet inputs, int rate, CommitProbe probe,
        CommitTimeline timeline, DownstreamTimeline downstream, StreamsEnvironment environment, Action<StageMonitor> afterSample,
        CancellationToken stopping, out ProduceLog log,
        out IReadOnlyDictionary<TopicPartition, long> ends)
    {
        var pacer = new Pacer(0, rate > 0 ? rate : double.PositiveInfinity);
        // Each partition's map sized for the busiest input topic's share, a tenth more for uneven keys.
        log = new ProduceLog((int)(inputs.MostOfOneTopic * 1.1 / settings.Partitions) + 1);
        // The backlog cap is for saturation runs (it keeps the benchmark from measuring its own queue); an open-loop
        // producer must not let the pipeline shape its input, so with a rate only the byte budget (the broker's limit) holds it.
        using var monitor = new StageMonitor(bootstrap, stages, settings.Partitions, settings.BudgetBytes, pacer,
            settings.MaxBacklog > 0 && rate == 0 ? settings.MaxBacklog : long.MaxValue);
        var before = monitor.Sample();
        Observe(downstream, monitor.LastRead(stages[^1].Name), settings.Partitions);
        probe.Poll(timeline);
        using var stop = new CancellationTokenSource();
        var producedLog = log;
        var produce = LoadRun.OnOwnThread("bench-producer", () => PacedProducer.Run(bootstrap, inputs, inputs.TopicOf, pacer, producedLog, stop.Token,
            settings.InputLingerMs),
            stop.Token);
        var clock = Stopwatch.StartNew();
        var samples = new List<RunSample>();
        var nextSample = TimeSpan.Zero;
        var nextDrainSample = TimeSpan.Zero;
        var nextMemorySample = TimeSpan.Zero;
        var (progress, progressAt) = (string.Empty, clock.Elapsed);
        var peakProcess = 0L;
        var peakPostgres = 0L;
        try
        {
            while (true)
            {
                LoadRun.ThrowIfStopping(stopping);
                probe.Poll(timeline);
                var produced = produce.IsCompleted;
                if (produce.IsFaulted)
                {
                    produce.GetAwaiter().GetResult();
                }

                if (clock.Elapsed >= nextSample || (produced && clock.Elapsed >= nextDrainSample))
                {
                    // Once everything is produced the lags are read more often, so the end is known within DrainSample;
                    // memory every MemorySample, since PostgreSQL's means reading every one of its processes' page tables.
                    var memory = clock.Elapsed >= nextMemorySample;
                    if (memory)
                    {
                        nextMemorySample = clock.Elapsed + MemorySample;
                    }

                    if (clock.Elapsed >= nextSample)
                    {
                        nextSample = clock.Elapsed + settings.SampleEvery;
                    }

                    nextDrainSample = clock.Elapsed + DrainSample;
                    var stageSamples = monitor.Sample();
                    Observe(downstream, monitor.LastRead(stages[^1].Name), settings.Partitions);
                    afterSample(monitor);
                    var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    long? processBytes = memory ? ProcessResources.OwnResidentBytes() : null;
                    long? postgresBytes = memory ? ProcessResources.PostgresMemoryBytes(environment) : null;
                    peakProcess = Math.Max(peakProcess, processBytes ?? 0);
                    peakPostgres = Math.Max(peakPostgres, postgresBytes ?? 0);
                    var seconds = log.FirstMs == long.MaxValue ? 0 : (at - log.FirstMs) / 1000.0;
                    samples.Add(new RunSample(seconds, pacer.Produced, stageSamples, processBytes, postgresBytes));
                    if (produced && log.Delivered + log.Failed == inputs.Count && stageSamples.All(s => s.Lag == 0))
                    {
                        if (log.Failed > 0)
                        {
                            throw new InvalidOperationException($"{log.Failed} input records were not produced: {log.FirstError}");
                        }

                        ends = monitor.Ends(stages.Skip(1));
                        probe.Poll(timeline);
                        return new PhaseResult(before, samples, seconds, (log.LastMs - log.FirstMs) / 1000.0, peakProcess, peakPostgres,
                            ProducerPacing.Of(pacer));
                    }

                    var signature = $"{pacer.Produced}|{string.Join('|', stageSamples.Select(s => s.Committed))}";
                    if (signature != progress)
                    {
                        (progress, progressAt) = (signature, clock.Elapsed);
                    }
                    else if (clock.Elapsed - progressAt > settings.StallAfter)
                    {
                        throw new TimeoutException($"No stage moved for {settings.StallAfter.TotalSeconds:F0} s; lags: "
                            + string.Join(", ", stageSamples.Select(s => $"{s.Stage} {s.Lag:N0}")));
                    }
                }

                Thread.Sleep(Tick);
            }
        }
        finally
        {
            stop.Cancel();
            try
            {
                produce.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
                // Reported through the phase's own failure.
            }
        }
    }

    /// <summary>
    /// The segmentation worker's checkpoint as stored (its JSON size, read and written once per mini-batch) and its
    /// mini-batch count: what a mini-batch costs beyond its profiles.
    /// </summary>
    private static (long Bytes, long MiniBatches) SegmentationCheckpoint(Npgsql.NpgsqlDataSource dataSource)
    {
        using var command = dataSource.CreateCommand(
            "select octet_length(checkpoint::text), coalesce((checkpoint->>'mini_batches')::bigint, 0) from segmentation_model where id = 1");
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt32(0), reader.GetInt64(1)) : (0, 0);
    }

    /// <summary>The profiles group's committed offsets on the canonical topic, read without joining the group.</summary>
    private sealed class CommitProbe(string bootstrapServers, string group, string topic, int partitions) : IDisposable
    {
        private readonly IConsumer<Ignore, Ignore> consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = group,
                ClientId = "bench-commit-probe",
                EnableAutoCommit = false,
            })
            .Build();

        private readonly List<TopicPartition> topicPartitions = [.. Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p))];

        /// <summary>Notes each partition's committed offset with the time the answer came back (an upper bound on when it was committed).</summary>
        public void Poll(CommitTimeline timeline)
        {
            var committed = consumer.Committed(topicPartitions, TimeSpan.FromSeconds(10));
            var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var offset in committed.Where(c => c.Offset != Offset.Unset))
            {
                timeline.Observe(offset.Partition.Value, offset.Offset.Value, at);
            }
        }

        // Never joined the group, so nothing to leave: Dispose only.
        public void Dispose() => consumer.Dispose();
    }
}

/// <summary>The command's settings.</summary>
/// <param name="Rate">Records a second the producer offers in the timed run; 0 for as fast as the lag budget allows.</param>
/// <param name="MaxBacklog">Input events the producer may keep waiting in ingest and profiles together; 0 for no limit but the budget.</param>
/// <param name="Partitions">Partitions of every topic: the partitions per host times <paramref name="Hosts"/>.</param>
/// <param name="Hosts">Hosts sharing the work in this process (one broker, one database).</param>
/// <param name="TrimConsumed">The embedded broker drops what every reader of a topic has consumed (<see cref="ConsumedRecordsTrimmer"/>).</param>
internal sealed record Settings(int Events, int Partitions, int Warmup, int Rate, int MaxBacklog, long BudgetBytes, TimeSpan SampleEvery,
    TimeSpan StallAfter, int Hosts = 1, int InputLingerMs = PacedProducer.DefaultLingerMs, int AllocationTypes = 0, int Statements = 0,
    bool TrimConsumed = false);

/// <summary>
/// One produce-and-drain phase: the stages before it, the samples, seconds from the first produce until every stage had
/// caught up and until the last record was produced, and the peak memory sampled.
/// </summary>
internal sealed record PhaseResult(IReadOnlyList<StageSample> Before, IReadOnlyList<RunSample> Samples, double Seconds,
    double ProducedSeconds, long PeakProcessBytes, long PeakPostgresBytes, ProducerPacing? Pacing = null);

/// <summary>
/// What held or delayed the benchmark's own producer in a phase (see <see cref="Pacer"/>): the lag limit's holds, the
/// schedule time lost with a rate, and the most records let go in one <see cref="Pacer.BurstWindow"/>.
/// </summary>
internal sealed record ProducerPacing(long Holds, TimeSpan Held, TimeSpan LongestHold, long LateRecords, TimeSpan Lost, TimeSpan LongestLoss,
    long PeakPerWindow)
{
    public static ProducerPacing Of(Pacer pacer) => new(pacer.Holds.Count, pacer.Holds.Total, pacer.Holds.Longest, pacer.LostTime.Records,
        pacer.LostTime.Total, pacer.LostTime.Longest, pacer.PeakPerWindow);
}

/// <summary>Everything one pipeline-load run measured.</summary>
internal sealed record PipelineResult(
    Settings Settings, InputSet Inputs, PhaseResult Pipeline, LatencyReport Latency, BaselineResult Baseline,
    double ProcessCpuSeconds, double PostgresCpuSeconds, IReadOnlyDictionary<string, double> ThreadCpuSeconds, IReadOnlyDictionary<string, double> ProfileStageMs,
    IReadOnlyDictionary<string, long> IngestOutcomes, long SegmentationRecords, long SegmentationMiniBatches, long SegmentationCheckpointBytes,
    long MissedRecords, string Machine,
    (double Before, double After, double End) LoadAverage, GcActivity Gc, AllocationSample? Allocations = null, double MachineIdleShare = double.NaN,
    StatementCosts? Statements = null, long? TrimmedRecords = null, JitActivity? Jit = null, (TimeSpan Waited, JitActivity Jit)? Settled = null)
{
    /// <summary>
    /// False when a record went missing (the broker dropped it before it was read, so ingest did not count every input or
    /// the tap saw a gap) or an event's profile update was never seen: the figures are then not of N events.
    /// </summary>
    public bool Valid => MissedRecords == 0 && Latency.Unmatched == 0 && IngestOutcomes.Values.Sum() == Inputs.Count;
}
