using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.UnitTests.Infrastructure;

public sealed class RuntimeMetricsTests : IDisposable
{
    private readonly ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly SteppingClock clock = new();
    private readonly IMeterFactory factory;
    private readonly RuntimeMetrics metrics;

    public RuntimeMetricsTests()
    {
        factory = services.GetRequiredService<IMeterFactory>();
        metrics = new RuntimeMetrics(factory);
    }

    [Fact]
    public void Heartbeat_ABatchIsMeasuredFromFilledUntilTheLoopComesBack_OnceAndByWorker()
    {
        using var sizes = new MetricCollector<int>(factory, RuntimeMetrics.MeterName, "streams.runtime.batch.size");
        using var durations = new MetricCollector<double>(factory, RuntimeMetrics.MeterName, "streams.runtime.batch.duration");
        var heartbeat = new WorkerHeartbeats(clock, metrics).For(WorkerSelection.Ingest);

        heartbeat.BatchDone();
        heartbeat.BatchFilled(250);
        clock.Advance(TimeSpan.FromMilliseconds(40));
        heartbeat.BatchDone();
        heartbeat.BatchDone();

        var size = Assert.Single(sizes.GetMeasurementSnapshot());
        Assert.Equal(250, size.Value);
        Assert.Equal(WorkerSelection.Ingest, size.Tags["worker"]);
        Assert.Equal(0.040, Assert.Single(durations.GetMeasurementSnapshot()).Value, 6);
    }

    [Fact]
    public void Heartbeat_ARetryIsCounted_AndTheBatchOfTheFailedSessionIsNotMeasured()
    {
        using var sizes = new MetricCollector<int>(factory, RuntimeMetrics.MeterName, "streams.runtime.batch.size");
        using var retries = new MetricCollector<long>(factory, RuntimeMetrics.MeterName, "streams.runtime.retries");
        var heartbeat = new WorkerHeartbeats(clock, metrics).For(WorkerSelection.Profiles);

        heartbeat.SessionStarting();
        heartbeat.BatchFilled(10);
        heartbeat.Retrying(new TimeoutException("database away"), TimeSpan.FromSeconds(1));
        heartbeat.SessionStarting();
        heartbeat.BatchDone();

        Assert.Empty(sizes.GetMeasurementSnapshot());
        var retry = Assert.Single(retries.GetMeasurementSnapshot());
        Assert.Equal(1, retry.Value);
        Assert.Equal(WorkerSelection.Profiles, retry.Tags["worker"]);
    }

    [Fact]
    public void FencedCheckpoint_StartsANewSession_AndIsCounted()
    {
        using var fenced = new MetricCollector<long>(factory, RuntimeMetrics.MeterName, RuntimeMetrics.FencedInstrument);
        var heartbeat = new WorkerHeartbeats(clock, metrics).For(WorkerSelection.Profiles);
        var sessions = 0;

        RestartingLoop.Run(WorkerSelection.Profiles, heartbeat, _ =>
        {
            if (++sessions == 1)
            {
                throw new Streams.Infrastructure.Postgres.PartitionFencedException("partition t/0 of profiles is fenced");
            }
        }, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            CancellationToken.None);

        Assert.Equal(2, sessions);
        var count = Assert.Single(fenced.GetMeasurementSnapshot());
        Assert.Equal(1, count.Value);
        Assert.Equal(WorkerSelection.Profiles, count.Tags["worker"]);
    }

    [Fact]
    public void LagAndOutboxDepth_AreObservedFromTheLatestSample()
    {
        using var lag = new MetricCollector<long>(factory, RuntimeMetrics.MeterName, RuntimeMetrics.LagInstrument);
        using var outbox = new MetricCollector<long>(factory, RuntimeMetrics.MeterName, RuntimeMetrics.OutboxInstrument);
        metrics.SetLag([("ingest", "streams-ingest", new PartitionLag(new TopicPartition("store", 3), End: 120, Committed: 100))]);
        metrics.SetOutboxDepth([("profile_outbox", 42)]);

        lag.RecordObservableInstruments();
        outbox.RecordObservableInstruments();

        var point = Assert.Single(lag.GetMeasurementSnapshot());
        Assert.Equal(20, point.Value);
        Assert.Equal(("ingest", "streams-ingest", "store", 3),
            ((string)point.Tags["worker"]!, (string)point.Tags["group"]!, (string)point.Tags["topic"]!, (int)point.Tags["partition"]!));
        Assert.Equal(42, Assert.Single(outbox.GetMeasurementSnapshot()).Value);
    }

    public void Dispose() => services.Dispose();

    private sealed class SteppingClock : TimeProvider
    {
        private long ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }
}
