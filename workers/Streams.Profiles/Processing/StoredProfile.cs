using Streams.Contracts.Identifiers;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;

namespace Streams.Profiles.Processing;

/// <summary>A profile as the database holds it, loaded for a batch and changed in memory.</summary>
public sealed class StoredProfile
{
    public required string ProfileId { get; init; }

    public required ProfileAggregate Aggregate { get; set; }

    public bool PersonalizationAllowed { get; set; } = true;

    public long Version { get; set; }

    /// <summary>Pseudonym → (type, when it was linked, in event time, and for a pseudonym under a previous key, the
    /// same identifier's pseudonym under the newer key: an alias the caps do not count).</summary>
    public Dictionary<string, (IdentifierType Type, DateTimeOffset LinkedAt, string? AliasOf)> Identifiers { get; } = new(StringComparer.Ordinal);

    /// <summary>Pseudonym → mark, for the identifiers of <see cref="Identifiers"/> that have one.</summary>
    public Dictionary<string, IdentifierMark> Marks { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset FirstSeen => Aggregate.FirstSeen;

    /// <summary>An independent copy, identifiers and aggregate included.</summary>
    public StoredProfile Clone()
    {
        var copy = new StoredProfile
        {
            ProfileId = ProfileId,
            Aggregate = Aggregate.Clone(),
            PersonalizationAllowed = PersonalizationAllowed,
            Version = Version,
        };
        foreach (var (pseudonym, link) in Identifiers)
        {
            copy.Identifiers[pseudonym] = link;
        }

        foreach (var (pseudonym, mark) in Marks)
        {
            copy.Marks[pseudonym] = mark;
        }

        return copy;
    }

    public DateTimeOffset LastSeen => Aggregate.LastSeen;

    /// <summary>The pseudonyms of <see cref="Identifiers"/> in ordinal order, as the profile's record and row list them.</summary>
    public string[] SortedPseudonyms()
    {
        var pseudonyms = new string[Identifiers.Count];
        Identifiers.Keys.CopyTo(pseudonyms, 0);
        Array.Sort(pseudonyms, StringComparer.Ordinal);
        return pseudonyms;
    }
}
