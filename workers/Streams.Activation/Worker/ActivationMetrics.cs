using System.Diagnostics.Metrics;

namespace Streams.Activation.Worker;

/// <summary>Activation counters on the <c>Streams.Activation</c> meter, with totals for tests and the console.</summary>
public sealed class ActivationMetrics
{
    public const string MeterName = "Streams.Activation";

    private readonly Counter<long> rows;
    private readonly Counter<long> matched;
    private readonly Counter<long> refused;
    private long totalRows;
    private long totalMatched;
    private long totalRefused;

    public ActivationMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        rows = meter.CreateCounter<long>("streams.activation.rows", "{row}", "Request rows committed (answered or refused).");
        matched = meter.CreateCounter<long>("streams.activation.matched", "{row}", "Rows answered with a segment.");
        refused = meter.CreateCounter<long>("streams.activation.refused", "{row}", "Rows refused and quarantined, never answered.");
    }

    public long Rows => Interlocked.Read(ref totalRows);

    public long Matched => Interlocked.Read(ref totalMatched);

    public long Refused => Interlocked.Read(ref totalRefused);

    public void Record(int batchRows, int batchMatched, int batchRefused)
    {
        rows.Add(batchRows);
        matched.Add(batchMatched);
        refused.Add(batchRefused);
        Interlocked.Add(ref totalRows, batchRows);
        Interlocked.Add(ref totalMatched, batchMatched);
        Interlocked.Add(ref totalRefused, batchRefused);
    }
}
