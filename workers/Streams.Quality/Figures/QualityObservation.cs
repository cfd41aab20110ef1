using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Ingest.Worker;

namespace Streams.Quality.Figures;

/// <summary>
/// Turns one output record of ingest into what it tells about its input topic. Nothing personal is read or kept: the
/// topic comes from the topic the record is on (a quarantine topic) or from ingest's source header (the canonical
/// topic), and only the disposition and the reason codes are read from a quarantine record, never its masked copy.
/// </summary>
public sealed partial class QualityObservation(TopicCatalog catalog)
{
    /// <summary>What a code that is not a plain lower-case identifier is counted as, so no free text reaches the figures.</summary>
    public const string UnrecognizedCode = "unrecognized";

    /// <summary>At most this many distinct codes are counted per record; a record listing more is hostile, not informative.</summary>
    private const int MaxCodesPerRecord = 32;

    private readonly HashSet<string> inputs = new(catalog.Inputs, StringComparer.Ordinal);
    private readonly string canonical = catalog.Names.Canonical;

    /// <summary>
    /// The input topic and figures of one record, or null for a record that says nothing about an input (a canonical
    /// record ingest did not write, a quarantine record that is not a JSON object).
    /// </summary>
    public (string Topic, QualityFigures Figures)? Read(string recordTopic, Headers? headers, ReadOnlySpan<byte> value)
    {
        if (recordTopic == canonical)
        {
            return OutputHeaders.Read(headers) is { } output && inputs.Contains(output.Source.Topic)
                ? (output.Source.Topic, QualityFigures.Input)
                : null;
        }

        if (!recordTopic.EndsWith(QuarantineSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        var topic = recordTopic[..^QuarantineSuffix.Length];
        QuarantineSummary? summary;
        try
        {
            summary = JsonSerializer.Deserialize(value, QualityJsonContext.Default.QuarantineSummary);
        }
        catch (JsonException)
        {
            return null;
        }

        if (summary is null)
        {
            return null;
        }

        var codes = (summary.Reasons ?? []).Select(r => CodeOf(r?.Code)).Distinct(StringComparer.Ordinal).Take(MaxCodesPerRecord);
        return (topic, QualityFigures.QuarantineRecord(summary.Disposition == "flagged", codes));
    }

    private static string QuarantineSuffix => TopicsOptions.QuarantineOf(string.Empty);

    internal static string CodeOf(string? code) => code is not null && CodePattern().IsMatch(code) ? code : UnrecognizedCode;

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();
}

/// <summary>The two fields of a quarantine record (CONTRACT.md §4) the figures need; every other field is skipped unread.</summary>
internal sealed record QuarantineSummary(
    [property: JsonPropertyName("disposition")] string? Disposition,
    [property: JsonPropertyName("reasons")] IReadOnlyList<ReasonSummary?>? Reasons);

internal sealed record ReasonSummary([property: JsonPropertyName("code")] string? Code);
