using System.ComponentModel.DataAnnotations;

namespace Streams.Activation;

/// <summary>The activation worker (configuration section <c>Activation</c>).</summary>
public sealed class ActivationOptions
{
    public const string Section = "Activation";

    /// <summary>Consumer group of the worker (default <c>streams-activation</c>).</summary>
    [Required] public string GroupId { get; set; } = "streams-activation";

    /// <summary>
    /// Request rows per batch (default 5,000): one transaction, two lookups of at most this many rows' pseudonyms. It is
    /// what bounds the worker's memory, whatever the size of a list.
    /// </summary>
    [Range(1, 100_000)] public int BatchSize { get; set; } = 5000;

    /// <summary>Longest wait for a batch to fill once its first row is in (default 200 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")] public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>First pause before a failed session is retried (default 500 ms), doubling up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest pause between retries (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
