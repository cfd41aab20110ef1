using Streams.Segmentation.Model;

namespace Streams.Dashboard.Figures;

/// <summary>One input topic: what ingest did with its records, and what the simulator wrote to it (when it runs).</summary>
/// <param name="Topic">The input topic.</param>
/// <param name="Records">Records ingest handled since start (every outcome).</param>
/// <param name="PerSecond">Records per second over the last sampling interval; null on the first sample.</param>
/// <param name="Simulated">Records the simulator produced to the topic; null when no simulator meter exists.</param>
/// <param name="SimulatedPerSecond">The simulator's records per second over the last interval.</param>
/// <param name="Injected">Simulated records that were made dirty on purpose.</param>
public sealed record TopicFigures(
    string Topic, long Records, double? PerSecond, long Accepted, long Flagged, long Quarantined, long Duplicates, long AnonymousSales,
    long? Simulated, double? SimulatedPerSecond, long? Injected);

/// <summary>One reason code: records flagged or quarantined for it, per input topic.</summary>
/// <param name="Code">The CONTRACT §4 code.</param>
/// <param name="Disposition">What the code does to a record: flagged, quarantined, or flagged unless it was the only identifier.</param>
public sealed record ReasonFigures(string Code, string Disposition, IReadOnlyDictionary<string, long> PerTopic)
{
    public long Total => PerTopic.Values.Sum();
}

/// <summary>Profiles, segmentation and audience-join totals since start.</summary>
/// <param name="ActivationRows">Campaign-list rows the activation worker committed (answered or refused): a long list's progress.</param>
/// <param name="ActivationMatched">Of those, rows answered with a segment.</param>
/// <param name="ActivationRefused">Of those, rows refused and quarantined.</param>
public sealed record PipelineFigures(
    long CanonicalRecords, long Merges, long IdentityConflicts, long SegmentedProfiles, long Reseeds, long? ModelVersion,
    long ActivationRows = 0, long ActivationMatched = 0, long ActivationRefused = 0);

/// <summary>A worker's consumer group and how many records it has not committed yet; a status when it could not be read.</summary>
public sealed record LagFigures(string Worker, string Group, long? Lag, string? Status);

/// <summary>One segment of the current model.</summary>
/// <param name="Id">Segment id (stable across re-seeds when it is the same group).</param>
/// <param name="Size">Members in the current model version.</param>
/// <param name="Described">False while the segment is below the privacy floor: it is then neither described nor assigned.</param>
/// <param name="Description">The catalog's sentence (empty when not described).</param>
/// <param name="TopFeatures">The most distinctive features, in standardized units.</param>
/// <param name="Centroid">The centroid per <see cref="FeatureSpace.Names"/>, in population standard deviations (0 = the average customer).</param>
/// <param name="Typical">The centroid in the features' own units.</param>
public sealed record SegmentFigures(
    int Id, long Size, bool Described, string Description, IReadOnlyList<DistinctiveFeature> TopFeatures, IReadOnlyList<double> Centroid,
    IReadOnlyDictionary<string, double> Typical);

/// <summary>The segmentation model as stored in PostgreSQL.</summary>
/// <param name="ModelVersion">Null before the first seed.</param>
/// <param name="Population">The average customer in the features' own units.</param>
/// <param name="MinSegmentSize">The privacy floor.</param>
/// <param name="Status">Why the segments could not be read, or null.</param>
public sealed record SegmentsFigures(
    long? ModelVersion, IReadOnlyList<SegmentFigures> Segments, IReadOnlyDictionary<string, double> Population, int MinSegmentSize,
    string? Status)
{
    public static SegmentsFigures Unavailable(int minSegmentSize, string status) =>
        new(null, [], new Dictionary<string, double>(), minSegmentSize, status);
}

/// <summary>Everything the live view shows and the exit report writes, at one moment.</summary>
/// <param name="Statuses">Sampling problems (a source that did not answer), shown rather than thrown.</param>
/// <param name="LogFile">Where log lines go while the live view owns the console; null when they go to the console.</param>
public sealed record DashboardFigures(
    DateTimeOffset At, TimeSpan Uptime, string Broker, string Database, IReadOnlyList<TopicFigures> Topics,
    IReadOnlyList<ReasonFigures> Reasons, PipelineFigures Pipeline, IReadOnlyList<LagFigures> Lag, SegmentsFigures Segments,
    IReadOnlyList<string> Statuses, string? LogFile);
