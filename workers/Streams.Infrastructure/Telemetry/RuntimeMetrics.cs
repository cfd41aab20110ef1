using System.Diagnostics.Metrics;
using Streams.Infrastructure.Kafka;

namespace Streams.Infrastructure.Telemetry;

/// <summary>
/// What every worker loop shares, on the <c>Streams.Runtime</c> meter: batch size and duration, session retries (fed
/// through each worker's heartbeat), consumer-group lag per partition and outbox depth (sampled by
/// <see cref="RuntimeSampler"/>).
/// </summary>
public sealed class RuntimeMetrics
{
    public const string MeterName = "Streams.Runtime";
    public const string LagInstrument = "streams.runtime.consumer.lag";
    public const string OutboxInstrument = "streams.runtime.outbox.depth";
    public const string FencedInstrument = "streams.runtime.fenced";

    private readonly Histogram<int> batchSize;
    private readonly Histogram<double> batchDuration;
    private readonly Counter<long> retries;
    private readonly Counter<long> fenced;
    private volatile IReadOnlyList<(string Worker, string Group, PartitionLag Lag)> lag = [];
    private volatile IReadOnlyList<(string Table, long Rows)> outbox = [];

    public RuntimeMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        batchSize = meter.CreateHistogram("streams.runtime.batch.size", "{record}", "Records per batch a worker loop handled, by worker.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000] });
        batchDuration = meter.CreateHistogram("streams.runtime.batch.duration", "s",
            "Time from a batch being filled until its loop asks for the next: handle, persist, produce, commit; by worker.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        retries = meter.CreateCounter<long>("streams.runtime.retries", "{retry}",
            "Worker sessions that failed for a reason that can pass and start over after a backoff, by worker.");
        fenced = meter.CreateCounter<long>(FencedInstrument, "{checkpoint}",
            "Checkpoints refused because another instance had claimed one of their partitions since (the batch was rolled back), by worker.");
        meter.CreateObservableGauge(LagInstrument, ObserveLag, "{record}",
            "Records of a partition its consumer group has not committed yet, by worker, group, topic and partition.");
        meter.CreateObservableGauge(OutboxInstrument, ObserveOutbox, "{row}", "Rows waiting in a transactional outbox, by table.");
    }

    /// <summary>One batch of <paramref name="records"/> that took <paramref name="elapsed"/>.</summary>
    public void Batch(string worker, int records, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("worker", worker);
        batchSize.Record(records, tag);
        batchDuration.Record(elapsed.TotalSeconds, tag);
    }

    public void Retry(string worker) => retries.Add(1, new KeyValuePair<string, object?>("worker", worker));

    public void Fenced(string worker) => fenced.Add(1, new KeyValuePair<string, object?>("worker", worker));

    /// <summary>Replaces the lag figures with the latest sample.</summary>
    public void SetLag(IReadOnlyList<(string Worker, string Group, PartitionLag Lag)> sample) => lag = sample;

    /// <summary>Replaces the outbox depths with the latest sample.</summary>
    public void SetOutboxDepth(IReadOnlyList<(string Table, long Rows)> sample) => outbox = sample;

    private IEnumerable<Measurement<long>> ObserveLag() => lag.Select(l => new Measurement<long>(l.Lag.Lag,
        new KeyValuePair<string, object?>("worker", l.Worker), new KeyValuePair<string, object?>("group", l.Group),
        new KeyValuePair<string, object?>("topic", l.Lag.Partition.Topic), new KeyValuePair<string, object?>("partition", l.Lag.Partition.Partition.Value)));

    private IEnumerable<Measurement<long>> ObserveOutbox() =>
        outbox.Select(o => new Measurement<long>(o.Rows, new KeyValuePair<string, object?>("table", o.Table)));
}
