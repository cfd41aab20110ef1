using System.Diagnostics;
using Confluent.Kafka;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest.Worker;
using Xunit.Abstractions;

namespace Streams.IntegrationTests.Host;

/// <summary>
/// SIGTERM (what a container runtime or systemd sends) in the middle of a stream: every worker finishes or abandons its
/// batch, the host exits 0, and the next run leaves every input counted exactly once. The broker lives in this process.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class GracefulShutdownTests(KafkaFixture kafka, PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task SigtermMidStream_ExitsZeroWithEveryLoopEnded_AndAfterARestartEveryInputIsCountedOnce()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var connectionString = await postgres.CreateDatabaseAsync();
        var stateDirectory = Path.Combine(Path.GetTempPath(), "streams-sigterm-" + Guid.NewGuid().ToString("N")[..8]);
        // Small batches, so SIGTERM lands among many commits rather than between two big ones.
        string[] arguments =
        [
            .. InProcessHost.Arguments(kafka, topics, connectionString, stateDirectory), "--Ingest:BatchSize=40",
            "--Profiles:BatchSize=40", "--Profiles:MaxBatchWait=00:00:00.020", "--Segmentation:MiniBatchSize=40",
        ];
        var chunks = Inputs(topics, count: 3000).Chunk(100).ToList();
        var positions = new List<(string Topic, int Partition, long Offset)>();
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, LingerMs = 2 }).Build();
        void Produce(IEnumerable<(string Topic, string Value)> chunk)
        {
            foreach (var (topic, value) in chunk)
            {
                producer.Produce(topic, new Message<Null, string> { Value = value }, report =>
                {
                    lock (positions)
                    {
                        positions.Add((report.Topic, report.Partition.Value, report.Offset.Value));
                    }
                });
            }

            Assert.Equal(0, producer.Flush(Patience));
        }

        var sent = 0;
        Task sending;
        await using (var first = HostProcess.Start(arguments: arguments))
        {
            Produce(chunks[0]);
            await WaitUntilAsync(() => ProfilesOffset(connectionString) > 0, first);
            // The rest of the stream keeps coming while the host is told to stop, and after it has.
            sending = Task.Run(async () =>
            {
                foreach (var chunk in chunks.Skip(1))
                {
                    Produce(chunk);
                    Interlocked.Increment(ref sent);
                    await Task.Delay(40);
                }
            });
            await WaitUntilAsync(() => Volatile.Read(ref sent) >= 5, first);

            var clock = Stopwatch.StartNew();
            first.Terminate();
            var exit = await first.WaitForExitAsync(Patience);
            output.WriteLine($"SIGTERM to exit: {clock.Elapsed.TotalSeconds:0.00} s, with {Volatile.Read(ref sent) + 1} of {chunks.Count} chunks sent");
            Assert.True(exit == 0, $"exit code {exit}: {first.Errors}\n{first.Output}");
            Assert.False(sending.IsCompleted, "the stream should still have been coming when the host stopped");
            // Each loop ended by itself: none was abandoned by the host's shutdown timeout.
            Assert.All(["Ingest", "Profiles", "Segmentation"],
                worker => Assert.Contains($"{worker} loop ended", first.Output, StringComparison.Ordinal));
            Assert.DoesNotContain("session failed", first.Output, StringComparison.Ordinal);
        }

        await sending;
        var canonical = topics.Names.Canonical;
        await using (var second = HostProcess.Start(arguments: arguments))
        {
            await WaitUntilAsync(() => ProfilesOffset(connectionString) >= positions.Count
                && SegmentationOffset(connectionString) >= TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles).Count, second);
            second.Terminate();
            Assert.Equal(0, await second.WaitForExitAsync(Patience));
        }

        // Ingest: one canonical event per input, none twice, none missing.
        var bySource = TopicReader.ReadAll(kafka.BootstrapServers, canonical)
            .Select(r => OutputHeaders.Read(r.Message.Headers)!.Value.Source)
            .GroupBy(s => (s.Topic, s.Partition, s.Offset)).ToList();
        var twice = bySource.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} inputs have two canonical events, e.g. {string.Join("; ", twice.Take(5))}");
        Assert.Equal(positions.Order().ToList(), bySource.Select(g => g.Key).Order().ToList());

        // Profiles: every canonical event counted in exactly one profile, once.
        Assert.Equal(positions.Count, await Database.CountAsync(connectionString,
            "select coalesce(sum((aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint + " +
            "(aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint), 0) from profiles"));
    }

    // Clean events on the four channels: each yields exactly one canonical event and no quarantine record.
    private static List<(string Topic, string Value)> Inputs(TestTopics topics, int count) =>
    [
        .. Enumerable.Range(0, count).Select(i => (i % 4) switch
        {
            0 => (topics.Names.Clickstream, SampleEvents.Clickstream($"c{i}", $"device-{i % 400}", $"p{i % 400}@example.com")),
            1 => (topics.Names.Store, SampleEvents.Store($"s{i}", $"L-{i % 400}")),
            2 => (topics.Names.Callcenter, SampleEvents.Callcenter($"k{i}", $"+1 555 010 {i % 400:D4}")),
            _ => (topics.Names.Social, SampleEvents.Social($"o{i}", $"@h{i % 400}")),
        }),
    ];

    private static long ProfilesOffset(string connectionString) => Offset(connectionString, "profiles");

    private static long SegmentationOffset(string connectionString) => Offset(connectionString, "segmentation");

    private static long Offset(string connectionString, string consumer)
    {
        try
        {
            return Database.CountAsync(connectionString,
                $"select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = '{consumer}'").GetAwaiter().GetResult();
        }
        catch (Npgsql.PostgresException)
        {
            // Before the host has created the tables.
            return 0;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, HostProcess host)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.False(host.HasExited, $"the host exited with {(host.HasExited ? host.ExitCode : 0)}: {host.Errors}\n{host.Output}");
            Assert.True(clock.Elapsed < Patience, $"gave up waiting: {host.Errors}\n{host.Output}");
            await Task.Delay(200);
        }
    }
}
