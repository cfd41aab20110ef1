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

    private sealed class SteppedClock : TimeProvider
    {
        private long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }
}
