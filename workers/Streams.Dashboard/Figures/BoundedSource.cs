namespace Streams.Dashboard.Figures;

/// <summary>
/// A slow source of figures (lag, segments) sampled with a time bound. Its read outlives a timeout: the next sample waits
/// for that same read again instead of starting a second one beside it (the lag reader is not thread-safe, and a slow
/// database should not get a pile of queries). Failures become status lines; the last good figures stay.
/// </summary>
internal sealed class BoundedSource<T>(string what, Func<Task<T>> read, T initial)
{
    private Task<T>? pending;

    /// <summary>The last figures read.</summary>
    public T Last { get; private set; } = initial;

    /// <summary>True while a read that timed out is still running.</summary>
    public bool Busy => pending is { IsCompleted: false };

    public async Task SampleAsync(TimeSpan timeout, TimeProvider time, List<string> statuses, CancellationToken cancellationToken)
    {
        var task = pending ??= read();
        try
        {
            Last = await task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            pending = null;
        }
        catch (TimeoutException)
        {
            statuses.Add($"{what}: no answer within {timeout.TotalSeconds:0.#} s; showing the last figures");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            pending = null;
            statuses.Add($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }
}
