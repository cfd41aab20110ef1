using System.ComponentModel.DataAnnotations;

namespace Streams.Profiles;

/// <summary>How the profiles worker batches its work (section <c>Profiles</c>).</summary>
public sealed class ProfilesOptions
{
    public const string Section = "Profiles";

    /// <summary>Consumer group of the profiles workers (default <c>streams-profiles</c>).</summary>
    [Required] public string GroupId { get; set; } = "streams-profiles";

    /// <summary>Most canonical records per batch, that is per PostgreSQL transaction (default 5000).</summary>
    [Range(1, 100_000)] public int BatchSize { get; set; } = 5000;

    /// <summary>Longest a batch waits to fill up (default 200 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")] public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>First wait after a failure (PostgreSQL or Kafka away); doubles up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts (default 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
