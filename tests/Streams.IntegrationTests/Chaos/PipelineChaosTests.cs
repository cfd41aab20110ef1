using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;
using Streams.IntegrationTests.Pipeline;
using Streams.Simulator;
using Streams.Simulator.Publishing;
using Xunit.Abstractions;

namespace Streams.IntegrationTests.Chaos;

/// <summary>
/// The whole pipeline over simulated traffic in which every reason code is injected, run twice on the same records: once
/// undisturbed, in this process, and once as host processes that are killed with SIGKILL at random points many times,
/// that lose the broker and PostgreSQL for a while, whose requests to the broker fail, and that run as two instances
/// for part of the stream. The broker and PostgreSQL live in this process and outside it, so they survive the kills.
/// Both runs must show the same figures, and the ground truth's.
/// </summary>
/// <remarks>
/// <c>STREAMS_CHAOS_CUSTOMERS</c> (default 250), <c>STREAMS_CHAOS_KILLS</c> (default 20) and <c>STREAMS_CHAOS_SEED</c>
/// (default 14) make it larger or different; the seed of a failing run is in the test output.
/// </remarks>
[Collection(IntegrationCollection.Name)]
public sealed class PipelineChaosTests(KafkaFixture kafka, PostgresFixture postgres, ITestOutputHelper output)
{
    private const int MinSegmentSize = 10;
    private const int MaxRecordBytes = 65536;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(240);

    // Quick retries and a short broker check, so outages show in readiness and are over soon after they end.
    private static readonly string[] PipelineArguments =
    [
        "--Simulator:Enabled=false", $"--Ingest:MaxRecordBytes={MaxRecordBytes}",
        // The records' clock is the test's start; future_timestamp records lie at least 10 minutes past it.
        "--Ingest:MaxClockSkew=00:00:30",
        "--Ingest:BatchSize=200", "--Profiles:BatchSize=200", "--Profiles:MaxBatchWait=00:00:00.050",
        "--Segmentation:K=4", "--Segmentation:SeedSize=100", "--Segmentation:MiniBatchSize=200",
        $"--Segmentation:MinSegmentSize={MinSegmentSize}", "--Segmentation:MaxBatchWait=00:00:00.200",
        "--Ingest:RetryDelay=00:00:00.200", "--Ingest:MaxRetryDelay=00:00:01", "--Profiles:RetryDelay=00:00:00.200",
        "--Profiles:MaxRetryDelay=00:00:01", "--Segmentation:RetryDelay=00:00:00.200", "--Segmentation:MaxRetryDelay=00:00:01",
    ];

    [SkippableFact]
    public async Task KilledAndStarvedThroughOneStream_EndsWithTheFiguresOfTheUninterruptedRun()
    {
        Skip.If(kafka.Embedded is null || postgres.Local is null,
            "needs the embedded broker (fault injection) and the local PostgreSQL cluster (restarts)");
        var settings = ChaosSettings.FromEnvironment();
        output.WriteLine($"chaos: {settings}");
        var clock = Stopwatch.StartNew();
        var (records, truth) = Generate(settings);
        output.WriteLine($"{records.Count} records, {truth.Customers.Count} customers, injected: " +
                         string.Join(", ", truth.InjectedPerCode.Select(c => $"{c.Key} {c.Value}")));
        var checks = new GroundTruthAssertions(kafka.BootstrapServers, MinSegmentSize);

        var reference = await RunUninterruptedAsync(settings, records, truth, checks);
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] uninterrupted run drained");

