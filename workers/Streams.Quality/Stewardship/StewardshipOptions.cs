using System.ComponentModel.DataAnnotations;

namespace Streams.Quality.Stewardship;

/// <summary>
/// The stewards' quarantine index and replays (configuration section <c>Stewards</c>, which the stewards' console shares;
/// these keys are the index's and the replays').
/// </summary>
public sealed class StewardshipOptions
{
    public const string Section = "Stewards";

    /// <summary>Consumer group of the quarantine-index worker (default <c>streams-quarantine-index</c>).</summary>
    [Required] public string IndexGroupId { get; set; } = "streams-quarantine-index";

    /// <summary>Quarantine records per index transaction (default 1,000).</summary>
    [Range(1, 100_000)] public int IndexBatchSize { get; set; } = 1000;

    /// <summary>Longest wait for an index batch to fill once its first record is in (default 200 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")] public TimeSpan IndexMaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long reading an original from its input topic may take (default 10 s): metadata, the seek and the fetch. Past
    /// it the read fails (the broker is away); it never waits for a record that is not there.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")] public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
