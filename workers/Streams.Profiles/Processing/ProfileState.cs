using Streams.Profiles.Identity;

namespace Streams.Profiles.Processing;

/// <summary>The part of the identity graph and the profiles one batch touches, loaded from the database.</summary>
public sealed class ProfileState
{
    /// <summary>Pseudonym → profile id, for every pseudonym of the batch that is known, and every identifier of the loaded profiles.</summary>
    public Dictionary<string, string> Owners { get; } = new(StringComparer.Ordinal);

    /// <summary>Profile id → profile.</summary>
    public Dictionary<string, StoredProfile> Profiles { get; } = new(StringComparer.Ordinal);

    public void Add(StoredProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Profiles[profile.ProfileId] = profile;
        foreach (var pseudonym in profile.Identifiers.Keys)
        {
            Owners[pseudonym] = profile.ProfileId;
        }
    }

    /// <summary>The identity view the resolver works on.</summary>
    public GraphSnapshot Snapshot() => new(
        Owners,
        Profiles.Values.ToDictionary(p => p.ProfileId, p => new KnownProfile(p.ProfileId, p.FirstSeen, p.Counts()), StringComparer.Ordinal));
}
