using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts.Outputs;
using Streams.Infrastructure.Diagnostics;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;

namespace Streams.IntegrationTests.Ingest;

/// <summary>
/// The host is killed with SIGKILL mid-stream, several times, and started again. The broker lives in this test
/// process, so it survives the kills.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class IngestRestartTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task KilledSeveralTimesMidStream_EveryInputYieldsExactlyOneOutputOfEachKind()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var connectionString = await postgres.CreateDatabaseAsync();
        using var stateFolder = new TemporaryFolder("streams-restart-");
        var stateDirectory = stateFolder.Path;
        // Small batches: many checkpoints, so the kills land before, inside and after them.
        string[] arguments = [.. InProcessHost.Arguments(kafka, topics, connectionString, stateDirectory), "--Ingest:BatchSize=25"];
        var random = new Random(20261129);
        var inputs = Inputs(topics, random, count: 1600, out var intendedDuplicates);
        var chunks = inputs.Chunk(inputs.Count / 5).ToList();
        using var feed = new InputFeed(kafka.BootstrapServers);

        var outputTopics = topics.Catalog.Inputs.Select(t => t + ".quarantine").Append(topics.Names.Canonical).ToList();
        // Where each run dies: inside the window between flushing a batch's outputs and checkpointing it (the one
        // that matters), half-way through producing a batch, right after a checkpoint, and at a random moment.
        string?[] crashes = ["ingest.after-flush@3", "ingest.mid-produce@2", "ingest.after-commit@4", null];
        var kills = 0;
        var recovered = 0;
        foreach (var (chunk, crash) in chunks.SkipLast(1).Zip(crashes))
        {
            var environment = crash is null ? null : new Dictionary<string, string> { [CrashPoints.Variable] = crash };
            await using var host = HostProcess.Start(environment, arguments);
            feed.Send(chunk);
            var before = CountOutputs(outputTopics);
            if (crash is null)
            {
                await WaitForAsync(() => CountOutputs(outputTopics) > before || host.HasExited, Patience);
                await Task.Delay(random.Next(0, 400));
                host.KillHard();
            }

            await host.WaitForExitAsync(Patience);
            Assert.True(crash is null || host.Errors.Contains($"crash point {crash} reached", StringComparison.Ordinal), host.Errors + host.Output);
            recovered += RecoveredOutputs(host.Output);
            kills++;
        }

        await using (var last = HostProcess.Start(arguments: arguments))
        {
            feed.Send(chunks[^1]);
            await WaitForAsync(() => Sources(outputTopics).Count >= feed.Positions.Count, Patience);
            // A little longer: a second copy, if any were coming, would arrive now.
            await Task.Delay(2000);
            last.Interrupt();
            Assert.Equal(0, await last.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            recovered += RecoveredOutputs(last.Output);
        }

        Assert.Equal(4, kills);
        // The restarts did find outputs written past the checkpoint, so the suppression was exercised.
        Assert.True(recovered > 0, "no restart found outputs past its checkpoint");
        var outputs = outputTopics.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t)).ToList();
        var bySource = outputs.Select(r => OutputHeaders.Read(r.Message.Headers)!.Value)
            .GroupBy(o => (o.Source.Topic, o.Source.Partition, o.Source.Offset, o.Kind)).ToList();
        var repeated = bySource.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, $"{repeated.Count} inputs have a second copy of an output, e.g. {string.Join("; ", repeated.Take(5))}");

        var covered = bySource.Select(g => (g.Key.Topic, g.Key.Partition, g.Key.Offset)).ToHashSet();
        var lost = feed.Positions.Where(p => !covered.Contains(p)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} inputs have no output, e.g. {string.Join("; ", lost.Take(5))}");
        Assert.Equal(feed.Positions.Count, covered.Count);

        // A record re-read after a crash is judged as the first time: only the intended duplicates are duplicates.
        var duplicates = outputs.Count(r => OutputHeaders.Read(r.Message.Headers)!.Value.Kind == OutputHeaders.KindQuarantine
            && JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("reasons").EnumerateArray()
                .Any(reason => reason.GetProperty("code").GetString() == "duplicate_event"));
        Assert.Equal(intendedDuplicates, duplicates);
    }

    private static List<(string Topic, string Value)> Inputs(TestTopics topics, Random random, int count, out int intendedDuplicates)
    {
        var inputs = new List<(string Topic, string Value)>();
        intendedDuplicates = 0;
        for (var i = 0; i < count; i++)
        {
            var (topic, value) = (i % 4) switch
            {
                0 => (topics.Names.Clickstream, SampleEvents.Clickstream($"c{i}", $"device-{i % 300}", i % 7 == 0 ? "not-an-email" : $"p{i % 300}@example.com")),
                1 => (topics.Names.Store, SampleEvents.Store($"s{i}", $"L-{i % 300}")),
                2 => (topics.Names.Callcenter, SampleEvents.Callcenter($"k{i}", $"+1 555 010 {i % 300:D4}")),
                _ => (topics.Names.Social, i % 11 == 0 ? "{not json" : SampleEvents.Social($"o{i}", $"@h{i % 300}")),
            };
            inputs.Add((topic, value));
            if (random.Next(100) < 4 && value.StartsWith('{') && !value.StartsWith("{not", StringComparison.Ordinal))
            {
                // The same event sent again by the channel: a genuine duplicate.
                inputs.Add((topic, value));
                intendedDuplicates++;
            }
        }

        return inputs;
    }

    private static int RecoveredOutputs(string log) =>
        System.Text.RegularExpressions.Regex.Matches(log, @"; (\d+) outputs already written past the checkpoints")
            .Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    private int CountOutputs(IReadOnlyList<string> topics) => topics.Sum(t => TopicReader.ReadAll(kafka.BootstrapServers, t).Count);

    private HashSet<(string, int, long)> Sources(IReadOnlyList<string> topics) =>
        topics.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t))
            .Select(r => OutputHeaders.Read(r.Message.Headers)!.Value.Source)
            .Select(s => (s.Topic, s.Partition, s.Offset)).ToHashSet();

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout)
        {
            await Task.Delay(200);
        }
    }
}
