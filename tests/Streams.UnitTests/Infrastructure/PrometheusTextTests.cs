using System.Diagnostics.Metrics;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Streams.Infrastructure.Telemetry;

namespace Streams.UnitTests.Infrastructure;

public sealed class PrometheusTextTests
{
    [Theory]
    [InlineData("streams.ingest.records", "{record}", true, "streams_ingest_records_total")]
    [InlineData("streams.runtime.batch.duration", "s", false, "streams_runtime_batch_duration_seconds")]
    [InlineData("streams.profiles.stage_duration", "ms", false, "streams_profiles_stage_duration_milliseconds")]
    [InlineData("requests_total", null, true, "requests_total")]
    [InlineData("queue.size_bytes", "By", false, "queue_size_bytes")]
    [InlineData("1st-metric..name", "1", false, "_1st_metric_name")]
    public void Name_FollowsTheOpenTelemetryToPrometheusMapping(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusText.Name(instrument, unit, counter));

    [Fact]
    public void Collect_WritesCountersGaugesAndCumulativeHistograms_WithEscapedLabels()
    {
        using var meter = new Meter("Test.Prometheus." + Guid.NewGuid().ToString("N"));
        var scrape = new PrometheusScrape();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(meter.Name).AddReader(scrape.Reader).Build();
        var records = meter.CreateCounter<long>("test.records", "{record}", "Records\nseen.");
        var duration = meter.CreateHistogram("test.duration", "s", "Time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        meter.CreateObservableGauge("test.depth", () => new Measurement<long>(7, new KeyValuePair<string, object?>("table", "a\"b\\c")));
        records.Add(3, new KeyValuePair<string, object?>("topic", "store"));
        records.Add(2, new KeyValuePair<string, object?>("topic", "store"));
        duration.Record(0.05);
        duration.Record(0.5);
        duration.Record(0.7);
        duration.Record(5);

        var text = Encoding.UTF8.GetString(scrape.Collect()!);

        Assert.Contains("# HELP test_records_total Records\\nseen.\n# TYPE test_records_total counter\ntest_records_total{topic=\"store\"} 5\n", text,
            StringComparison.Ordinal);
        Assert.Contains("# TYPE test_depth gauge\ntest_depth{table=\"a\\\"b\\\\c\"} 7\n", text, StringComparison.Ordinal);
        Assert.Contains("""
            # TYPE test_duration_seconds histogram
            test_duration_seconds_bucket{le="0.1"} 1
            test_duration_seconds_bucket{le="1"} 3
            test_duration_seconds_bucket{le="+Inf"} 4
            test_duration_seconds_sum 6.25
            test_duration_seconds_count 4

            """.ReplaceLineEndings("\n"), text, StringComparison.Ordinal);

        records.Add(1, new KeyValuePair<string, object?>("topic", "store"));
        // Cumulative between scrapes, as Prometheus expects.
        Assert.Contains("test_records_total{topic=\"store\"} 6\n", Encoding.UTF8.GetString(scrape.Collect()!), StringComparison.Ordinal);
    }
}
