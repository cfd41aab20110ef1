using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.UnitTests.Ingest;

public sealed class IngestMetricsTests
{
    [Fact]
    public void Record_CountsPerTopicOutcomeAndReason_OnTheMeterAndInTheSummary()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var metrics = new IngestMetrics(factory);
        using var records = new MetricCollector<long>(factory, IngestMetrics.MeterName, "streams.ingest.records");
        using var reasons = new MetricCollector<long>(factory, IngestMetrics.MeterName, "streams.ingest.reasons");

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
}
