namespace Streams.Simulator.Publishing;

/// <summary>
/// An even pace of at most <c>eventsPerSecond</c> records: each record is due 1/rate after the previous one. Time lost
/// waiting on backpressure is not made up with a burst. 0 means no limit.
/// </summary>
public sealed class RateLimiter
{
    private readonly TimeSpan interval;
    private DateTimeOffset next = DateTimeOffset.MinValue;

    public RateLimiter(double eventsPerSecond)
    {
        if (double.IsNaN(eventsPerSecond) || eventsPerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(eventsPerSecond), eventsPerSecond, "A rate is 0 (no limit) or positive.");
        }

        interval = eventsPerSecond == 0 || double.IsPositiveInfinity(eventsPerSecond)
            ? TimeSpan.Zero
            : TimeSpan.FromTicks(Math.Max(1, (long)Math.Round(TimeSpan.TicksPerSecond / eventsPerSecond)));
    }

    /// <summary>True when there is a limit.</summary>
    public bool Limited => interval > TimeSpan.Zero;

    /// <summary>Takes the next slot and says how long to wait from <paramref name="now"/> until it.</summary>
    public TimeSpan Reserve(DateTimeOffset now)
    {
        if (!Limited)
        {
            return TimeSpan.Zero;
        }

        if (next < now)
        {
            next = now;
        }

        var wait = next - now;
        next += interval;
        return wait;
    }
}
