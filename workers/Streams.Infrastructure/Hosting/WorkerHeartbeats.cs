using System.Collections.Concurrent;
using Confluent.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// One heartbeat per worker of this host. A worker takes its own when it is constructed, so the registry lists exactly
/// the workers the host runs; the health checks read it. With <paramref name="metrics"/>, each loop's batches and
/// retries also go to the runtime meter.
/// </summary>
public sealed class WorkerHeartbeats(TimeProvider timeProvider, RuntimeMetrics? metrics = null)
{
    private readonly ConcurrentDictionary<string, WorkerHeartbeat> heartbeats = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The heartbeat of <paramref name="worker"/> (a name from <see cref="WorkerSelection.Names"/>).</summary>
    public WorkerHeartbeat For(string worker) => heartbeats.GetOrAdd(worker, name => new WorkerHeartbeat(name, timeProvider, metrics));

    /// <summary>What every registered worker's loop is doing now, by name.</summary>
    public IReadOnlyList<WorkerStatus> Statuses() => [.. heartbeats.Values.Select(h => h.Status()).OrderBy(s => s.Worker, StringComparer.Ordinal)];
}

/// <summary>Where a worker's loop is.</summary>
public enum WorkerLoopState
{
    /// <summary>The worker exists but its loop has not begun.</summary>
    NotStarted,

    /// <summary>A session (consumer, producer, loop) is running.</summary>
    Running,

    /// <summary>A session failed for a reason that can pass; a new one starts after a backoff.</summary>
    Retrying,

    /// <summary>The loop ended with an error that is not retried.</summary>
    Failed,

    /// <summary>The loop ended because the host is stopping.</summary>
    Stopped,
}

/// <summary>A worker's loop as seen at one moment.</summary>
/// <param name="LastBeat">The last time the loop polled (idle polls included); null before the first.</param>
/// <param name="RetryAt">While retrying: when the next session is due.</param>
/// <param name="Joined">The current session's consumer is a member of its group.</param>
/// <param name="Error">The failure that made it retry or fail (the exception's type and message).</param>
/// <param name="BatchRetries">Sessions in a row that failed while they held a batch, with no batch finished since: the same
/// records read again and failing again. A session that fails before it has a batch (the broker or PostgreSQL away at
/// its start) does not count.</param>
public sealed record WorkerStatus(
    string Worker, WorkerLoopState State, DateTimeOffset Since, DateTimeOffset? LastBeat, DateTimeOffset? RetryAt, bool Joined, string? Error,
    int BatchRetries = 0);

/// <summary>
/// The pulse of one worker's loop: the loop beats once per batch and on every idle poll, <see cref="RestartingLoop"/>
/// records sessions starting, failing and ending. A beat is a clock read and a write (tens of nanoseconds): cheap per
/// batch, not free per record.
/// </summary>
public sealed class WorkerHeartbeat
{
    // A consumer's group membership is a native call that allocates: asked at most this often once joined.
    private static readonly TimeSpan MembershipCheckInterval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider timeProvider;
    private readonly RuntimeMetrics? metrics;
    private readonly Lock gate = new();
    private long lastBeatTicks;
    private long membershipCheckedTicks;
    private bool joined;
    private WorkerLoopState state = WorkerLoopState.NotStarted;
    private DateTimeOffset since;
    private DateTimeOffset? retryAt;
    private string? error;

    // The batch the loop is handling: its size and when it was filled (a timestamp of the TimeProvider); 0 records: none.
    private int batchRecords;
    private long batchFilledAt;
    private int batchRetries;

    internal WorkerHeartbeat(string worker, TimeProvider timeProvider, RuntimeMetrics? metrics = null)
    {
        Worker = worker;
        this.timeProvider = timeProvider;
        this.metrics = metrics;
        since = timeProvider.GetUtcNow();
    }

    public string Worker { get; }

