using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streams.Contracts.Quarantine;

/// <summary>
/// The value written to <c>&lt;input topic&gt;.quarantine</c> for every dirty input (CONTRACT §4). Snake-case JSON;
/// <c>event_id</c> and <c>record</c> are written as null rather than left out.
/// </summary>
/// <param name="Source">The input record.</param>
/// <param name="EventId">The input's <c>event_id</c> when it had a valid one.</param>
/// <param name="Disposition">Whether the event was still used.</param>
/// <param name="Reasons">Every problem found (the first of each code always, at most 32 in all).</param>
/// <param name="Record">The masked copy: known fields only, identifiers as pseudonyms or masks, personal free text
/// removed, long strings and item lists shortened. Null when the input was not a JSON object.</param>
/// <param name="RawSha256">Lower-case hex keyed digest of the raw value (CONTRACT §4): matches the original for whoever holds
/// the pseudonymization key, and cannot be tested against guesses by anyone else.</param>
/// <param name="RawBytes">Size of the raw value.</param>
/// <param name="QuarantinedAt">When ingest judged the record.</param>
public sealed record QuarantineRecord(
    SourcePosition Source,
    string? EventId,
    QuarantineDisposition Disposition,
    IReadOnlyList<QuarantineReason> Reasons,
    JsonElement? Record,
    string RawSha256,
    long RawBytes,
    DateTimeOffset QuarantinedAt);

[JsonConverter(typeof(JsonStringEnumConverter<QuarantineDisposition>))]
public enum QuarantineDisposition
{
    /// <summary>Not used for profiles.</summary>
    [JsonStringEnumMemberName("quarantined")] Quarantined,

    /// <summary>Used, without the offending field.</summary>
    [JsonStringEnumMemberName("flagged")] Flagged,
}
