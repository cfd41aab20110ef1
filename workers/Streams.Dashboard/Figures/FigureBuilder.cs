using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;
using Streams.Ingest.Worker;

namespace Streams.Dashboard.Figures;

/// <summary>
/// Turns recorded measurements into the figures a person reads: totals per topic and outcome, rates between two
/// snapshots, counts per reason code. Pure: no clock, no I/O.
/// </summary>
public static class FigureBuilder
{
    public const string IngestRecords = "streams.ingest.records";
    public const string IngestReasons = "streams.ingest.reasons";
    public const string ProfilesRecords = "streams.profiles.records";
    public const string ProfilesMerges = "streams.profiles.merges";
    public const string ProfilesConflicts = "streams.profiles.identity_conflicts";
    public const string SegmentationProfiles = "streams.segmentation.profiles";
    public const string SegmentationReseeds = "streams.segmentation.reseeds";
    public const string SegmentationModelVersion = "streams.segmentation.model_version";
    public const string SimulatorRecords = "streams.simulator.records";
    public const string ActivationRows = "streams.activation.rows";
    public const string ActivationMatched = "streams.activation.matched";
    public const string ActivationRefused = "streams.activation.refused";

    /// <summary>
    /// One row per input topic (in <paramref name="inputs"/> order, then any other topic seen), with rates over the
    /// interval from <paramref name="previous"/> when there is one.
    /// </summary>
    public static IReadOnlyList<TopicFigures> Topics(MeasurementSnapshot? previous, MeasurementSnapshot current, IReadOnlyList<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(inputs);
        var seen = current.Series(IngestRecords).Concat(current.Series(SimulatorRecords)).Select(kv => kv.Key.Topic)
            .OfType<string>().Where(t => !inputs.Contains(t, StringComparer.Ordinal)).Distinct().Order(StringComparer.Ordinal);
        var simulating = current.Values.Keys.Any(k => k.Instrument == SimulatorRecords);
        var seconds = previous is null ? 0 : (current.At - previous.At).TotalSeconds;
        return [.. inputs.Concat(seen).Select(topic =>
        {
            long Count(string instrument, string? label = null) => (long)current.Sum(instrument, topic, label);
            double? Rate(string instrument) => seconds > 0 ? Math.Max(0, current.Sum(instrument, topic) - previous!.Sum(instrument, topic)) / seconds : null;
            return new TopicFigures(
                topic,
                Count(IngestRecords),
                Rate(IngestRecords),
                Count(IngestRecords, IngestMetrics.Accepted),
                Count(IngestRecords, IngestMetrics.Flagged),
                Count(IngestRecords, IngestMetrics.Quarantined),
                Count(IngestRecords, IngestMetrics.Duplicate),
                Count(IngestRecords, IngestMetrics.AnonymousSale),
                simulating ? Count(SimulatorRecords) : null,
                simulating ? Rate(SimulatorRecords) : null,
                simulating ? (long)current.Values.Where(kv => kv.Key.Instrument == SimulatorRecords && kv.Key.Topic == topic && IsInjected(kv.Key.Label)).Sum(kv => kv.Value) : null);
        })];
    }

    /// <summary>
    /// The simulator tags a record <c>injected</c> with a reason code or a flag; anything but empty, <c>false</c> or
    /// <c>none</c> means the record was made dirty on purpose.
    /// </summary>
    internal static bool IsInjected(string? label) => label is { Length: > 0 }
        && !(label.Equals("false", StringComparison.OrdinalIgnoreCase) || label.Equals("none", StringComparison.OrdinalIgnoreCase)
            || label.Equals("clean", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Records per reason code and topic, codes in contract order, then any code the contract does not know. Identity
    /// conflicts come from the profiles worker, which reads the internal canonical topic: they are counted under
    /// <paramref name="conflictTopic"/>.
    /// </summary>
    public static IReadOnlyList<ReasonFigures> Reasons(MeasurementSnapshot current, string conflictTopic)
    {
        ArgumentNullException.ThrowIfNull(current);
        var perCode = current.Series(IngestReasons)
            .Where(kv => kv.Key.Label is not null && kv.Value > 0)
            .GroupBy(kv => kv.Key.Label!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, long>)g
                .GroupBy(kv => kv.Key.Topic ?? "?", StringComparer.Ordinal)
                .ToDictionary(t => t.Key, t => (long)t.Sum(kv => kv.Value), StringComparer.Ordinal), StringComparer.Ordinal);
        var conflicts = (long)current.Sum(ProfilesConflicts);
        if (conflicts > 0)
        {
            perCode[ReasonCodes.IdentityConflict] = new Dictionary<string, long>(StringComparer.Ordinal) { [conflictTopic] = conflicts };
        }

        return [.. perCode
            .OrderBy(kv => ContractOrder(kv.Key))
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ReasonFigures(kv.Key, Disposition(kv.Key), kv.Value))];
    }

    private static int ContractOrder(string code)
    {
        for (var i = 0; i < ReasonCodes.All.Count; i++)
        {
            if (ReasonCodes.All[i] == code)
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    /// <summary>What CONTRACT §4 does to a record with this code.</summary>
    public static string Disposition(string code) => code switch
    {
        ReasonCodes.InvalidEmail or ReasonCodes.InvalidPhone => "flagged (quarantined if only identifier)",
        _ when ReasonCodes.IsFlag(code) => "flagged",
        _ when ReasonCodes.All.Contains(code, StringComparer.Ordinal) => "quarantined",
        _ => "unknown",
    };

    public static PipelineFigures Pipeline(MeasurementSnapshot current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var version = current.Series(SegmentationModelVersion).Select(kv => (double?)kv.Value).Max();
        return new PipelineFigures(
            (long)current.Sum(ProfilesRecords),
            (long)current.Sum(ProfilesMerges),
            (long)current.Sum(ProfilesConflicts),
            (long)current.Sum(SegmentationProfiles),
            (long)current.Sum(SegmentationReseeds),
            version is > 0 ? (long)version : null,
            (long)current.Sum(ActivationRows),
            (long)current.Sum(ActivationMatched),
            (long)current.Sum(ActivationRefused));
    }
}
