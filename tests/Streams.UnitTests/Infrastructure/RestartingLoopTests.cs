using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class RestartingLoopTests
{
    [Fact]
    public void Describe_NamesEveryCause_SoATimeoutReadsAsOne()
    {
        var e = new IOException("Exception while reading from stream", new TimeoutException("Timeout during reading attempt"));

        Assert.Equal("Exception while reading from stream (TimeoutException: Timeout during reading attempt)", RestartingLoop.Describe(e));
        Assert.Equal("plain", RestartingLoop.Describe(new InvalidOperationException("plain")));
    }

    [Fact]
    public void TransientFailures_StartNewSessions_UntilOneEnds()
    {
        var heartbeat = new WorkerHeartbeats(TimeProvider.System).For("test");
        var sessions = 0;

        RestartingLoop.Run("test", heartbeat, _ =>
        {
            if (++sessions < 3)
            {
                throw new KafkaException(ErrorCode.Local_Transport);
            }
        }, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), NullLogger.Instance, CancellationToken.None);

        Assert.Equal(3, sessions);
        Assert.Equal(WorkerLoopState.Stopped, heartbeat.Status().State);
    }

    [Fact]
    public void AFailureThatCannotPass_EndsTheLoop_AndMarksItFailed()
    {
        var heartbeat = new WorkerHeartbeats(TimeProvider.System).For("test");
        var sessions = 0;

        Assert.Throws<ArgumentException>(() => RestartingLoop.Run("test", heartbeat, _ =>
        {
            sessions++;
            throw new ArgumentException("a bug");
        }, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), NullLogger.Instance, CancellationToken.None));

        Assert.Equal(1, sessions);
        Assert.Equal(WorkerLoopState.Failed, heartbeat.Status().State);
    }

    [Fact]
    public void Stopping_DuringAPause_EndsTheLoopWithoutAnotherSession()
    {
        var heartbeat = new WorkerHeartbeats(TimeProvider.System).For("test");
        using var stopping = new CancellationTokenSource();
        var sessions = 0;

        RestartingLoop.Run("test", heartbeat, _ =>
        {
            sessions++;
            stopping.CancelAfter(TimeSpan.FromMilliseconds(50));
            throw new KafkaException(ErrorCode.Local_Transport);
        }, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), NullLogger.Instance, stopping.Token);

        Assert.Equal(1, sessions);
        Assert.Equal(WorkerLoopState.Stopped, heartbeat.Status().State);
    }

    [Fact]
    public void Backoff_DoublesWithJitter_UpToTheLimit()
    {
        var clock = new SteppedClock();
        var backoff = new SessionBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), clock, new Random(7));
        var pauses = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            backoff.SessionStarting();
            clock.Advance(TimeSpan.FromMilliseconds(100));
            pauses.Add(backoff.Next());
        }

        double[] ceilings = [1, 2, 4, 8, 16, 30, 30, 30];
        for (var i = 0; i < ceilings.Length; i++)
        {
            Assert.InRange(pauses[i].TotalSeconds, 0.8 * ceilings[i], ceilings[i]);
        }

        Assert.True(pauses.Distinct().Count() > 1, "jitter draws different pauses");
    }

    [Fact]
    public void Backoff_StartsAgainFromTheFirstDelay_AfterAHealthySession()
    {
        var clock = new SteppedClock();
        var backoff = new SessionBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), clock, new Random(7));
        for (var i = 0; i < 6; i++)
        {
            backoff.SessionStarting();
            backoff.Next();
        }

        Assert.Equal(6, backoff.Failures);
        backoff.SessionStarting();
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.InRange(backoff.Next().TotalSeconds, 0.8, 1.0);
        Assert.Equal(1, backoff.Failures);
    }

    [Fact]
    public void Loop_PausesGrowWhileSessionsFail_AndStartOverAfterASessionThatRanHealthy()
    {
        var heartbeat = new WorkerHeartbeats(TimeProvider.System).For("test");
        var logger = new DelayLogger();
        var sessions = 0;

        // Four quick failures, then a session that runs past the healthy period (the longest pause, at least 1 s)
        // before it fails too, then the loop ends.
        RestartingLoop.Run("test", heartbeat, _ =>
        {
            sessions++;
            if (sessions == 5)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1.2));
            }

            if (sessions <= 5)
            {
                throw new TimeoutException("database away");
            }
        }, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(80), logger, CancellationToken.None);

        var pauses = logger.Delays.Select(d => d.TotalMilliseconds).ToList();
        Assert.Equal(5, pauses.Count);
        Assert.InRange(pauses[0], 16, 20);
        Assert.InRange(pauses[1], 32, 40);
        Assert.InRange(pauses[2], 64, 80);
        Assert.InRange(pauses[3], 64, 80);
        // After recovery the first failure waits the first delay again, not the last one.
        Assert.InRange(pauses[4], 16, 20);
    }

    /// <summary>The pauses <see cref="RestartingLoop"/> announces in its log.</summary>
    private sealed class DelayLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<TimeSpan> Delays { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values && values.FirstOrDefault(v => v.Key == "Delay").Value is TimeSpan delay)
            {
                Delays.Add(delay);
            }
        }
    }

    private sealed class SteppedClock : TimeProvider
    {
        private long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }
}
