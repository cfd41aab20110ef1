using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.Benchmarks.Load;

/// <summary>
/// How far a producer may run ahead: records produced so far, and the count it may reach before the next lag sample
/// raises it. Written by the producer's thread (<see cref="Produced"/>, <see cref="Allows"/>) and the monitor's
/// (<see cref="Limit"/>).
/// </summary>
/// <remarks>
/// With a rate it is an open-loop schedule: record <c>i</c> is due <c>i ÷ rate</c> seconds after the first, plus the
/// schedule time lost so far. A record may go up to <see cref="CatchUp"/> after its turn, so the producer's own
/// scheduling (1 ms sleeps, a thread that waited for a core) does not lower the rate; anything later is lost schedule
/// time and the rest of the schedule moves by it rather than sending the missed records in a burst: a pause of the
/// producer (the lag limit holding it, the broker's back-pressure) must not come back as a burst the system under test
/// then drains, and the time it lost is reported (<see cref="LostTime"/>) instead of hidden, since the latency is
/// measured from each record's produce time, which after a loss is later than its first turn.
/// </remarks>
internal sealed class Pacer(long initialLimit, double perSecond = double.PositiveInfinity, TimeProvider? clock = null)
{
    /// <summary>How late a record may still go without moving the schedule: the producer's default linger (<see cref="PacedProducer.DefaultLingerMs"/>), below which the broker sees one batch anyway.</summary>
    public static readonly TimeSpan CatchUp = TimeSpan.FromMilliseconds(5);

    /// <summary>The window the largest burst is counted in (<see cref="PeakPerWindow"/>).</summary>
    public static readonly TimeSpan BurstWindow = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider time = clock ?? TimeProvider.System;
    private long startedAt = -1;
    private long produced;
    private long limit = initialLimit;
    private TimeSpan shift;
    private TimeSpan? heldSince;
    private long holds;
    private long lateRecords;
    private TimeSpan held;
    private TimeSpan longestHold;
    private TimeSpan lost;
    private TimeSpan longestLoss;
    private long window = -1;
    private long inWindow;
    private long peakWindow;

    /// <summary>
    /// Whether record number <paramref name="index"/> may go now: below the lag limit, and, with a rate, no earlier than
    /// its turn on the schedule (an open-loop producer, as real channels are). Called by the producer's thread alone.
    /// </summary>
    public bool Allows(long index)
    {
        if (startedAt < 0)
        {
            startedAt = time.GetTimestamp();
        }

        var now = time.GetElapsedTime(startedAt);
        if (index >= Limit)
        {
            heldSince ??= now;
            return false;
        }

        if (heldSince is { } since)
        {
            heldSince = null;
            holds++;
            held += now - since;
            longestHold = longestHold > now - since ? longestHold : now - since;
        }

        if (double.IsPositiveInfinity(perSecond))
        {
            return Sent(now);
        }

        var due = TimeSpan.FromSeconds(index / perSecond) + shift;
        if (now < due)
        {
            return false;
        }

        var late = now - due;
        if (late > CatchUp)
        {
            // Lost: the schedule moves so that this record is on time again, and the ones after it keep the rate.
            var loss = late - CatchUp;
            shift += loss;
            lost += loss;
            lateRecords++;
            longestLoss = longestLoss > loss ? longestLoss : loss;
        }

        return Sent(now);
    }

    /// <summary>Counts a record let go at <paramref name="now"/> into its <see cref="BurstWindow"/>.</summary>
    private bool Sent(TimeSpan now)
    {
        var current = now.Ticks / BurstWindow.Ticks;
        inWindow = current == window ? inWindow + 1 : 1;
        window = current;
        peakWindow = Math.Max(peakWindow, inWindow);
        return true;
    }

    public long Produced => Volatile.Read(ref produced);

    public long Limit
    {
        get => Volatile.Read(ref limit);
        set => Volatile.Write(ref limit, value);
    }

    /// <summary>Times the lag limit held the producer, how long in all and at most (read once the producer is done).</summary>
    public (long Count, TimeSpan Total, TimeSpan Longest) Holds => (holds, held, longestHold);

