using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Streams.Dashboard.Figures;
using Streams.Ingest.Worker;
using Streams.Segmentation.Worker;

namespace Streams.UnitTests.Dashboard;

public sealed class MeasurementCollectorTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private IMeterFactory Factory => services.GetRequiredService<IMeterFactory>();

    [Fact]
    public void Snapshot_TotalsTheWorkersOwnCounters_PerTopicOutcomeAndReason()
    {
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        var ingest = new IngestMetrics(Factory);
        ingest.Record("store", IngestMetrics.Accepted, []);
        ingest.Record("store", IngestMetrics.Accepted, []);
        ingest.Record("store", IngestMetrics.Flagged, ["total_mismatch"]);
        ingest.Record("social", IngestMetrics.Quarantined, ["malformed_json", "schema_violation"]);

        var snapshot = collector.Snapshot();

        Assert.Equal(2, snapshot.Sum("streams.ingest.records", "store", "accepted"));
        Assert.Equal(3, snapshot.Sum("streams.ingest.records", "store"));
        Assert.Equal(1, snapshot.Sum("streams.ingest.reasons", "social", "schema_violation"));
        Assert.Equal(2, snapshot.Sum("streams.ingest.reasons", "social"));
        Assert.Equal(4, snapshot.Sum("streams.ingest.records"));
    }

    [Fact]
    public void Snapshot_GaugeKeepsItsLastValue_CounterAdds()
    {
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        var segmentation = new SegmentationMetrics(Factory);
        segmentation.Record(100, reseeded: true, version: 1);
        segmentation.Record(50, reseeded: true, version: 2);

        var snapshot = collector.Snapshot();

        Assert.Equal(150, snapshot.Sum("streams.segmentation.profiles"));
        Assert.Equal(2, snapshot.Sum("streams.segmentation.reseeds"));
        Assert.Equal(2, snapshot.Sum("streams.segmentation.model_version"));
        // Polled again, the gauge is still its value, not the sum of two polls.
        Assert.Equal(2, collector.Snapshot().Sum("streams.segmentation.model_version"));
    }

    [Fact]
    public void Snapshot_AnotherHostsMeterFactory_IsNotHeard()
    {
        using var other = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        new IngestMetrics(other.GetRequiredService<IMeterFactory>()).Record("store", IngestMetrics.Accepted, []);
        new IngestMetrics(Factory).Record("store", IngestMetrics.Flagged, []);

        var snapshot = collector.Snapshot();

        Assert.Equal(0, snapshot.Sum("streams.ingest.records", "store", "accepted"));
        Assert.Equal(1, snapshot.Sum("streams.ingest.records", "store", "flagged"));
    }

    [Fact]
    public void Snapshot_SimulatorMeter_IsHeardByName_WithItsInjectedTag()
    {
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        var counter = Factory.Create("Streams.Simulator").CreateCounter<long>("streams.simulator.records");
        counter.Add(3, new KeyValuePair<string, object?>("topic", "store"), new KeyValuePair<string, object?>("injected", false));
        counter.Add(1, new KeyValuePair<string, object?>("injected", true), new KeyValuePair<string, object?>("topic", "store"));

        var snapshot = collector.Snapshot();

        Assert.Equal(3, snapshot.Sum("streams.simulator.records", "store", "false"));
        Assert.Equal(1, snapshot.Sum("streams.simulator.records", "store", "true"));
    }

    [Fact]
    public void Snapshot_MeterOfAnotherName_IsIgnored()
    {
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        Factory.Create("Somebody.Else").CreateCounter<long>("streams.ingest.records").Add(5);

        Assert.Empty(collector.Snapshot().Values);
    }

    [Fact]
    public void Snapshot_Histograms_AreNotTotalled()
    {
        using var collector = new MeasurementCollector(Factory, TimeProvider.System);
        new Streams.Profiles.Worker.ProfilesMetrics(Factory).Stage("commit", TimeSpan.FromMilliseconds(12));

        Assert.DoesNotContain(collector.Snapshot().Values.Keys, k => k.Instrument == "streams.profiles.stage_duration");
    }

    [Fact]
    public void Key_SeveralTagsBesideTopic_JoinedInKeyOrder_WhateverTheOrderGiven()
    {
        KeyValuePair<string, object?>[] tags = [new("b", "second"), new("topic", "store"), new("a", 7)];

        Assert.Equal(new SeriesKey("x", "store", "7|second"), MeasurementCollector.Key("x", tags));
        Assert.Equal(new SeriesKey("x", null, null), MeasurementCollector.Key("x", []));
    }

    public void Dispose() => services.Dispose();
}
