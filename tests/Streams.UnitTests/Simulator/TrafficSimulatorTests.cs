using System.Text;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;
using Streams.Simulator;

namespace Streams.UnitTests.Simulator;

/// <summary>The simulator's ground truth must be exactly what the real ingest code decides, or scoring the pipeline means nothing.</summary>
public sealed class TrafficSimulatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 14, 0, 0, TimeSpan.Zero);

    private static SimulatorOptions Options(int seed) => new()
    {
        Seed = seed, Now = Now, Customers = 150, EventsPerCustomer = 20,
        MalformedJsonRate = 0.01, OversizedRecordRate = 0.002, SchemaViolationRate = 0.01, InvalidEmailRate = 0.01,
        InvalidPhoneRate = 0.01, FutureTimestampRate = 0.01, OutOfRangeRate = 0.01, UnknownCurrencyRate = 0.01,
        TotalMismatchRate = 0.01, DuplicateEventRate = 0.01, ConsentRequestRate = 0.1,
    };

    [Fact]
    public void Generate_WithTheSameSeed_IsIdentical_AndAnotherSeedDiffers()
    {
        var first = new TrafficSimulator(Options(42)).Generate().Select(Text).ToList();
        var again = new TrafficSimulator(Options(42)).Generate().Select(Text).ToList();
        var other = new TrafficSimulator(Options(43)).Generate().Take(200).Select(Text).ToList();
        Assert.Equal(first, again);
        Assert.NotEqual(first.Take(200), other);
    }

    [Fact]
    public void EveryRecord_GetsExactlyTheCodesItWasMadeToCarry_FromTheRealIngestPipeline()
    {
        var simulator = new TrafficSimulator(Options(7));
        var records = simulator.Generate().ToList();
        var keys = new PseudonymizationOptions { ActiveKeyId = "k1" };
        keys.Keys["k1"] = Convert.ToBase64String(new byte[32]);
        var pipeline = new IngestPipeline(new Pseudonymizer(Microsoft.Extensions.Options.Options.Create(keys)),
            Microsoft.Extensions.Options.Options.Create(new IngestOptions()), new FixedClock(Now));
        var used = new Dictionary<string, HashSet<string>>();
        var injected = new HashSet<string>();
        foreach (var record in records)
        {
            var outcome = pipeline.Process(Enum.Parse<Channel>(record.Topic, ignoreCase: true), new SourcePosition(record.Topic, 0, 0),
                Encoding.UTF8.GetBytes(record.Value));
            var expected = record.InjectedCodes.Where(c => c != ReasonCodes.DuplicateEvent).Order(StringComparer.Ordinal);
            Assert.True(expected.SequenceEqual(outcome.ReasonCodes.Order(StringComparer.Ordinal)),
                $"{record.EventId}: expected [{string.Join(",", record.InjectedCodes)}], ingest says [{string.Join(",", outcome.ReasonCodes)}]");

            // duplicate_event is stateful: an id already used on the same topic.
            var seen = used.TryGetValue(record.Topic, out var set) ? set : used[record.Topic] = [];
            var duplicate = outcome.Disposition != IngestDisposition.Quarantined && outcome.EventId is not null && !seen.Add(outcome.EventId);
            Assert.Equal(record.InjectedCodes.Contains(ReasonCodes.DuplicateEvent), duplicate);
            injected.UnionWith(record.InjectedCodes);
        }

        // Every kind of dirty data of CONTRACT §4 that ingest decides is in the traffic.
        Assert.Superset(new HashSet<string>
        {
            "malformed_json", "oversized_record", "schema_violation", "invalid_email", "invalid_phone", "future_timestamp",
            "out_of_range", "unknown_currency", "total_mismatch", "duplicate_event",
        }, injected);
        Assert.Contains(simulator.SharedIdentifiers, s => s.ExpectedConflicts > 0);
    }

    [Fact]
    public void SecondMix_DrawsEveryPersonaByItsWeight_IncludingTheExtraOne()
    {
        var options = Options(3);
        options.Customers = 6000;
        options.SharedLoyaltyFamilies = 0;
        options.PersonaMix = SimulatorOptions.SecondMix;
        var counts = new TrafficSimulator(options).Customers.CountBy(c => c.Persona.Id).ToDictionary();
        var total = Persona.SecondMixWeights.Sum();
        for (var i = 0; i < Persona.SecondMix.Count; i++)
        {
            var expected = options.Customers * Persona.SecondMixWeights[i] / total;
            Assert.InRange(counts[Persona.SecondMix[i].Id], expected * 0.85, expected * 1.15);
        }

        Assert.DoesNotContain(Persona.PremiumShopper, Persona.All);
    }

    [Fact]
    public void Validate_WeightsOfAnotherLength_Fails()
    {
        var options = Options(3);
        options.PersonaMix = SimulatorOptions.SecondMix;
        options.PersonaWeights = [1, 1, 1, 1, 1];
        Assert.Throws<ArgumentException>(options.Validate);
    }

    private static string Text(SimulatedRecord r) => $"{r.Topic}|{r.EventId}|{r.CustomerId}|{string.Join(",", r.InjectedCodes)}|{r.Value}";

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
