using System.Text;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;
using Streams.IntegrationTests.Fixtures;
using Streams.Simulator;

namespace Streams.IntegrationTests.Simulator;

/// <summary><c>Streams.Host simulate</c> against the run's broker, as a child process.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SimulateCommandTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Simulate_WritesEveryRecordKeyedByEventId_AndTheGroundTruth_AndPrintsASummary()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        using var stateFolder = new TemporaryFolder("streams-sim-");
        var state = stateFolder.Path;
        var (exit, output, errors) = await HostCommand.RunAsync(["simulate", .. topics.HostArguments, $"--Kafka:BootstrapServers={kafka.BootstrapServers}",
            $"--Streams:StateDir={state}", "--Simulator:Customers=40", "--Simulator:Seed=9", "--Simulator:Run=7", "--Simulator:DuplicateEventRate=0.05"]);
        Assert.True(exit == 0, errors + output);

        var truth = GroundTruthWriter.Read(Path.Combine(state, "ground-truth.json"))!;
        Assert.Contains($"Simulated {truth.Records:N0} records for 40 customers (run 7, seed 9, 1 wave)", output, StringComparison.Ordinal);
        var records = topics.Catalog.Inputs.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t)).ToList();
        Assert.Equal(truth.Records, records.Count);
        Assert.All(records, r => Assert.StartsWith("r0007-", Encoding.UTF8.GetString(r.Message.Key!), StringComparison.Ordinal));
        // Keys are event ids: unique but for the duplicates, which repeat an earlier record whole.
        var duplicates = truth.InjectedPerCode.GetValueOrDefault(ReasonCodes.DuplicateEvent);
        Assert.True(duplicates > 0);
        Assert.Equal(records.Count - duplicates, records.Select(r => Encoding.UTF8.GetString(r.Message.Key!)).Distinct().Count());
    }

    [Fact]
    public async Task Simulate_WhenIngestDoesNotConsume_KeepsEveryPartitionWithinTheBound_AndGivesUpWithAReason()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        const int bound = 64 * 1024;
        using var state = new TemporaryFolder("streams-sim-");
        var (exit, output, errors) = await HostCommand.RunAsync(["simulate", .. topics.HostArguments, $"--Kafka:BootstrapServers={kafka.BootstrapServers}",
            $"--Streams:StateDir={state.Path}", "--Simulator:Customers=100", $"--Simulator:MaxBytesAhead={bound}",
            "--Simulator:StallTimeout=00:00:02", $"--Ingest:GroupId={KafkaFixture.Unique("nobody")}", "--Simulator:OversizedRecordRate=0"]);

        Assert.True(exit == 1, $"exit {exit}: {errors}{output}");
        Assert.Contains("made no progress for 2 s", errors, StringComparison.Ordinal);
        var perPartition = topics.Catalog.Inputs.SelectMany(t => TopicReader.ReadAll(kafka.BootstrapServers, t))
            .GroupBy(r => r.TopicPartition).Select(g => g.Sum(r => (long)r.Message.Key!.Length + r.Message.Value!.Length)).ToList();
        Assert.NotEmpty(perPartition);
        Assert.All(perPartition, bytes => Assert.InRange(bytes, 1, bound));
        // It stopped at the bound, not before: at least one partition is close to it.
        Assert.True(perPartition.Max() > bound / 2, $"largest partition {perPartition.Max()} bytes");
    }

    [Theory]
    [InlineData("No broker: set Kafka:BootstrapServers")]
    [InlineData("Simulator:Customers must be at least 1.", "--Kafka:BootstrapServers=127.0.0.1:1", "--Simulator:Customers=0")]
    [InlineData("Simulator:EventsPerSecond", "--Kafka:BootstrapServers=127.0.0.1:1", "--Simulator:EventsPerSecond=fast")]
    [InlineData("did not answer", "--Kafka:BootstrapServers=127.0.0.1:1")]
    public async Task Simulate_WithNoBrokerKnown_OrABadValue_ExitsWithAOneLineConfigurationError(string reason, params string[] arguments)
    {
        using var state = new TemporaryFolder("streams-sim-");
        var (exit, output, errors) = await HostCommand.RunAsync(["simulate", $"--Streams:StateDir={state.Path}", .. arguments]);
        Assert.True(exit == 2, $"exit {exit}: {errors}{output}");
        Assert.Contains(reason, errors, StringComparison.Ordinal);
        Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Host_WithABadSimulatorValue_ExitsWithAConfigurationError_BeforeStarting()
    {
        using var state = new TemporaryFolder("streams-sim-");
        var (exit, output, errors) = await HostCommand.RunAsync($"--Streams:StateDir={state.Path}", "--Simulator:MaxBytesAhead=5");
        Assert.True(exit == 2, $"exit {exit}: {errors}{output}");
        Assert.Contains("Simulator:MaxBytesAhead must be 1024 bytes to 1 TiB.", errors, StringComparison.Ordinal);
    }
}
