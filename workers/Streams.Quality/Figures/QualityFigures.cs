using Streams.Contracts.Quarantine;

namespace Streams.Quality.Figures;

/// <summary>
/// What ingest made of the records of one input topic in one window: how many it judged, how many it quarantined or
/// flagged, and the reason codes of those. One observation (one output record of ingest) is a figure with counts of 0
/// or 1, so the window's figure is the sum of its observations: a reduce, associative and commutative.
/// </summary>
/// <param name="Inputs">Input records judged: every canonical record ingest wrote plus every record it quarantined.</param>
/// <param name="Quarantined">Records with disposition <c>quarantined</c>.</param>
/// <param name="Flagged">Records with disposition <c>flagged</c> (also counted in <paramref name="Inputs"/> by their canonical record).</param>
/// <param name="Reasons">Records per reason code (a record with two codes counts once under each).</param>
public sealed record QualityFigures(long Inputs, long Quarantined, long Flagged, IReadOnlyDictionary<string, long> Reasons)
{
    public static QualityFigures Empty { get; } = new(0, 0, 0, new Dictionary<string, long>(StringComparer.Ordinal));

    /// <summary>One canonical record: one input judged clean enough to use.</summary>
    public static QualityFigures Input { get; } = new(1, 0, 0, Empty.Reasons);

    /// <summary>Share of quarantined records among the inputs, or null without inputs.</summary>
    public double? QuarantinedShare => Inputs == 0 ? null : (double)Quarantined / Inputs;

    /// <summary>Share of flagged records among the inputs, or null without inputs.</summary>
    public double? FlaggedShare => Inputs == 0 ? null : (double)Flagged / Inputs;

    /// <summary>One quarantine record: quarantined (an input that became nothing else) or flagged (its canonical record counts the input).</summary>
    public static QualityFigures QuarantineRecord(bool flagged, IEnumerable<string> reasonCodes)
    {
        var reasons = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var code in reasonCodes)
        {
            reasons[code] = 1;
        }

        return flagged ? new QualityFigures(0, 0, 1, reasons) : new QualityFigures(1, 1, 0, reasons);
    }

    public static QualityFigures Add(QualityFigures a, QualityFigures b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var reasons = new Dictionary<string, long>(a.Reasons, StringComparer.Ordinal);
        foreach (var (code, count) in b.Reasons)
        {
            reasons[code] = reasons.GetValueOrDefault(code) + count;
        }

        return new QualityFigures(a.Inputs + b.Inputs, a.Quarantined + b.Quarantined, a.Flagged + b.Flagged, reasons);
    }

    /// <summary>Figures compare by their counts, reasons included (a record's default equality would compare the dictionary's reference).</summary>
    public bool Equals(QualityFigures? other) =>
        other is not null && Inputs == other.Inputs && Quarantined == other.Quarantined && Flagged == other.Flagged
        && Reasons.Count == other.Reasons.Count
        && Reasons.All(r => other.Reasons.TryGetValue(r.Key, out var count) && count == r.Value);

    public override int GetHashCode() => HashCode.Combine(Inputs, Quarantined, Flagged, Reasons.Count);
}
