using System.ComponentModel.DataAnnotations;

namespace Streams.Segmentation;

/// <summary>Online segmentation (section <c>Segmentation</c>).</summary>
public sealed class SegmentationOptions
{
    public const string Section = "Segmentation";

    /// <summary>Number of segments (default 8). Changing it re-seeds the model.</summary>
    [Range(2, 64)] public int K { get; set; } = 8;

    /// <summary>Profiles per mini-batch (default 500).</summary>
    [Range(1, 100_000)] public int MiniBatchSize { get; set; } = 500;

    /// <summary>Longest a mini-batch waits to fill (default 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")] public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Profiles sampled before the first model is seeded with ML.NET's k-means++ (default 1000).</summary>
    [Range(10, 1_000_000)] public int SeedSize { get; set; } = 1000;

    /// <summary>Reservoir sample kept for seeding and for measuring quality (default 5000).</summary>
    [Range(10, 1_000_000)] public int SampleSize { get; set; } = 5000;

    /// <summary>Decay half-life in profiles, so segments follow changing behaviour; 0 turns decay off (default 50,000).</summary>
    [Range(0, double.MaxValue)] public double HalfLife { get; set; } = 50_000;

    /// <summary>Relative growth of the Davies–Bouldin index over its value after the last seed that triggers a re-seed (default 0.25).</summary>
    [Range(0, 100)] public double ReseedThreshold { get; set; } = 0.25;

    /// <summary>Quality is measured every this many mini-batches (default 20).</summary>
    [Range(1, 100_000)] public int QualityEvery { get; set; } = 20;

    /// <summary>
    /// Segments with fewer members are not described in the catalog and their members get no assignment (default 50),
    /// so a description never points at a handful of people.
    /// </summary>
    [Range(1, 1_000_000)] public int MinSegmentSize { get; set; } = 50;

    /// <summary>
    /// Profiles re-assigned per transaction after a re-seed (default 5000): the mini-batch that re-seeds assigns its own
    /// profiles, the others follow in chunks of this size before the next mini-batch, so memory and transaction length
    /// are bounded by the chunk, not by the number of profiles.
    /// </summary>
    [Range(100, 1_000_000)] public int ReassignChunkSize { get; set; } = 5000;

    /// <summary>Longest any statement of a re-assignment chunk may run (default 30 s); past it the session starts over and
    /// resumes with the chunks not yet committed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan ReassignTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Seed of every random choice (reservoir, k-means++), so runs repeat (default 2026).</summary>
    public int RandomSeed { get; set; } = 2026;

    /// <summary>Consumer group of the segmentation workers.</summary>
    [Required] public string GroupId { get; set; } = "streams-segmentation";

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")] public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
