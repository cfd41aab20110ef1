namespace Streams.Infrastructure.Hosting;

/// <summary>
/// The pause before a worker's next session: <c>first × 2^(n−1)</c> for the n-th failure in a row, at most
/// <c>max</c>, each pause drawn between 80 % and 100 % of that (jitter, so instances that failed together do not retry
/// together). A session that ran for a healthy period (as long as the longest pause, and at least a second) before it
/// failed starts the count again: one failure after hours of work waits the first delay, not the last one.
/// </summary>
public sealed class SessionBackoff(TimeSpan first, TimeSpan max, TimeProvider clock, Random? random = null)
{
    private readonly Random random = random ?? Random.Shared;
    private readonly TimeSpan healthy = max > TimeSpan.FromSeconds(1) ? max : TimeSpan.FromSeconds(1);
    private long sessionStarted;
    private int failures;

    /// <summary>Failures in a row so far (for tests and logs).</summary>
    public int Failures => failures;

    /// <summary>A session starts now.</summary>
    public void SessionStarting() => sessionStarted = clock.GetTimestamp();

    /// <summary>The session started last has failed: the pause before the next one.</summary>
    public TimeSpan Next()
    {
        if (sessionStarted != 0 && clock.GetElapsedTime(sessionStarted) >= healthy)
        {
            failures = 0;
        }

        failures++;
        var doubled = first.Ticks * Math.Pow(2, Math.Min(failures - 1, 62));
        var ceiling = Math.Min(doubled, max.Ticks);
        return TimeSpan.FromTicks((long)(ceiling * (0.8 + 0.2 * random.NextDouble())));
    }
}
