using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;
using Streams.Simulator;
using Streams.Simulator.Publishing;

namespace Streams.UnitTests.Simulator;

public sealed class SimulatorMetricsTests
{
    [Fact]
    public void Record_CountsOnTheNamesTheConsoleViewReads_ByTopicAndInjectedCode()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new SimulatorMetrics(factory);
        // The names are a contract with the console view: spelled out here, not taken from the constants.
        using var records = new MetricCollector<long>(factory, "Streams.Simulator", "streams.simulator.records");

        var clean = new SimulatedRecord("store", "{}", "e1", 1, []);
        var dirty = new SimulatedRecord("social", "{", "e2", 1, [ReasonCodes.MalformedJson]);
        metrics.Record("shop.store", SimulatorMetrics.InjectedTag(clean));
        metrics.Record("shop.social", SimulatorMetrics.InjectedTag(dirty));
        metrics.Record("shop.social", SimulatorMetrics.InjectedTag(dirty));

        var snapshot = records.GetMeasurementSnapshot();
        Assert.Equal(3, snapshot.Sum(m => m.Value));
        Assert.Single(snapshot, m => (string)m.Tags["topic"]! == "shop.store" && (string)m.Tags["injected"]! == "clean");
        Assert.Equal(2, snapshot.Count(m => (string)m.Tags["topic"]! == "shop.social" && (string)m.Tags["injected"]! == "malformed_json"));
        Assert.Equal(2, metrics.Totals[("shop.social", "malformed_json")]);
    }
}
