using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.Benchmarks.Load;

/// <summary>
/// How far a producer may run ahead: records produced so far, and the count it may reach before the next lag sample
/// raises it. Written by the producer's thread (<see cref="Produced"/>) and the monitor's (<see cref="Limit"/>).
/// </summary>
internal sealed class Pacer(long initialLimit, double perSecond = double.PositiveInfinity)
{
    private readonly System.Diagnostics.Stopwatch clock = new();
    private long produced;
    private long limit = initialLimit;

    /// <summary>
    /// Whether record number <paramref name="index"/> may go now: below the lag limit, and, with a rate, no earlier than
    /// its turn at that rate since the first record (an open-loop producer, as real channels are).
    /// </summary>
    public bool Allows(long index)
    {
        if (!clock.IsRunning)
        {
            clock.Start();
        }

        return index < Limit && (double.IsPositiveInfinity(perSecond) || index <= perSecond * clock.Elapsed.TotalSeconds);
    }

    public long Produced => Volatile.Read(ref produced);

    public long Limit
    {
        get => Volatile.Read(ref limit);
        set => Volatile.Write(ref limit, value);
    }

    public void Count() => Interlocked.Increment(ref produced);
}

/// <summary>Every record a producer got acknowledged, with the Kafka timestamp it was produced with, by its position.</summary>
internal sealed class ProduceLog
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
                timestamps[key] = partition = [];
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
    /// <summary>
    /// Produces every record of <paramref name="inputs"/> to the topic <paramref name="topicOf"/> names, never past
    /// <see cref="Pacer.Limit"/>, and returns once all are acknowledged (or failed: see <see cref="ProduceLog.Failed"/>).
    /// </summary>
    public static void Run(string bootstrapServers, InputSet inputs, Func<int, string> topicOf, Pacer pacer, ProduceLog log,
        CancellationToken cancellationToken)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                ClientId = "bench-producer",
                LingerMs = 5,
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
