using System.ComponentModel.DataAnnotations;

namespace Streams.Segmentation;

/// <summary>Online segmentation (section <c>Segmentation</c>).</summary>
public sealed class SegmentationOptions : IValidatableObject
{
    public const string Section = "Segmentation";

    /// <summary>
    /// Number of segments: 0 (the default) chooses it from the data at every seed and re-seed, within
    /// <see cref="MinK"/>…<see cref="MaxK"/>, by the mean silhouette; 2–64 fixes it, and changing it re-seeds the model.
    /// </summary>
    [Range(0, 64)] public int K { get; set; }

    /// <summary>Fewest segments k may be chosen (default 3).</summary>
    [Range(2, 64)] public int MinK { get; set; } = 3;

    /// <summary>Most segments k may be chosen (default 10).</summary>
    [Range(2, 64)] public int MaxK { get; set; } = 10;

    /// <summary>
    /// Events a profile needs before it trains the model or gets an assignment (default 10): a handful of events says
    /// little about how someone behaves, and shares over two events are noise. 0 turns the rule off.
    /// </summary>
    [Range(0, 1_000_000)] public int MinEvents { get; set; } = 10;

    /// <summary>Profiles per mini-batch (default 500).</summary>
    [Range(1, 100_000)] public int MiniBatchSize { get; set; } = 500;

    /// <summary>Longest a mini-batch waits to fill (default 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")] public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Distinct eligible profiles sampled before the first model is seeded with ML.NET's k-means++ (default 500).</summary>
    [Range(10, 1_000_000)] public int SeedSize { get; set; } = 500;

    /// <summary>Profiles (not updates) kept in the sample for seeding, choosing k and the batch fit (default 5000).</summary>
    [Range(10, 1_000_000)] public int SampleSize { get; set; } = 5000;

    /// <summary>
    /// The poor-optimum guard: a fresh batch fit on the sample re-seeds the model when its inertia is lower than the
    /// online model's by more than this share of the batch fit's (default 0.05).
    /// </summary>
    [Range(0, 100)] public double ReseedMargin { get; set; } = 0.05;

    /// <summary>The guard runs every this many mini-batches (default 20).</summary>
    [Range(1, 100_000)] public int QualityEvery { get; set; } = 20;

    /// <summary>
    /// Most sample profiles ML.NET trains on in the guard's fit and in the fits that choose k (default 1500, as many as the
    /// silhouette is computed on): each fit's cost grows with its points. The guard's inertias and the choice of the best
    /// restart are still computed on the whole sample, and the chosen k is fitted on the whole sample.
    /// </summary>
    [Range(100, 1_000_000)] public int FitPoints { get; set; } = 1500;

    /// <summary>A segment's catalog record is published again when its live size has moved by more than this share of the
    /// size last published (default 0.01).</summary>
    [Range(0, 1)] public double CatalogTolerance { get; set; } = 0.01;

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

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (K == 1)
        {
            yield return new ValidationResult("Segmentation:K must be 0 (chosen from the data) or 2 to 64.", [nameof(K)]);
        }

        if (MaxK < MinK)
        {
            yield return new ValidationResult("Segmentation:MaxK must be at least Segmentation:MinK.", [nameof(MaxK)]);
        }
    }
}
