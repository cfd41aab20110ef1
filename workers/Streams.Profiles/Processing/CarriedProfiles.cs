namespace Streams.Profiles.Processing;

/// <summary>
/// The profiles a batch takes over from the batch before it, which is still being committed: that batch's final state
/// in memory stands for what the database will hold once it commits, so the next batch neither reads nor waits for
/// those rows while it is applied. Before the next batch saves, <see cref="ExpectedVersions"/> is checked against the
/// committed rows (locked): a difference means another worker changed one meanwhile, and the batch runs again.
/// </summary>
public sealed class CarriedProfiles
{
    private CarriedProfiles(List<StoredProfile> profiles, HashSet<string> toLoad)
    {
        Profiles = profiles;
        ToLoad = toLoad;
        ExpectedVersions = profiles.ToDictionary(p => p.ProfileId, p => p.Version, StringComparer.Ordinal);
    }

    /// <summary>Copies of the previous batch's profiles that own a pseudonym of this batch.</summary>
    public IReadOnlyList<StoredProfile> Profiles { get; }

    /// <summary>This batch's pseudonyms that none of <see cref="Profiles"/> owns: read from the database as usual.</summary>
    public IReadOnlyCollection<string> ToLoad { get; }

    /// <summary>Profile id → the version the previous batch writes.</summary>
    public IReadOnlyDictionary<string, long> ExpectedVersions { get; }

    /// <summary>Nothing carried: every pseudonym is read from the database.</summary>
    public static CarriedProfiles None(IReadOnlyCollection<string> pseudonyms) => new([], [.. pseudonyms]);

    /// <summary>
    /// Splits <paramref name="pseudonyms"/> between profiles <paramref name="previous"/> wrote (copied, so the previous
    /// batch's own save is not disturbed) and the rest. Profiles it deleted are never carried: their identifiers moved to
    /// a survivor, which is, or were erased, and are read (after that commit) like any other.
    /// </summary>
    public static CarriedProfiles From(BatchChanges previous, IReadOnlyCollection<string> pseudonyms)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(pseudonyms);
        var owners = new Dictionary<string, StoredProfile>(StringComparer.Ordinal);
        foreach (var profile in previous.Upserts)
        {
            foreach (var pseudonym in profile.Identifiers.Keys)
            {
                owners[pseudonym] = profile;
            }
        }

        var carried = new Dictionary<string, StoredProfile>(StringComparer.Ordinal);
        var toLoad = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pseudonym in pseudonyms)
        {
            if (owners.TryGetValue(pseudonym, out var owner))
            {
                if (!carried.ContainsKey(owner.ProfileId))
                {
                    carried[owner.ProfileId] = owner.Clone();
                }
            }
            else
            {
                toLoad.Add(pseudonym);
            }
        }

        return new CarriedProfiles([.. carried.Values], toLoad);
    }

    /// <summary>Adds the carried profiles to <paramref name="state"/>, over anything loaded for the same ids.</summary>
    public void AddTo(ProfileState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var profile in Profiles)
        {
            state.Add(profile);
        }
    }
}
