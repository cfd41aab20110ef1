using System.Text.Json.Serialization;
using Streams.Contracts.Identifiers;

namespace Streams.Contracts.Canonical;

/// <summary>
/// A consent or erasure request with its identifier pseudonymized: what the profiles worker acts on (CONTRACT §6).
/// Snake-case JSON like <see cref="CanonicalEvent"/>.
/// </summary>
/// <param name="EventId">The producer's <c>event_id</c>.</param>
/// <param name="OccurredAt">The producer's <c>occurred_at</c> in UTC.</param>
/// <param name="IdentifierType">The identifier's type.</param>
/// <param name="Pseudonym">The identifier's pseudonym under the active key, the same one its events carry.</param>
/// <param name="Action"><c>opt_out</c>, <c>opt_in</c> or <c>erase</c>.</param>
/// <param name="Source">The input record this command came from.</param>
/// <param name="OtherPseudonyms">The identifier's pseudonyms under every other configured key and normalization
/// version: a profile last seen before a rotation holds one of these, not <paramref name="Pseudonym"/>.</param>
public sealed record ConsentCommand(
    string EventId,
    DateTimeOffset OccurredAt,
    IdentifierType IdentifierType,
    string Pseudonym,
    ConsentAction Action,
    SourcePosition Source,
    IReadOnlyList<string>? OtherPseudonyms = null);

[JsonConverter(typeof(JsonStringEnumConverter<ConsentAction>))]
public enum ConsentAction
{
    [JsonStringEnumMemberName("opt_out")] OptOut,
    [JsonStringEnumMemberName("opt_in")] OptIn,
    [JsonStringEnumMemberName("erase")] Erase,
}
