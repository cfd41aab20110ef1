using System.Diagnostics;
using Confluent.Kafka;
using Streams.Infrastructure.Kafka;

namespace Streams.UnitTests.Infrastructure;

public sealed class BatchCollectorIdleTests
{
    [Fact]
    public void Fill_InputIdle_ReturnsEmptyAfterMaxWait_SoTheUpkeepBetweenBatchesRuns()
    {
        // No broker answers: every poll comes back empty, as on an idle input.
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = "127.0.0.1:9", GroupId = "idle" })
            .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        consumer.Subscribe("idle");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new List<ConsumeResult<byte[]?, byte[]?>>();
        var clock = Stopwatch.StartNew();
        BatchCollector.Fill(consumer, buffer, 100, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(50), null, TimeProvider.System, stop.Token);
        Assert.False(stop.IsCancellationRequested, $"Fill returned only when stopped, after {clock.Elapsed}: BetweenBatches never runs while the input is idle");
        Assert.Empty(buffer);
    }
}
