namespace Streams.Infrastructure.Hosting;

/// <summary>
/// How long a batch lingers for more records once the broker holds nothing more for it (see
/// <see cref="Kafka.BatchCollector"/>), sized by what the stage's batches cost rather than by a fixed wait.
/// </summary>
/// <remarks>
/// A batch's handling (from its close until it is committed) takes a fixed cost, paid once per batch (a transaction,
/// a flush, an outbox round, the group commit), and a cost per record. The runtime times each batch; a least-squares
/// fit of handling time on records, weighted towards recent batches, separates the two (<see cref="FixedCost"/>,
/// <see cref="CostPerRecord"/>). While the fixed cost is the larger part of a typical batch (fewer records than the
/// break-even size, fixed ÷ per-record, at which both parts cost the same) the stage spends most of its time on
/// per-batch costs, and a stream thinner than its capacity is cut into batches so small that those costs pull the
/// capacity down to the offered rate: the linger grows, so the batches do. Once batches are past twice the break-even
/// size a longer wait saves little (at most a third of the cost per record), so it shrinks again. It shrinks to the
/// floor as soon as a batch fills (under load batches fill without lingering) and never lets a batch's first record
/// wait past the stage's latency budget: linger plus the usual handling stay within the longest wait. The fit needs
/// batch sizes that differ; while they hardly do (less than <see cref="MinSpread"/> of their mean) the last estimate
/// stays. A pure function of the measured costs: no clock, no I/O.
/// </remarks>
internal sealed class AdaptiveLinger
{
    /// <summary>How much each earlier batch still counts per batch since: a memory of about twenty batches.</summary>
    private const double Forgetting = 0.95;

    /// <summary>Batches seen before the fit is trusted.</summary>
    private const double MinWeight = 4;

    /// <summary>Least spread of batch sizes (standard deviation over mean) that separates fixed from per-record cost.</summary>
    private const double MinSpread = 0.05;

    /// <summary>Most the linger changes after one batch: a factor of two either way.</summary>
    private const double MaxStep = 2;

    private readonly TimeSpan floor;
    private readonly TimeSpan ceiling;
    private readonly int batchSize;
    private double weight;
    private double sumRecords;
    private double sumSeconds;
    private double sumRecordsSquared;
    private double sumRecordsSeconds;

    /// <param name="floor">The shortest linger: the configured one (<see cref="CheckpointedBatchSettings.Linger"/>).</param>
    /// <param name="ceiling">The stage's latency budget: the longest a record waits for its batch to close (<see cref="CheckpointedBatchSettings.MaxBatchWait"/>).</param>
    /// <param name="batchSize">Most records a batch holds: one that holds them filled.</param>
    public AdaptiveLinger(TimeSpan floor, TimeSpan ceiling, int batchSize)
    {
        this.floor = floor < ceiling ? floor : ceiling;
        this.ceiling = ceiling;
        this.batchSize = batchSize;
        Current = this.floor;
    }

    /// <summary>The linger for the next batch.</summary>
    public TimeSpan Current { get; private set; }

    /// <summary>Seconds a batch costs whatever its size, as fitted so far; null before the fit is trusted.</summary>
    public double? FixedCost { get; private set; }

    /// <summary>Seconds each record adds to a batch's handling, as fitted so far; null before the fit is trusted.</summary>
    public double? CostPerRecord { get; private set; }

    /// <summary>A batch of <paramref name="records"/> was handled (closed to committed) in <paramref name="handling"/>; returns the next linger.</summary>
    public TimeSpan Observe(int records, TimeSpan handling)
    {
        var seconds = Math.Max(0, handling.TotalSeconds);
        weight = (weight * Forgetting) + 1;
        sumRecords = (sumRecords * Forgetting) + records;
        sumSeconds = (sumSeconds * Forgetting) + seconds;
        sumRecordsSquared = (sumRecordsSquared * Forgetting) + ((double)records * records);
        sumRecordsSeconds = (sumRecordsSeconds * Forgetting) + (records * seconds);
        var meanRecords = sumRecords / weight;
        var meanSeconds = sumSeconds / weight;
        Fit(meanRecords, meanSeconds);

        // The budget: a batch's first record waits the linger, then the batch's handling.
        var budget = ceiling - TimeSpan.FromSeconds(meanSeconds);
        var next = Current;
        if (records >= batchSize)
        {
            next = Current / MaxStep;
        }
        else if (FixedCost is { } fixedCost && CostPerRecord is { } perRecord)
        {
            // Records a batch needs for its per-record work to cost as much as its fixed part.
            var breakEven = perRecord > 0 ? fixedCost / perRecord : double.PositiveInfinity;
            if (meanRecords < breakEven)
            {
                next = Current * Math.Clamp(Math.Sqrt(breakEven / Math.Max(1, meanRecords)), 1, MaxStep);
            }
            else if (meanRecords > 2 * breakEven)
            {
                next = Current / Math.Clamp(Math.Sqrt(meanRecords / (2 * breakEven)), 1, MaxStep);
            }
        }

        next = next < budget ? next : budget;
        Current = next > floor ? next : floor;
        return Current;
    }

    /// <summary>Fixed and per-record cost from the weighted sums, if the batch sizes spread enough to tell them apart.</summary>
    private void Fit(double meanRecords, double meanSeconds)
    {
        if (weight < MinWeight)
        {
            return;
        }

        var variance = (sumRecordsSquared / weight) - (meanRecords * meanRecords);
        if (variance <= 0 || Math.Sqrt(variance) < MinSpread * meanRecords)
        {
            return;
        }

        var covariance = (sumRecordsSeconds / weight) - (meanRecords * meanSeconds);
        var perRecord = Math.Max(0, covariance / variance);
        var fixedCost = Math.Clamp(meanSeconds - (perRecord * meanRecords), 0, meanSeconds);
        (FixedCost, CostPerRecord) = (fixedCost, perRecord);
    }
}
