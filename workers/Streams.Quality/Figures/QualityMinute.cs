using System.Globalization;
using System.Text.Json.Serialization;

namespace Streams.Quality.Figures;

/// <summary>A record of the <c>data-quality</c> topic (CONTRACT.md §9.1): one input topic's figures in one window.</summary>
public sealed record QualityMinute(
    string Topic,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    long Inputs,
    long Quarantined,
    long Flagged,
    double? QuarantinedShare,
    double? FlaggedShare,
    IReadOnlyDictionary<string, long> Reasons)
{
    public static QualityMinute Of(string topic, DateTimeOffset windowStart, TimeSpan size, QualityFigures figures)
    {
        ArgumentNullException.ThrowIfNull(figures);
        return new QualityMinute(topic, windowStart, windowStart + size, figures.Inputs, figures.Quarantined, figures.Flagged,
            figures.QuarantinedShare, figures.FlaggedShare, new SortedDictionary<string, long>(figures.Reasons.ToDictionary(), StringComparer.Ordinal));
    }

    /// <summary>The record's key: the topic and the window's start, so the compacted topic keeps the last count of each window.</summary>
    [JsonIgnore]
    public string Key => KeyOf(Topic, WindowStart);

    public static string KeyOf(string topic, DateTimeOffset windowStart) =>
        string.Create(CultureInfo.InvariantCulture, $"{topic}/{windowStart.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'}");

    /// <summary>The figures back, for the alert rules.</summary>
    public QualityFigures ToFigures() => new(Inputs, Quarantined, Flagged, Reasons);
}
