using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Streams.Contracts.Outputs;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;

namespace Streams.IntegrationTests.Ingest;

/// <summary>
/// What ingest keeps in PostgreSQL is bounded by a batch, not by history: every assigned partition has a checkpoint,
/// so a restart scans only outputs past recent marks, and de-duplication runs on ingest's clock.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class IngestCheckpointTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Restart_AfterTrafficOnOnePartition_ScansNoOutputHistory_AndEveryPartitionHasACheckpoint()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        const int count = 300;
        string connectionString;
        await using (var first = await InProcessHost.StartAsync(kafka, postgres, topics))
        {
            connectionString = first.ConnectionString;
            using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
            for (var i = 0; i < count; i++)
            {
                // Stamped ten years ahead by a producer with a wrong clock: the window runs on ingest's clock anyway.
                producer.Produce(new TopicPartition(topics.Names.Store, 0), new Message<Null, string>
                {
                    Value = SampleEvents.Store($"s-{i}", loyaltyId: $"L-{i}"),
                    Timestamp = new Timestamp(DateTime.UtcNow.AddYears(10)),
                });
            }

            producer.Flush(Patience);
            var worker = first.Get<IngestWorker>();
            await WaitUntilAsync(() => worker.RecordsCommitted >= count);
        }

        // Every partition of every input topic, not only the one that had traffic.
        var partitions = topics.Catalog.Inputs.Count * 2;
        Assert.Equal(partitions, await Database.CountAsync(connectionString, $"select count(*) from consumer_offsets where consumer = '{IngestWorker.Consumer}'"));
        Assert.Equal(partitions, await Database.CountAsync(connectionString, "select count(*) from ingest_output_marks"));
        var outputPartitions = (topics.Catalog.Inputs.Count + 1) * 2;
        Assert.Equal(0, await Database.CountAsync(connectionString,
            $"select count(*) from ingest_output_marks where (select count(*) from json_object_keys(output_marks)) < {outputPartitions}"));
        Assert.Equal(0, await Database.CountAsync(connectionString,
            "select count(*) from ingest_seen_events where seen_at > now() + interval '5 minutes'"));
        Assert.Equal(count, await Database.CountAsync(connectionString, "select count(*) from ingest_seen_events"));

        await using var second = await InProcessHost.StartAsync(kafka, postgres, topics, $"--ConnectionStrings:Profiles={connectionString}");
        await WaitUntilAsync(() => second.Logs.Lines.Any(l => l.Contains("Ingest assigned", StringComparison.Ordinal)));

        // The clean stop left nothing past the checkpoints, so there is nothing to read; an assigned partition
        // without a checkpoint would have sent the scan to the start of the canonical topic (300 records).
        var scanned = second.Logs.Lines.Select(l => ScanLine().Match(l)).Where(m => m.Success)
            .Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Equal(0, scanned);
    }

    [Fact]
    public async Task CrashAfterTheFirstBatchIsOnTheBroker_BeforeAnyCheckpoint_RestartWritesNothingTwice()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var connectionString = await postgres.CreateDatabaseAsync();
        using var stateFolder = new TemporaryFolder("streams-first-batch-");
        var stateDirectory = stateFolder.Path;
        string[] arguments = [.. InProcessHost.Arguments(kafka, topics, connectionString, stateDirectory), "--Ingest:BatchSize=50"];
        using var feed = new InputFeed(kafka.BootstrapServers);
        var inputs = Enumerable.Range(0, 200).Select(i => i % 2 == 0
            ? (topics.Names.Store, SampleEvents.Store($"s-{i}", loyaltyId: $"L-{i}"))
            : (topics.Names.Social, i % 5 == 0 ? "{not json" : SampleEvents.Social($"o-{i}", $"@h{i}"))).ToList();
        var outputTopics = topics.Catalog.Inputs.Select(t => t + ".quarantine").Append(topics.Names.Canonical).ToList();

        // The partitions have never been read: the only thing that lets the restart find the first batch's outputs
        // is the checkpoint each partition got before its first record.
        feed.Send(inputs);
        await using (var crashing = HostProcess.Start(
            new Dictionary<string, string> { [Streams.Infrastructure.Diagnostics.CrashPoints.Variable] = "ingest.after-flush@1" }, arguments))
        {
            await crashing.WaitForExitAsync(Patience);
            Assert.Contains("crash point ingest.after-flush@1 reached", crashing.Errors, StringComparison.Ordinal);
        }

        Assert.True(outputTopics.Sum(t => TopicReader.ReadAll(kafka.BootstrapServers, t).Count) > 0, "the crash came before any output");
        await using (var restarted = HostProcess.Start(arguments: arguments))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Sources(outputTopics).Count < feed.Positions.Count && clock.Elapsed < Patience)
            {
                await Task.Delay(200);
            }

            // A second copy, if one were coming, would arrive now.
            await Task.Delay(2000);
            restarted.Interrupt();
            await restarted.WaitForExitAsync(Patience);
        }

        var outputs = outputTopics.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t))
            .Select(r => OutputHeaders.Read(r.Message.Headers)!.Value)
            .GroupBy(o => (o.Source.Topic, o.Source.Partition, o.Source.Offset, o.Kind)).ToList();
        var repeated = outputs.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, $"{repeated.Count} inputs have a second copy of an output, e.g. {string.Join("; ", repeated.Take(3))}");
        Assert.Equal(feed.Positions.Count, outputs.Select(g => (g.Key.Topic, g.Key.Partition, g.Key.Offset)).Distinct().Count());
    }

    [Fact]
    public async Task ForgedOutputNamingARecordNotYetRead_IsNotTakenForIngestsOwn_AfterARestart()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        string connectionString;
        await using (var first = await InProcessHost.StartAsync(kafka, postgres, topics, "--only", "ingest"))
        {
            connectionString = first.ConnectionString;
            await WaitUntilAsync(() => first.Logs.Lines.Any(l => l.Contains("Ingest assigned", StringComparison.Ordinal)));
        }

        // Someone else writes to the canonical topic a record with ingest's headers, naming store/0/0, which ingest has
        // not read yet: the restart's recovery scan meets it past the recorded marks.
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            producer.Produce(topics.Names.Canonical, new Message<Null, byte[]>
            {
                Value = "{}"u8.ToArray(),
                Headers = OutputHeaders.For(new Streams.Contracts.SourcePosition(topics.Names.Store, 0, 0), OutputHeaders.KindEvent),
            });
            producer.Flush(Patience);
        }

        using var feed = new InputFeed(kafka.BootstrapServers);
        feed.Send([(topics.Names.Store, SampleEvents.Store("real-0", loyaltyId: "L-real-0"))]);
        await using var second = await InProcessHost.StartAsync(kafka, postgres, topics, $"--ConnectionStrings:Profiles={connectionString}", "--only", "ingest");
        var worker = second.Get<IngestWorker>();
        await WaitUntilAsync(() => worker.RecordsCommitted >= 1);

        // Unsealed, the forged record is not ingest's: the real record is written, not skipped as written already.
        var canonical = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical)
            .Select(r => System.Text.Encoding.UTF8.GetString(r.Message.Value ?? [])).ToList();
        Assert.Contains(canonical, c => c.Contains("real-0", StringComparison.Ordinal));
    }

    private HashSet<(string, int, long)> Sources(IReadOnlyList<string> topics) =>
        topics.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t))
            .Select(r => OutputHeaders.Read(r.Message.Headers)!.Value.Source)
            .Select(s => (s.Topic, s.Partition, s.Offset)).ToHashSet();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "timed out");
    }

    [GeneratedRegex(@"Recovery scan read (\d+) output records")]
    private static partial Regex ScanLine();
}