    /// <summary>
    /// The loop of a worker without a consumer group (a producer, say) is alive; it counts as started, since it has no
    /// group to join. Consumer loops beat with <see cref="Beat{TKey, TValue}"/>.
    /// </summary>
    public void Beat()
    {
        Volatile.Write(ref lastBeatTicks, timeProvider.GetUtcNow().UtcTicks);
        Volatile.Write(ref joined, true);
    }

    /// <summary>The loop is alive and polling <paramref name="consumer"/>; also notes whether it has joined its group.</summary>
    public void Beat<TKey, TValue>(IConsumer<TKey, TValue> consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var now = timeProvider.GetUtcNow().UtcTicks;
        Volatile.Write(ref lastBeatTicks, now);
        if (Volatile.Read(ref joined) && now - Volatile.Read(ref membershipCheckedTicks) < MembershipCheckInterval.Ticks)
        {
            return;
        }

        // librdkafka's member id is empty until the group coordinator has accepted the member.
        Volatile.Write(ref membershipCheckedTicks, now);
        Volatile.Write(ref joined, !string.IsNullOrEmpty(consumer.MemberId));
    }

    /// <summary>A batch of <paramref name="records"/> is filled and about to be handled (called on the loop's thread).</summary>
    public void BatchFilled(int records)
    {
        batchRecords = records;
        batchFilledAt = timeProvider.GetTimestamp();
    }

    /// <summary>The loop is back for the next batch, so the one it filled before is done (called on the loop's thread).</summary>
    public void BatchDone()
    {
        if (batchRecords > 0)
        {
            metrics?.Batch(Worker, batchRecords, timeProvider.GetElapsedTime(batchFilledAt));
            batchRecords = 0;
            Volatile.Write(ref batchRetries, 0);
        }
    }

    /// <summary>Marks the consumer as a member of its group (or not) without asking it; for loops without a consumer and tests.</summary>
    internal void SetJoined(bool value) => Volatile.Write(ref joined, value);

    /// <summary>A session is starting.</summary>
    public void SessionStarting() => Transition(WorkerLoopState.Running, retryIn: null, failure: null);

    /// <summary>The session failed and a new one starts in <paramref name="delay"/>.</summary>
    public void Retrying(Exception failure, TimeSpan delay)
    {
        metrics?.Retry(Worker);
        if (batchRecords > 0)
        {
            Volatile.Write(ref batchRetries, batchRetries + 1);
        }

        Transition(WorkerLoopState.Retrying, delay, failure);
    }

    /// <summary>A checkpoint of the loop was refused because another instance claimed one of its partitions.</summary>
    public void Fenced() => metrics?.Fenced(Worker);

    /// <summary>The loop ended with an error it does not retry.</summary>
    public void Failed(Exception failure) => Transition(WorkerLoopState.Failed, retryIn: null, failure);

    /// <summary>The loop ended because the host is stopping.</summary>
    public void Stopped() => Transition(WorkerLoopState.Stopped, retryIn: null, failure: null);

    public WorkerStatus Status()
    {
        var beat = Volatile.Read(ref lastBeatTicks);
        lock (gate)
        {
            return new WorkerStatus(Worker, state, since, beat == 0 ? null : new DateTimeOffset(beat, TimeSpan.Zero), retryAt,
                state == WorkerLoopState.Running && Volatile.Read(ref joined), error, Volatile.Read(ref batchRetries));
        }
    }

    private void Transition(WorkerLoopState next, TimeSpan? retryIn, Exception? failure)
    {
        var now = timeProvider.GetUtcNow();
        lock (gate)
        {
            if (state == WorkerLoopState.Failed && next == WorkerLoopState.Stopped)
            {
                return;
            }

            (state, since, retryAt) = (next, now, now + retryIn);
            // A batch of a session that ended was not done: the next session reads it again.
            batchRecords = 0;
            error = failure is null ? null : $"{failure.GetType().Name}: {failure.Message}";
            Volatile.Write(ref joined, false);
            Volatile.Write(ref lastBeatTicks, now.UtcTicks);
        }
    }
}