    /// <summary>
    /// Schedule time lost with a rate: records that went more than <see cref="CatchUp"/> after their turn, the time the
    /// schedule moved in all and at most once (read once the producer is done).
    /// </summary>
    public (long Records, TimeSpan Total, TimeSpan Longest) LostTime => (lateRecords, lost, longestLoss);

    /// <summary>Most records let go in one <see cref="BurstWindow"/> (read once the producer is done): a rate's share of it is rate × 0.1 s.</summary>
    public long PeakPerWindow => peakWindow;

    public void Count() => Interlocked.Increment(ref produced);
}

/// <summary>Every record a producer got acknowledged, with the Kafka timestamp it was produced with, by its position.</summary>
/// <param name="expectedPerPartition">About how many records each partition will hold: each partition's map is made that
/// large at once, not grown (and copied) while the workers run.</param>
internal sealed class ProduceLog(int expectedPerPartition = 0)
{
    private readonly Dictionary<(string Topic, int Partition), Dictionary<long, long>> timestamps = [];
    private long delivered;
    private long failed;
    private string? firstError;

    public long Delivered => Interlocked.Read(ref delivered);

    public long Failed => Interlocked.Read(ref failed);

    public string? FirstError => Volatile.Read(ref firstError);

    /// <summary>Unix milliseconds of the first and the last acknowledged record's timestamps.</summary>
    public long FirstMs { get; private set; } = long.MaxValue;

    public long LastMs { get; private set; } = long.MinValue;

    /// <summary>Notes a record's delivery; <paramref name="timestampMs"/> is the Kafka timestamp it was produced with.</summary>
    public void OnDelivery(DeliveryReport<byte[]?, byte[]> report, long timestampMs)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref failed);
            Interlocked.CompareExchange(ref firstError, report.Error.Reason, null);
            return;
        }

        var at = timestampMs;
        lock (timestamps)
        {
            var key = (report.Topic, report.Partition.Value);
            if (!timestamps.TryGetValue(key, out var partition))
            {
                timestamps[key] = partition = new(expectedPerPartition);
            }

            partition[report.Offset.Value] = at;
            FirstMs = Math.Min(FirstMs, at);
            LastMs = Math.Max(LastMs, at);
        }

        Interlocked.Increment(ref delivered);
    }

    /// <summary>The timestamp of the record this log saw acknowledged at that position; false for any other.</summary>
    public bool TryGetTimestamp(string topic, int partition, long offset, out long unixMs)
    {
        lock (timestamps)
        {
            unixMs = 0;
            return timestamps.TryGetValue((topic, partition), out var offsets) && offsets.TryGetValue(offset, out unixMs);
        }
    }
}

/// <summary>Produces an <see cref="InputSet"/> as fast as the broker takes it and the <see cref="Pacer"/> allows.</summary>
internal static class PacedProducer
{
    /// <summary>The linger of the benchmark's producers unless a run sets another (<c>--input-linger-ms</c>).</summary>
    public const int DefaultLingerMs = 5;

    /// <summary>
    /// Produces every record of <paramref name="inputs"/> to the topic <paramref name="topicOf"/> names, never past
    /// <see cref="Pacer.Limit"/>, and returns once all are acknowledged (or failed: see <see cref="ProduceLog.Failed"/>).
    /// </summary>
    public static void Run(string bootstrapServers, InputSet inputs, Func<int, string> topicOf, Pacer pacer, ProduceLog log,
        CancellationToken cancellationToken, int lingerMs = DefaultLingerMs)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                ClientId = "bench-producer",
                LingerMs = lingerMs,
                // The position is what the latency join needs back; not the key and value.
                DeliveryReportFields = "status",
            })
            .Build();
        for (var i = 0; i < inputs.Count; i++)
        {
            while (!pacer.Allows(i))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Thread.Sleep(1);
            }

            var message = inputs.Message(i);
            var at = DateTime.UtcNow;
            message.Timestamp = new Timestamp(at, TimestampType.CreateTime);
            // The time is kept from here: delivery reports from the embedded broker come back with a zero timestamp.
            var atMs = message.Timestamp.UnixTimestampMs;
            Action<DeliveryReport<byte[]?, byte[]>> onDelivery = report => log.OnDelivery(report, atMs);
            ProducerBackpressure.Produce(producer, topicOf(i), message, onDelivery);
            pacer.Count();
        }

        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
