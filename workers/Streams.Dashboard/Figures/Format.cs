using System.Globalization;

namespace Streams.Dashboard.Figures;

/// <summary>How figures read, the same on screen and in the report.</summary>
public static class Format
{
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Count(long? value) => value is { } v ? Count(v) : "–";

    public static string Rate(double? perSecond) => perSecond is { } r ? r.ToString(r < 10 ? "0.0" : "N0", CultureInfo.InvariantCulture) : "–";

    public static string Duration(TimeSpan span) => span < TimeSpan.Zero
        ? "0s"
        : span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h {span.Minutes:00}m {span.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds:00}s");

    public static string Z(double z) => z.ToString("+0.00;−0.00;0.00", CultureInfo.InvariantCulture);

    public static string Number(double value) => Math.Abs(value) >= 100
        ? value.ToString("N0", CultureInfo.InvariantCulture)
        : value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>"store 3 · social 1": a reason code's counts per topic, largest first.</summary>
    public static string PerTopic(IReadOnlyDictionary<string, long> perTopic) => string.Join(" · ", perTopic
        .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {Count(kv.Value)}"));

    /// <summary>"total_spend +1.20, call_count −0.80".</summary>
    public static string TopFeatures(IEnumerable<Segmentation.Model.DistinctiveFeature> features) =>
        string.Join(", ", features.Select(f => $"{f.Feature} {Z(f.SegmentZ)}"));

    /// <summary>A segment that is below the privacy floor, in words.</summary>
    public static string BelowFloor(int minSegmentSize) =>
        $"below the privacy floor ({Count(minSegmentSize)} members): not described";
}
