using System.Globalization;
using Streams.Infrastructure.Hosting;

namespace Streams.Infrastructure.Health;

/// <summary>Whether a worker's loop is live and ready, from its <see cref="WorkerStatus"/>; no clock, no I/O.</summary>
public static class WorkerHealth
{
    /// <summary>
    /// Live: the loop has not ended with an error, it has polled (or started a session, or is waiting out a retry
    /// backoff) within <paramref name="stallAfter"/>, and it has not failed on the same batch more than
    /// <paramref name="maxBatchRetries"/> sessions in a row (a loop that only ever replays one batch is stuck, whatever its
    /// backoff says; restarting the process is the next thing to try). A worker whose loop has not begun yet is live: it
    /// is starting. An outage of the broker or PostgreSQL fails sessions before they hold a batch: not live-threatening.
    /// </summary>
    public static WorkerVerdict Live(WorkerStatus status, DateTimeOffset now, TimeSpan stallAfter, int maxBatchRetries = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(status);
        switch (status.State)
        {
            case WorkerLoopState.NotStarted:
                return new(true, "not started yet");
            case WorkerLoopState.Failed:
                return new(false, $"loop ended with an error: {status.Error}");
            case WorkerLoopState.Stopped:
                return new(false, "loop stopped");
        }

        if (status.BatchRetries > maxBatchRetries)
        {
            return new(false, $"stuck: the same batch failed {status.BatchRetries} sessions in a row (limit {maxBatchRetries}): {status.Error}");
        }

        // While waiting to retry, the loop is expected back at RetryAt: the silence before that is not a stall.
        var progress = Max(status.LastBeat ?? status.Since, status.RetryAt ?? DateTimeOffset.MinValue);
        var silent = now - progress;
        if (silent > stallAfter)
        {
            return new(false, $"stalled: no progress for {Seconds(silent)} (limit {Seconds(stallAfter)})");
        }

        return status.State == WorkerLoopState.Retrying
            ? new(true, $"retrying after: {status.Error}")
            : new(true, $"running, last poll {Seconds(now - progress)} ago");
    }

    /// <summary>Started: a session is running and its consumer has joined its group (what readiness adds to liveness).</summary>
    public static WorkerVerdict Started(WorkerStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status switch
        {
            { State: WorkerLoopState.Running, Joined: true } => new(true, "member of its consumer group"),
            { State: WorkerLoopState.Running } => new(false, "running, not yet a member of its consumer group"),
            { State: WorkerLoopState.NotStarted } => new(false, "not started yet"),
            { State: WorkerLoopState.Retrying } => new(false, $"waiting to retry after: {status.Error}"),
            { State: WorkerLoopState.Failed } => new(false, $"loop ended with an error: {status.Error}"),
            _ => new(false, "loop stopped"),
        };
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static string Seconds(TimeSpan span) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, span.TotalSeconds):0.0} s");
}

/// <summary>A check's answer for one worker and the reason a person reads.</summary>
public readonly record struct WorkerVerdict(bool Healthy, string Detail);
