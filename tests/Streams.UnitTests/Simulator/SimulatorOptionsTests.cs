using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.UnitTests.Simulator;

/// <summary>The <c>Simulator</c> section: bound, checked with the key named, and waves that never repeat an identifier.</summary>
public sealed class SimulatorOptionsTests
{
    [Theory]
    [InlineData("Simulator:Customers", "0", "Simulator:Customers must be at least 1.")]
    [InlineData("Simulator:MalformedJsonRate", "1.5", "Simulator:MalformedJsonRate must be a rate in [0, 1].")]
    [InlineData("Simulator:Run", "10000", "Simulator:Run must be 0 to 9999.")]
    [InlineData("Simulator:History", "00:30:00", "Simulator:History must be more than 2 hours.")]
    [InlineData("Simulator:Waves", "-1", "Simulator:Waves must be 0 (until stopped) or more.")]
    [InlineData("Simulator:EventsPerSecond", "-5", "Simulator:EventsPerSecond must be 0 (no limit) or a positive number.")]
    [InlineData("Simulator:EventsPerSecond", "NaN", "Simulator:EventsPerSecond must be 0 (no limit) or a positive number.")]
    [InlineData("Simulator:MaxBytesAhead", "100", "Simulator:MaxBytesAhead must be 1024 bytes to 1 TiB.")]
    [InlineData("Simulator:LagPollInterval", "00:00:00", "Simulator:LagPollInterval must be 1 ms to 1 minute.")]
    [InlineData("Simulator:StallTimeout", "00:00:00.500", "Simulator:StallTimeout must be at least 1 second.")]
    public void BadValue_FailsWithAOneLineReasonNamingTheKey(string key, string value, string reason)
    {
        using var services = Services(new() { [key] = value });
        var e = Assert.Throws<OptionsValidationException>(() =>
        {
            _ = services.GetRequiredService<IOptions<SimulatorOptions>>().Value;
            _ = services.GetRequiredService<IOptions<SimulatorRunOptions>>().Value;
        });
        Assert.Equal(reason, Assert.Single(e.Failures));
    }

    [Fact]
    public void Defaults_AreValid_AndFollowThePipelinesLimits_UnlessSetForTheSimulator()
    {
        using var defaults = Services([]);
        var run = defaults.GetRequiredService<IOptions<SimulatorRunOptions>>().Value;
        Assert.Equal(0, run.Waves);
        Assert.Equal(2 * 1024 * 1024, run.MaxBytesAhead);
        Assert.True(run.IsEnabled(embeddedBroker: true));
        Assert.False(run.IsEnabled(embeddedBroker: false));
        Assert.Equal(Path.GetFullPath("/state/ground-truth.json"), run.GroundTruthPath("/state"));

        using var limited = Services(new() { ["Ingest:MaxRecordBytes"] = "65536", ["Identity:MaxPerType:email"] = "3" });
        var generator = limited.GetRequiredService<IOptions<SimulatorOptions>>().Value;
        Assert.Equal(65536, generator.MaxRecordBytes);
        Assert.Equal(3, generator.MaxEmailsPerProfile);

        using var own = Services(new() { ["Ingest:MaxRecordBytes"] = "65536", ["Simulator:MaxRecordBytes"] = "2048", ["Simulator:Enabled"] = "false" });
        Assert.Equal(2048, own.GetRequiredService<IOptions<SimulatorOptions>>().Value.MaxRecordBytes);
        Assert.False(own.GetRequiredService<IOptions<SimulatorRunOptions>>().Value.IsEnabled(embeddedBroker: true));
    }

    [Fact]
    public void Waves_NeverRepeatAnEventIdOrAnIdentifier_AndTheirTruthAddsUp()
    {
        var generator = new SimulatorOptions { Seed = 5, Run = 17, Customers = 40, EventsPerCustomer = 10, FamilySize = 6, ConsentRequestRate = 0.2 };
        var records = new List<SimulatedRecord>();
        var truth = new SimulationRunner(generator, TimeProvider.System, NullLogger.Instance).Run(records.Add, waves: 3, CancellationToken.None)!;

        Assert.Equal(3, truth.Waves);
        Assert.Equal(records.Count, truth.Records);
        Assert.Equal(120, truth.Customers.Select(c => c.CustomerId).Distinct().Count());
        Assert.Equal(3, truth.SharedIdentifiers.Select(s => s.Value).Distinct().Count());
        Assert.Equal(records.Count(r => r.InjectedCodes.Contains(ReasonCodes.DuplicateEvent)),
            records.Count - records.Select(r => (r.Topic, r.EventId)).Distinct().Count());
        Assert.All(records, r => Assert.StartsWith("r0017-", r.EventId, StringComparison.Ordinal));
        // An identifier belongs to one customer, the family cards to their members.
        var owners = truth.Customers.SelectMany(c => c.Identifiers.Select(i => (i.Type, i.Value, c.CustomerId)))
            .GroupBy(i => (i.Type, i.Value)).Where(g => g.Select(i => i.CustomerId).Distinct().Count() > 1).Select(g => g.Key).ToList();
        Assert.Equal(truth.SharedIdentifiers.Select(s => (s.Type, s.Value)).Order(), owners.Order());
        Assert.Equal(records.Count(r => !r.IsClean), truth.Injected.Count);
        Assert.Equal(truth.Injected.Select(i => i.Index).Distinct().Count(), truth.Injected.Count);
    }

    [Fact]
    public void Waves_WhenCustomerIdsRunOut_ContinueAsTheNextRun()
    {
        var generator = new SimulatorOptions { Run = 9999, FirstCustomerId = SimulatorOptions.MaxCustomerId - 9, Customers = 10, EventsPerCustomer = 2, SharedLoyaltyFamilies = 0 };
        var records = new List<SimulatedRecord>();
        var truth = new SimulationRunner(generator, TimeProvider.System, NullLogger.Instance).Run(records.Add, waves: 2, CancellationToken.None)!;
        Assert.Contains(records, r => r.EventId.StartsWith("r9999-", StringComparison.Ordinal));
        Assert.Contains(records, r => r.EventId.StartsWith("r0001-", StringComparison.Ordinal));
        Assert.Equal(20, truth.Customers.Count);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddMetrics().AddSimulatorOptions().BuildServiceProvider();
    }
}
