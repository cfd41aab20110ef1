using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.UnitTests.Ingest;

public sealed class IngestMetricsTests : IDisposable
{
    private readonly ServiceProvider services;
    private readonly IngestMetrics metrics;
    private readonly MetricCollector<long> records;
    private readonly MetricCollector<long> reasons;

    public IngestMetricsTests()
    {
        services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        metrics = new IngestMetrics(factory);
        records = new MetricCollector<long>(factory, IngestMetrics.MeterName, "streams.ingest.records");
        reasons = new MetricCollector<long>(factory, IngestMetrics.MeterName, "streams.ingest.reasons");
    }

    public void Dispose()
    {
        records.Dispose();
        reasons.Dispose();
        services.Dispose();
    }

    [Fact]
    public void Record_CountsPerTopicOutcomeAndReason_OnTheMeterAndInTheSummary()
    {

        metrics.Record("store", IngestMetrics.OutcomeOf(IngestDisposition.Accepted, duplicate: false), []);
        metrics.Record("store", IngestMetrics.OutcomeOf(IngestDisposition.Flagged, duplicate: false), ["total_mismatch"]);
        metrics.Record("store", IngestMetrics.OutcomeOf(IngestDisposition.Quarantined, duplicate: false), ["schema_violation", "out_of_range"]);
        metrics.Record("store", IngestMetrics.OutcomeOf(IngestDisposition.AnonymousSale, duplicate: false), []);
        metrics.Record("social", IngestMetrics.OutcomeOf(IngestDisposition.Accepted, duplicate: true), ["duplicate_event"]);

        Assert.Equal(5, records.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Single(records.GetMeasurementSnapshot(), m => (string)m.Tags["outcome"]! == "duplicate" && (string)m.Tags["topic"]! == "social");
        Assert.Equal(4, reasons.GetMeasurementSnapshot().Count);
        Assert.Equal(
            "social: accepted=0 flagged=0 quarantined=0 duplicates=1 anonymous_sales=0 [duplicate_event=1]; " +
            "store: accepted=1 flagged=1 quarantined=1 duplicates=0 anonymous_sales=1 [out_of_range=1 schema_violation=1 total_mismatch=1]",
            metrics.Summary());
    }

    [Fact]
    public void RecordTally_AddsEachTopicOutcomeAndReasonOnce_WithTheBatchsCounts_ThenIsEmpty()
    {
        var tally = new IngestMetrics.Tally();
        for (var i = 0; i < 1000; i++)
        {
            tally.Count("store", IngestMetrics.Accepted, []);
        }

        for (var i = 0; i < 7; i++)
        {
            tally.Count("store", IngestMetrics.Flagged, ["total_mismatch"]);
        }

        tally.Count("store", IngestMetrics.Quarantined, ["schema_violation", "out_of_range"]);
        tally.Count("social", IngestMetrics.Accepted, []);

        metrics.Record(tally);
        metrics.Record(tally);

        var byOutcome = records.GetMeasurementSnapshot()
            .Select(m => ((string)m.Tags["topic"]!, (string)m.Tags["outcome"]!, m.Value))
            .Order()
            .ToList();
        Assert.Equal(
            [("social", "accepted", 1L), ("store", "accepted", 1000L), ("store", "flagged", 7L), ("store", "quarantined", 1L)],
            byOutcome);
        var byReason = reasons.GetMeasurementSnapshot()
            .Select(m => ((string)m.Tags["topic"]!, (string)m.Tags["reason"]!, m.Value))
            .Order()
            .ToList();
        Assert.Equal([("store", "out_of_range", 1L), ("store", "schema_violation", 1L), ("store", "total_mismatch", 7L)], byReason);
        Assert.Equal(
            "social: accepted=1 flagged=0 quarantined=0 duplicates=0 anonymous_sales=0 []; " +
            "store: accepted=1000 flagged=7 quarantined=1 duplicates=0 anonymous_sales=0 [out_of_range=1 schema_violation=1 total_mismatch=7]",
            metrics.Summary());
    }
}
