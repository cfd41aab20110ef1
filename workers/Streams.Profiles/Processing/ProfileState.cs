using Streams.Contracts.Identifiers;
using Streams.Profiles.Identity;

namespace Streams.Profiles.Processing;

/// <summary>The part of the identity graph and the profiles one batch touches, loaded from the database.</summary>
public sealed class ProfileState
{
    private static readonly IdentifierType[] Types = Enum.GetValues<IdentifierType>();

    /// <summary>Pseudonym → profile id, for every pseudonym of the batch that is known, and every identifier of the loaded profiles.</summary>
    public Dictionary<string, string> Owners { get; } = new(StringComparer.Ordinal);

    /// <summary>Profile id → profile.</summary>
    public Dictionary<string, StoredProfile> Profiles { get; } = new(StringComparer.Ordinal);

    /// <summary>Every identifier of the loaded profiles as the database holds it: the batch writes only the links that
    /// differ from these.</summary>
    public Dictionary<string, StoredLink> StoredLinks { get; } = new(StringComparer.Ordinal);

    /// <summary>Operator blocks of the batch's pseudonyms: pseudonym → the pseudonyms beside which an event does not carry it.</summary>
    public Dictionary<string, HashSet<string>> Blocks { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds a profile as loaded from the database, with all its identifiers.</summary>
    public void Add(StoredProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Profiles[profile.ProfileId] = profile;
        foreach (var (pseudonym, (type, linkedAt, aliasOf)) in profile.Identifiers)
        {
            Owners[pseudonym] = profile.ProfileId;
            StoredLinks[pseudonym] = new StoredLink(profile.ProfileId, type, linkedAt, aliasOf, profile.Marks.GetValueOrDefault(pseudonym));
        }
    }

    /// <summary>The identity view the resolver works on.</summary>
    public GraphSnapshot Snapshot()
    {
        var known = new Dictionary<string, KnownProfile>(Profiles.Count, StringComparer.Ordinal);
        var marks = new Dictionary<string, IdentifierMark>(StringComparer.Ordinal);
        var counts = new int[Types.Length];
        foreach (var profile in Profiles.Values)
        {
            Array.Clear(counts);
            foreach (var (type, _, aliasOf) in profile.Identifiers.Values)
            {
                // An alias is the same identifier under a previous key: it was counted through its newer pseudonym.
                counts[(int)type] += aliasOf is null ? 1 : 0;
            }

            var byType = new Dictionary<IdentifierType, int>();
            foreach (var type in Types)
            {
                if (counts[(int)type] > 0)
                {
                    byType[type] = counts[(int)type];
                }
            }

            known[profile.ProfileId] = new KnownProfile(profile.ProfileId, profile.FirstSeen, byType);
            foreach (var (pseudonym, mark) in profile.Marks)
            {
                marks[pseudonym] = mark;
            }
        }

        var blocks = new Dictionary<string, IReadOnlySet<string>>(Blocks.Count, StringComparer.Ordinal);
        foreach (var (pseudonym, keep) in Blocks)
        {
            blocks[pseudonym] = keep;
        }

        return new GraphSnapshot(Owners, known) { Marks = marks, Blocks = blocks };
    }
}

/// <summary>One row of the identity graph as stored: the profile a pseudonym belongs to, its type, when it was linked,
/// the newer pseudonym it is an alias of (key rotation) and its mark (refusals counted, shared).</summary>
public readonly record struct StoredLink(
    string ProfileId, IdentifierType Type, DateTimeOffset LinkedAt, string? AliasOf = null, IdentifierMark Mark = default);
