using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Streams.Contracts.Quarantine;
using Streams.Infrastructure.Telemetry;
using Streams.Ingest.Worker;

namespace Streams.Benchmarks;

/// <summary>
/// Ingest's counters for one batch as its worker commits it: 1,400 records over the five input topics, one in a hundred
/// flagged with a reason. Per record (each add finds its tags' aggregator and updates the shared totals) against a
/// batch's tally added once per topic and outcome. The host's metric reader (<see cref="PrometheusScrape"/>) listens, as
/// it does in the host; without a listener the meter's adds would cost next to nothing. Results are per record.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class IngestMetricsBenchmarks
{
    private const int BatchSize = 1400;
    private static readonly string[] Topics = ["clickstream", "store", "callcenter", "social", "consent"];
    private static readonly string[] NoCodes = [];
    private static readonly string[] Mismatch = [ReasonCodes.TotalMismatch];

    private readonly (string Topic, string Outcome, string[] Codes)[] batch = new (string, string, string[])[BatchSize];
    private ServiceProvider services = null!;
    private MeterProvider provider = null!;
    private IngestMetrics metrics = null!;

    [GlobalSetup]
    public void Setup()
    {
        services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(IngestMetrics.MeterName)
            .AddReader(new PrometheusScrape().Reader)
            .Build();
        metrics = new IngestMetrics(services.GetRequiredService<IMeterFactory>());
        for (var i = 0; i < BatchSize; i++)
        {
            var flagged = i % 100 == 99;
            batch[i] = (Topics[i % Topics.Length], flagged ? IngestMetrics.Flagged : IngestMetrics.Accepted, flagged ? Mismatch : NoCodes);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        provider.Dispose();
        services.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = BatchSize, Description = "Per record")]
    public void PerRecord()
    {
        foreach (var (topic, outcome, codes) in batch)
        {
            metrics.Record(topic, outcome, codes);
        }
    }

    [Benchmark(OperationsPerInvoke = BatchSize, Description = "Tally, added per batch")]
    public void PerBatch()
    {
        var tally = new IngestMetrics.Tally();
        foreach (var (topic, outcome, codes) in batch)
        {
            tally.Count(topic, outcome, codes);
        }

        metrics.Record(tally);
    }
}