        var chaos = await RunWithChaosAsync(settings, records, truth, checks, clock);
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] chaos run drained");

        // The figures of each run against the ground truth, then against each other; segments last, so that a segmentation
        // failure does not hide the other figures.
        var consent = new Dictionary<Run, Dictionary<string, bool>>();
        foreach (var run in new[] { reference, chaos })
        {
            output.WriteLine($"checking the {(run == reference ? "uninterrupted" : "chaos")} run, database {run.Db}");
            checks.AssertQuarantineMatchesTruth(run.Topics.Catalog, truth);
            (consent[run], _) = await GroundTruthAssertions.AssertOneProfilePerCustomerAsync(run.Db, truth);
            AssertMergesAnnounced(run);
        }

        Assert.Equal(QuarantineFigures(checks, reference), QuarantineFigures(checks, chaos));
        var (referenceProfiles, chaosProfiles) = (await ProfileFigures(reference.Db, truth), await ProfileFigures(chaos.Db, truth));
        Assert.True(referenceProfiles.Count > truth.Customers.Count / 2, $"only {referenceProfiles.Count} profiles compared");
        AssertSameFigures("profiles", referenceProfiles, chaosProfiles);
        Assert.Equal(await ConsentAudit(reference.Db), await ConsentAudit(chaos.Db));
        // How many merges it took depends on the order events met in (two profiles or one before the bridging event), so
        // merges are compared by their outcome, the profiles above, and by every merge being announced.
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] {referenceProfiles.Count} profiles compared; merges: " +
                         $"{await Database.CountAsync(reference.Db, "select count(*) from profile_merges")} uninterrupted, " +
                         $"{await Database.CountAsync(chaos.Db, "select count(*) from profile_merges")} under chaos");
        foreach (var run in new[] { reference, chaos })
        {
            await checks.AssertConsentingProfilesAreSegmentedAsync(run.Db, run.Topics.Names, consent[run]);
        }
    }

    private sealed record Run(TestTopics Topics, string Db);

    private static (List<SimulatedRecord> Records, GroundTruth Truth) Generate(ChaosSettings settings)
    {
        var simulator = new TrafficSimulator(new SimulatorOptions
        {
            Seed = settings.Seed, Run = 77, Now = DateTimeOffset.UtcNow, Customers = settings.Customers, EventsPerCustomer = 20,
            ConsentRequestRate = 0.1, MalformedJsonRate = 0.004, OversizedRecordRate = 0.002, SchemaViolationRate = 0.004,
            InvalidEmailRate = 0.004, InvalidPhoneRate = 0.004, FutureTimestampRate = 0.004, OutOfRangeRate = 0.004,
            UnknownCurrencyRate = 0.004, TotalMismatchRate = 0.004, DuplicateEventRate = 0.005, FamilySize = 7,
            SharedLoyaltyFamilies = Math.Max(1, settings.Customers / 1000), MaxRecordBytes = MaxRecordBytes,
        });
        var truth = new GroundTruthBuilder(simulator);
        var records = new List<SimulatedRecord>();
        foreach (var record in simulator.Generate())
        {
            records.Add(record);
            truth.Observe(record);
        }

        return (records, truth.Build());
    }

    private async Task<Run> RunUninterruptedAsync(ChaosSettings settings, List<SimulatedRecord> records, GroundTruth truth, GroundTruthAssertions checks)
    {
        var topics = await TestTopics.CreateAsync(kafka, settings.Partitions);
        var groups = KafkaFixture.Unique("calm");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, [.. PipelineArguments, .. GroupArguments(groups)]);
        await Task.Factory.StartNew(() => Publish(topics, groups, records, eventsPerSecond: 0, CancellationToken.None), TaskCreationOptions.LongRunning);
        await checks.WaitForDrainAsync(topics.Catalog, groups, host.ConnectionString, truth.Records, Patience);
        return new Run(topics, host.ConnectionString);
    }

    private async Task<Run> RunWithChaosAsync(
        ChaosSettings settings, List<SimulatedRecord> records, GroundTruth truth, GroundTruthAssertions checks, Stopwatch clock)
    {
        var topics = await TestTopics.CreateAsync(kafka, settings.Partitions);
        var groups = KafkaFixture.Unique("chaos");
        var db = await postgres.CreateDatabaseAsync();
        var random = new Random(settings.Seed);
        var cluster = kafka.Embedded!;
        var plan = ChaosPlan.Create(settings.Kills, random);
        output.WriteLine($"plan: {plan}");
        string[] arguments =
        [
            .. InProcessHost.Arguments(kafka, topics, db, "unused").Where(a => !a.StartsWith("--Streams:StateDir=", StringComparison.Ordinal)),
            .. PipelineArguments, .. GroupArguments(groups), "--Health:CheckTimeout=00:00:01",
        ];

        await using var health = new HealthWatch();
        var hosts = new List<(string Name, HostProcess Process)>();
        var started = 0;
        var kills = 0;
        using var stopPublishing = new CancellationTokenSource();
        // The stream is paced to last about as long as the planned chaos, so the faults land all along it.
        var publishing = Task.Factory.StartNew(() => Publish(topics, groups, records, records.Count / plan.ExpectedDuration.TotalSeconds, stopPublishing.Token),
            TaskCreationOptions.LongRunning);
        try
        {
            foreach (var episode in plan.Episodes)
            {
                var running = Enumerable.Range(0, episode.Instances).Select(_ => StartHost()).ToList();
                var first = running[0];
                switch (episode.Fault)
                {
                    case Fault.BrokerDown:
                        await OutageAsync(first, "kafka", () => cluster.BrokerDown(1), () => cluster.BrokerUp(1));
                        break;
                    case Fault.PostgresRestart:
                        await OutageAsync(first, "postgres", () => postgres.Local!.StopAsync().GetAwaiter().GetResult(),
                            () => postgres.Local!.RestartAsync().GetAwaiter().GetResult());
                        break;
                    case Fault.RequestErrors:
                        await WaitReadyAsync(first);
                        // Produce gets only errors that say the batch was not written. The embedded broker checks no
                        // sequence numbers of an idempotent producer without a transactional id (rd_kafka_mock_validate_records),
                        // so a "possibly persisted" error (RequestTimedOut) on one of several requests in flight is not
                        // resolved as a real broker would: once the test's own inputs came out one record short while
                        // every delivery report had succeeded, a loss of the broker's, not the pipeline's.
                        cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.NotEnoughReplicas, ErrorCode.NotLeaderForPartition, ErrorCode.NotEnoughReplicas);
                        cluster.PushRequestErrors(KafkaApiKey.Fetch, ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);
                        cluster.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.NotCoordinatorForGroup, ErrorCode.RequestTimedOut, ErrorCode.GroupCoordinatorNotAvailable);
                        break;
                    case Fault.None when episode.AfterReady:
                        await WaitReadyAsync(first);
                        break;
                }

                // Each instance dies at its own random moment of the episode.
                var since = Stopwatch.StartNew();
                foreach (var (delay, host) in episode.KillAfter.Zip(running).OrderBy(k => k.First))
                {
                    var wait = delay - since.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }

                    if (host.Process.HasExited)
                    {
                        Assert.Fail($"{host.Name} exited by itself ({host.Process.ExitCode}): {Tail(host.Process)}");
                    }

                    host.Process.KillHard();
                    await host.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
                    health.Forget(host.Name);
                    kills++;
                }

                output.WriteLine($"[{clock.Elapsed:mm\\:ss}] {episode}: {kills} kills so far");
            }

            // The last host runs undisturbed until everything is through.
            var last = StartHost();
            await publishing;
            RestoreLostInputs(topics, records);
            await checks.WaitForDrainAsync(topics.Catalog, groups, db, truth.Records, Patience);
            Assert.True(await health.WaitForAsync(last.Name, HealthWatch.Ready, HttpStatusCode.OK, TimeSpan.FromSeconds(30)), "the last host never became ready");
            // Not ready, not live while it stops: that is a stop, not a flap.
            health.Forget(last.Name);
            last.Process.Interrupt();
            Assert.Equal(0, await last.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        catch
        {
            await stopPublishing.CancelAsync();
            foreach (var (name, process) in hosts.Where(h => !h.Process.HasExited))
            {
                output.WriteLine($"{name}: {Tail(process)}");
                output.WriteLine($"{name} health: {health.Answers.LastOrDefault(a => a.Host == name && a.Path == HealthWatch.Ready)}");
            }

            throw;
        }
        finally
        {
            foreach (var (_, process) in hosts)
            {
                await process.DisposeAsync();
            }
        }

        output.WriteLine($"{started} hosts started, {kills} killed with SIGKILL; {health.Answers.Count} health answers");
        Assert.True(kills >= settings.Kills, $"only {kills} kills");
        var flaps = health.LiveFlaps.ToList();
        Assert.True(flaps.Count == 0, $"liveness flapped {flaps.Count} times, first: {flaps.FirstOrDefault()}");
        return new Run(topics, db);

        (string Name, HostProcess Process) StartHost()
        {
            var name = $"host-{++started}";
            var port = InProcessHost.FreePort();
            var process = HostProcess.Start(environment: null, [.. arguments, $"--Health:Port={port}"]);
            hosts.Add((name, process));
            health.Watch(name, port);
            return (name, process);
        }

        async Task WaitReadyAsync((string Name, HostProcess Process) host) =>
            Assert.True(await health.WaitForAsync(host.Name, HealthWatch.Ready, HttpStatusCode.OK, Patience, () => host.Process.HasExited),
                $"{host.Name} never became ready: {Tail(host.Process)}");

        // Readiness drops while a dependency is away and comes back once it returns; liveness is watched throughout.
        async Task OutageAsync((string Name, HostProcess Process) host, string check, Action down, Action up)
        {
            await WaitReadyAsync(host);
            down();
            bool dropped;
            try
            {
                dropped = await health.WaitForAsync(host.Name, HealthWatch.Ready, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            finally
            {
                up();
            }

            Assert.True(dropped, $"{host.Name}: readiness did not drop while {check} was away");
            var notReady = health.Answers.LastOrDefault(a => a.Host == host.Name && a.Path == HealthWatch.Ready && a.Status == HttpStatusCode.ServiceUnavailable);
            Assert.True(notReady is not null && notReady.Body.Contains($"\"{check}\"", StringComparison.Ordinal), $"readiness while {check} was away: {notReady}");
            await WaitReadyAsync(host);
        }
    }

    /// <summary>Sends the records to a run's input topics as the simulator does, paced on the run's consumer groups.</summary>
    private void Publish(TestTopics topics, string groups, List<SimulatedRecord> records, double eventsPerSecond, CancellationToken cancellationToken)
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var options = new SimulatorRunOptions { EventsPerSecond = eventsPerSecond, StallTimeout = TimeSpan.FromMinutes(10) };
        DownstreamStage[] downstream =
            [new($"{groups}-profiles", [topics.Names.Canonical]), new($"{groups}-segmentation", [topics.Names.Profiles])];
        using var publisher = new SimulatorPublisher(kafka.BootstrapServers, topics.Catalog, $"{groups}-ingest", options, MaxRecordBytes,
            failOnStall: false, downstream, new SimulatorMetrics(services.GetRequiredService<IMeterFactory>()), TimeProvider.System, NullLogger.Instance);
        foreach (var record in records)
        {
            publisher.Publish(record, cancellationToken);
        }

        while (!publisher.Flush(TimeSpan.FromSeconds(1)) && publisher.Delivered + publisher.Failed < publisher.Sent)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        Assert.Equal(0, publisher.Failed);
        Assert.Equal(records.Count, publisher.Delivered);
    }

    /// <summary>
    /// Sends again the inputs the embedded broker acknowledged and then did not keep. Its request faults and outages
    /// are not resolved as a real broker would (it checks no idempotent producer's sequence numbers), and about once in
    /// a few dozen runs one of the test's own inputs was missing from its topic although its delivery report had
    /// succeeded. The pipeline cannot read what is not there, so that input is what a producer checking its topic would
    /// send again: late, as an input can always be. Anything else the broker does to the stream stays in the figures.
    /// </summary>
    private void RestoreLostInputs(TestTopics topics, List<SimulatedRecord> records)
    {
        var names = GroundTruthAssertions.ContractToConfigured(topics.Names);
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var input in topics.Catalog.Inputs)
        {
            foreach (var r in ReadInput(input))
            {
                var id = InputId(input, Encoding.UTF8.GetString(r.Message.Key ?? []), Encoding.UTF8.GetString(r.Message.Value ?? []));
                held[id] = held.GetValueOrDefault(id) + 1;
            }
        }

        var lost = new List<SimulatedRecord>();
        foreach (var record in records)
        {
            var id = InputId(names[record.Topic], record.EventId, record.Value);
            if (held.GetValueOrDefault(id) > 0)
            {
                held[id]--;
            }
            else
            {
                lost.Add(record);
            }
        }

        output.WriteLine($"inputs the broker did not keep: {lost.Count}; held more than once: {held.Values.Count(v => v > 0)}");
        if (lost.Count == 0)
        {
            return;
        }

        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true })
            .Build();
        foreach (var record in lost)
        {
            output.WriteLine($"sending again {record.EventId} to {names[record.Topic]}");
            producer.Produce(names[record.Topic],
                new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(record.EventId), Value = Encoding.UTF8.GetBytes(record.Value) });
        }

        Assert.Equal(0, producer.Flush(Patience));

        static string InputId(string topic, string key, string value) => $"{topic}\n{key}\n{value}";

        // A request fault injected for the hosts can still be queued when the episodes end, and fails a fetch of this read.
        List<ConsumeResult<byte[]?, byte[]?>> ReadInput(string input)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return TopicReader.ReadAll(kafka.BootstrapServers, input);
                }
                catch (ConsumeException e) when (attempt < 5)
                {
                    output.WriteLine($"reading {input} again after {e.Error.Reason}");
                }
            }
        }
    }

    private static string[] GroupArguments(string groups) =>
        [$"--Ingest:GroupId={groups}-ingest", $"--Profiles:GroupId={groups}-profiles", $"--Segmentation:GroupId={groups}-segmentation"];

    /// <summary>Every quarantine figure: topic, event id, code, disposition (which sale is the one past the cap depends on order).</summary>
    private static List<string> QuarantineFigures(GroundTruthAssertions checks, Run run)
    {
        var contract = GroundTruthAssertions.ContractToConfigured(run.Topics.Names).ToDictionary(n => n.Value, n => n.Key, StringComparer.Ordinal);
        return checks.ReadQuarantine(run.Topics.Catalog)
            .SelectMany(q => GroundTruthAssertions.Codes(q.Json).Select(code =>
                $"{contract[q.Input]}|{(code == "identity_conflict" ? "-" : q.Json.GetProperty("event_id").GetString())}|{code}|" +
                q.Json.GetProperty("disposition").GetString()))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Each profile of a customer whose profile cannot depend on the order records meet in (not in a family sharing a card,
    /// not erased) by its identifiers: when it was first and last seen and its event counts, and its consent flag unless
    /// the customer sent a consent request (which may overtake their events on another partition, in any run).
    /// </summary>
    private static async Task<Dictionary<string, string>> ProfileFigures(string db, GroundTruth truth)
    {
        var consenting = truth.Consents.GroupBy(c => c.CustomerId).ToDictionary(g => g.Key, g => g.Select(c => c.Action).ToList());
        var comparable = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var customer in truth.Customers.Where(c => c.FamilyId is null))
        {
            var actions = consenting.GetValueOrDefault(customer.CustomerId) ?? [];
            if (!actions.Contains("erase"))
            {
                foreach (var identifier in customer.Identifiers)
                {
                    comparable[GroundTruthAssertions.Pseudonym(identifier)] = actions.Count == 0;
                }
            }
        }

        var figures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in await Database.RowsAsync(db,
                     "select pseudonyms, first_seen, last_seen, aggregate->'event_counts', personalization_allowed from profiles"))
        {
            var pseudonyms = (string[])row[0]!;
            if (pseudonyms.Length == 0 || !pseudonyms.All(comparable.ContainsKey))
            {
                continue;
            }

            var flag = pseudonyms.All(p => comparable[p]) ? row[4]!.ToString() : "-";
            figures[string.Join(',', pseudonyms.Order(StringComparer.Ordinal))] = string.Create(CultureInfo.InvariantCulture,
                $"{(DateTime)row[1]!:O} {(DateTime)row[2]!:O} {row[3]} {flag}");
        }

        return figures;
    }

    private static void AssertSameFigures(string what, Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        var different = expected.Keys.Intersect(actual.Keys).Where(k => expected[k] != actual[k]).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && different.Count == 0,
            $"{what}: {missing.Count} missing, {extra.Count} extra, {different.Count} different; e.g. " +
            string.Join("; ", different.Take(3).Select(k => $"{expected[k]} became {actual[k]}")));
    }

    private static async Task<List<string>> ConsentAudit(string db) =>
        (await Database.RowsAsync(db, "select event_id, action, identifier_type, requested_at from consent_audit"))
        .Select(r => string.Join('|', r)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Every merge in the table was announced on <c>profile-merges</c> (the outbox survived the crashes).</summary>
    private void AssertMergesAnnounced(Run run)
    {
        var announced = TopicReader.ReadAll(kafka.BootstrapServers, run.Topics.Names.ProfileMerges)
            .Select(r => Encoding.UTF8.GetString(r.Message.Key!)).ToHashSet(StringComparer.Ordinal);
        var merges = Database.RowsAsync(run.Db, "select absorbed from profile_merges").GetAwaiter().GetResult().Select(r => (string)r[0]!).ToList();
        Assert.All(merges, m => Assert.Contains(m, announced));
        var live = Database.RowsAsync(run.Db, "select profile_id from profiles").GetAwaiter().GetResult().Select(r => (string)r[0]!).ToHashSet(StringComparer.Ordinal);
        Assert.All(merges, m => Assert.DoesNotContain(m, live));
    }

    private static string Tail(HostProcess process)
    {
        // The failing readiness checks of a starting host are logged as failures; they say nothing here.
        var text = process.Errors + string.Join('\n', process.Output.Split('\n').Where(l => !l.Contains("HealthChecks", StringComparison.Ordinal)));
        return text.Length > 4000 ? text[^4000..] : text;
    }
}
