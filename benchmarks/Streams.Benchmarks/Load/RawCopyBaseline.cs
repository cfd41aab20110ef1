using System.Diagnostics;
using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.Benchmarks.Load;

/// <summary>What the baseline measured: seconds from the first produce to the last copy acknowledged, and its CPU.</summary>
internal sealed record BaselineResult(int Records, double Seconds, double ProcessCpuSeconds, long MaxPartitionLag)
{
    public double RecordsPerSecond => Records / Seconds;
}

/// <summary>
/// The floor any consume-transform-produce pipeline on this broker sits on: the same records, produced the same paced
/// way into one topic of the same partition count, copied by a bare Confluent.Kafka consume→produce loop into another,
/// timed from the first produce until the last copy is acknowledged.
/// </summary>
internal static class RawCopyBaseline
{
    private const string Group = "bench-raw-copy";

    public static BaselineResult Run(EmbeddedKafkaCluster cluster, InputSet inputs, int partitions, long budgetBytes, TimeSpan sampleEvery,
        TimeSpan stallAfter, CancellationToken cancellationToken)
    {
        var (from, to) = ("bench.raw-copy.in", "bench.raw-copy.out");
        cluster.CreateTopic(from, partitions);
        cluster.CreateTopic(to, partitions);
        var pacer = new Pacer(0);
        var log = new ProduceLog();
        using var monitor = new StageMonitor(cluster.BootstrapServers, [new Stage("copy", Group, [from], () => inputs.MeanBytes)],
            partitions, budgetBytes, pacer);
        monitor.Sample();
        var copied = 0L;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var copy = LoadRun.OnOwnThread("bench-copy", () => Copy(cluster.BootstrapServers, from, to, inputs.Count, () => Interlocked.Increment(ref copied), stop.Token),
            stop.Token);
        var produce = LoadRun.OnOwnThread("bench-producer", () => PacedProducer.Run(cluster.BootstrapServers, inputs, _ => from, pacer, log, stop.Token),
            stop.Token);
        var maxLag = 0L;
        var (progress, progressAt) = (-1L, Stopwatch.StartNew());
        try
        {
            while (!copy.IsCompleted)
            {
                if (produce.IsFaulted)
                {
                    produce.GetAwaiter().GetResult();
                }

                maxLag = Math.Max(maxLag, monitor.Sample()[0].MaxPartitionLag);
                if (Interlocked.Read(ref copied) != progress)
                {
                    (progress, progressAt) = (Interlocked.Read(ref copied), Stopwatch.StartNew());
                }
                else if (progressAt.Elapsed > stallAfter)
                {
                    throw new TimeoutException($"The baseline copied nothing for {stallAfter.TotalSeconds:F0} s at {progress:N0} of {inputs.Count:N0} records.");
                }

                copy.Wait(sampleEvery, cancellationToken);
            }

            produce.GetAwaiter().GetResult();
        }
        finally
        {
            stop.Cancel();
        }

        // From the first record's timestamp, as the pipeline's run is timed.
        var seconds = (copy.GetAwaiter().GetResult() - log.FirstMs) / 1000.0;
        if (log.Failed > 0)
        {
            throw new InvalidOperationException($"{log.Failed} baseline records were not produced: {log.FirstError}");
        }

        return new BaselineResult(inputs.Count, seconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, maxLag);
    }

    // Consume, produce the same key and value, let auto-commit record progress: the least a copying stage can do.
    private static long Copy(string bootstrapServers, string from, string to, int count, Action onCopied, CancellationToken cancellationToken)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = Group,
                ClientId = "bench-raw-copy",
                AutoOffsetReset = AutoOffsetReset.Earliest,
                AutoCommitIntervalMs = 100,
            })
            .Build();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                ClientId = "bench-raw-copy",
                LingerMs = 5,
                DeliveryReportFields = "status",
            })
            .Build();
        var failed = 0;
        Action<DeliveryReport<byte[]?, byte[]?>> onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref failed);
            }
        };
        consumer.Subscribe(from);
        for (var consumed = 0; consumed < count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } record)
            {
                continue;
            }

            consumed++;
            ProducerBackpressure.Produce(producer, to, new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value }, onDelivery);
            onCopied();
        }

        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        var doneMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        consumer.Close();
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} baseline copies were not delivered.");
        }

        return doneMs;
    }
}
