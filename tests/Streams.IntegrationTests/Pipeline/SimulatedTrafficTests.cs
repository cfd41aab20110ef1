using System.Buffers;
using System.Diagnostics;
using Streams.Contracts.Topics;
using Streams.IntegrationTests.Fixtures;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.IntegrationTests.Pipeline;

/// <summary>
/// The whole host (ingest, profiles, segmentation) fed by its own simulator worker, then scored against the simulator's
/// ground truth: quarantine counts per code, one profile per customer, segments with explanations, and no raw personal
/// value anywhere the pipeline writes.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class SimulatedTrafficTests(KafkaFixture kafka, PostgresFixture postgres, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const int MinSegmentSize = 10;

    // Segmentation:MinEvents, at its default: profiles with fewer events get no segment.
    private const int MinEvents = 10;

    // The segments against the simulator's personas (160 customers, k chosen from the data). The segment-quality
    // benchmark measures far more customers; this floor catches a regression of the representation or the learning.
    private const double MinAdjustedRandIndex = 0.85;

    [Fact]
    public async Task SimulatedTraffic_ThroughTheWholeHost_MatchesTheGroundTruth_AndLeavesNoRawPersonalData()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 4);
        var truthPath = Path.Combine(Path.GetTempPath(), $"streams-truth-{Guid.NewGuid():N}.json");
        var groups = KafkaFixture.Unique("e2e");
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics,
            "--Simulator:Enabled=true", "--Simulator:Waves=1", "--Simulator:Seed=2026", "--Simulator:Run=42",
            "--Simulator:Customers=160", "--Simulator:EventsPerCustomer=20", "--Simulator:ConsentRequestRate=0.1",
            "--Simulator:MalformedJsonRate=0.004", "--Simulator:OversizedRecordRate=0.002", "--Simulator:SchemaViolationRate=0.004",
            "--Simulator:InvalidEmailRate=0.004", "--Simulator:InvalidPhoneRate=0.004", "--Simulator:FutureTimestampRate=0.004",
            "--Simulator:OutOfRangeRate=0.004", "--Simulator:UnknownCurrencyRate=0.004", "--Simulator:TotalMismatchRate=0.004",
            "--Simulator:DuplicateEventRate=0.005", "--Simulator:FamilySize=7",
            "--Simulator:BlockedEmailRate=0.004", "--Identity:Blocked:Values:email:0=Test@Example.com", $"--Simulator:GroundTruth={truthPath}",
            // Oversized records are made just above this (the simulator reads it), so they stay small for the embedded broker.
            "--Ingest:MaxRecordBytes=65536",
            $"--Ingest:GroupId={groups}-ingest", $"--Profiles:GroupId={groups}-profiles", $"--Segmentation:GroupId={groups}-segmentation",
            "--Profiles:MaxBatchWait=00:00:00.050", $"--Segmentation:MinEvents={MinEvents}", "--Segmentation:SeedSize=100", "--Segmentation:MiniBatchSize=200",
            $"--Segmentation:MinSegmentSize={MinSegmentSize}", "--Segmentation:MaxBatchWait=00:00:00.200");
        try
        {
            var simulator = host.Get<SimulatorWorker>();
            await WaitUntilAsync(() => simulator.Truth is not null, "the simulator's finite run");
            var truth = GroundTruthWriter.Read(truthPath)!;
            Assert.Equal(simulator.Truth!.Records, truth.Records);
            var checks = new GroundTruthAssertions(kafka.BootstrapServers, MinSegmentSize, MinEvents);
            await checks.WaitForDrainAsync(topics.Catalog, groups, host.ConnectionString, truth.Records, Patience);

            var catalog = topics.Catalog;
            var names = GroundTruthAssertions.ContractToConfigured(topics.Names);
            // The simulator's counters say what was written, per topic and per injected code.
            var totals = host.Get<SimulatorMetrics>().Totals;
            Assert.Equal(truth.RecordsPerTopic.ToDictionary(t => names[t.Key], t => t.Value),
                totals.GroupBy(t => t.Key.Topic).ToDictionary(g => g.Key, g => g.Sum(t => t.Value)));
            Assert.Equal(truth.InjectedPerCode.ToDictionary(),
                totals.Where(t => t.Key.Injected != SimulatorMetrics.Clean).GroupBy(t => t.Key.Injected).ToDictionary(g => g.Key, g => g.Sum(t => t.Value)));
            checks.AssertQuarantineMatchesTruth(catalog, truth);
            var (profiles, owners) = await GroundTruthAssertions.AssertOneProfilePerCustomerAsync(host.ConnectionString, truth);
            await checks.AssertConsentingProfilesAreSegmentedAsync(host.ConnectionString, topics.Names, profiles);
            var (ari, scored, segments) = await GroundTruthAssertions.ScoreSegmentsAgainstPersonasAsync(host.ConnectionString, owners);
            output.WriteLine($"segments against personas: ARI {ari:F3} over {scored} profiles, {segments} segments");
            Assert.True(scored >= owners.Count / 2, $"only {scored} of {owners.Count} profiles scored");
            Assert.True(ari >= MinAdjustedRandIndex, $"ARI {ari:F3} of the segments against the personas is below {MinAdjustedRandIndex}");
            await AssertNoRawPersonalDataAsync(host, catalog, truth);
        }
        finally
        {
            File.Delete(truthPath);
        }
    }

    private async Task AssertNoRawPersonalDataAsync(InProcessHost host, TopicCatalog catalog, GroundTruth truth)
    {
        var needles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            // Free text, URLs' query strings, IPs and user agents of the simulated events.
            "Still waiting for my refund", "Loving my new order", "called about", "utm_source", "203.0.113.", "Mozilla/5.0",
        };
        foreach (var customer in truth.Customers)
        {
            needles.Add(customer.Name);
            foreach (var identifier in customer.Identifiers)
            {
                needles.Add(identifier.Value);
                needles.Add(identifier.Type switch
                {
                    "phone" => identifier.Value[2..], // the digits after +1, as a till or an agent types them
                    "social" => identifier.Value[(identifier.Value.IndexOf(':', StringComparison.Ordinal) + 1)..], // the handle alone
                    _ => identifier.Value,
                });
            }
        }

        await PrivacyScan.AssertOutputsCleanAsync(kafka.BootstrapServers, host, catalog, SearchValues.Create([.. needles], StringComparison.OrdinalIgnoreCase));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(200);
        }

        Assert.True(condition(), $"timed out waiting for {what}");
    }
}
