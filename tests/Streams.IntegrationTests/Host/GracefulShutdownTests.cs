using System.Diagnostics;
using Streams.Contracts.Outputs;
using Streams.Infrastructure.Diagnostics;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
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

    /// <summary>
    /// <paramref name="stopPoint"/> null: SIGTERM from outside once batches are being committed. Otherwise the host
    /// sends itself SIGTERM at that point (its n-th time there, after the first batch has gone through): half-way
    /// through producing an ingest batch, or inside a profiles transaction about to commit while the next batch is
    /// read ahead. (Segmentation commits synchronously and checks for stop only between mini-batches; the first case
    /// covers it, and each case costs half a minute of host start-up.)
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("ingest.mid-produce@6")]
    [InlineData("profiles.before-commit@6")]
    public async Task SigtermMidStream_ExitsZeroWithEveryLoopEnded_AndAfterARestartEveryInputIsCountedOnce(string? stopPoint)
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var connectionString = await postgres.CreateDatabaseAsync();
        using var stateFolder = new TemporaryFolder("streams-sigterm-");
        var stateDirectory = stateFolder.Path;
        var arguments = InProcessHost.Arguments(kafka, topics, connectionString, stateDirectory);
        // Small batches in the first run, so SIGTERM lands among many commits rather than between two big ones.
        string[] smallBatches =
        [
            .. arguments, "--Ingest:BatchSize=40", "--Profiles:BatchSize=40", "--Profiles:MaxBatchWait=00:00:00.020",
            "--Segmentation:MiniBatchSize=40",
        ];
        var inputs = Inputs(topics, count: 2000);
        // A first batch's worth to see the workers commit, then the rest of the stream in chunks.
        List<(string Topic, string Value)[]> chunks = [[.. inputs.Take(40)], .. inputs.Skip(40).Chunk(100)];
        using var feed = new InputFeed(kafka.BootstrapServers);
        var sent = 0;
        Task sending;
        var environment = stopPoint is null ? null : new Dictionary<string, string> { [CrashPoints.StopVariable] = stopPoint };
        await using (var first = HostProcess.Start(environment, smallBatches))
        {
            var started = Stopwatch.StartNew();
            feed.Send(chunks[0]);
            await WaitUntilAsync(() => ProfilesOffset(connectionString) > 0, first);
            output.WriteLine($"first batch committed after {started.Elapsed.TotalSeconds:0.0} s");

            // The rest of the stream keeps coming while the host stops, and after it has.
            sending = Task.Run(async () =>
            {
                foreach (var chunk in chunks.Skip(1))
                {
                    feed.Send(chunk);
                    Interlocked.Increment(ref sent);
                    await Task.Delay(100);
                }
            });
            var clock = Stopwatch.StartNew();
            if (stopPoint is null)
            {
                await WaitUntilAsync(() => Volatile.Read(ref sent) >= 5, first);
                clock.Restart();
                first.Terminate();
            }

            var exit = await first.WaitForExitAsync(Patience);
            output.WriteLine($"{stopPoint ?? "SIGTERM"} to exit: {clock.Elapsed.TotalSeconds:0.00} s, {Volatile.Read(ref sent) + 1} of {chunks.Count} chunks sent");
            Assert.True(exit == 0, $"exit code {exit}: {first.Errors}\n{first.Output}");
            Assert.True(stopPoint is null || first.Errors.Contains($"stop point {stopPoint} reached", StringComparison.Ordinal), first.Errors);
            Assert.True(ProfilesOffset(connectionString) < inputs.Count, "the host should have stopped with part of the stream still to do");
            // Each loop ended by itself: none was abandoned by the host's shutdown timeout.
            Assert.All(["Ingest", "Profiles", "Segmentation"],
                worker => Assert.Contains($"{worker} loop ended", first.Output, StringComparison.Ordinal));
            Assert.DoesNotContain("session failed", first.Output, StringComparison.Ordinal);
        }

        await sending;
        var positions = feed.Positions;
        await using (var second = HostProcess.Start(arguments: arguments))
        {
            var catchingUp = Stopwatch.StartNew();
            await WaitUntilAsync(() => ProfilesOffset(connectionString) >= positions.Count, second);
            output.WriteLine($"profiles caught up after {catchingUp.Elapsed.TotalSeconds:0.0} s");
            await WaitUntilAsync(() => SegmentationOffset(connectionString) >= TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles).Count, second);
            output.WriteLine($"segmentation caught up after {catchingUp.Elapsed.TotalSeconds:0.0} s");
            second.Terminate();
            Assert.Equal(0, await second.WaitForExitAsync(Patience));
        }

        // Ingest: one canonical event per input, none twice, none missing.
        var bySource = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical)
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
