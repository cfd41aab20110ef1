using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;

namespace Streams.Profiles.Identity;

/// <summary>A profile as identity resolution sees it: its age (merges keep the oldest) and how many identifiers of
/// each type it holds (the caps). Types it holds none of may be left out of <paramref name="Counts"/>.</summary>
public sealed record KnownProfile(string ProfileId, DateTimeOffset FirstSeen, IReadOnlyDictionary<IdentifierType, int> Counts);

/// <summary>
/// What the identity graph holds before a batch. <paramref name="Owners"/> needs only the pseudonyms the batch
/// mentions; <paramref name="Profiles"/> must hold every profile those pseudonyms point at.
/// </summary>
public sealed record GraphSnapshot(IReadOnlyDictionary<string, string> Owners, IReadOnlyDictionary<string, KnownProfile> Profiles)
{
    public static GraphSnapshot Empty { get; } = new(new Dictionary<string, string>(), new Dictionary<string, KnownProfile>());

    /// <summary>The marks of the known pseudonyms that have one (refusals counted, or shared).</summary>
    public IReadOnlyDictionary<string, IdentifierMark> Marks { get; init; } = new Dictionary<string, IdentifierMark>();

    /// <summary>
    /// Links an operator undid (CONTRACT §5.4): pseudonym → the pseudonyms beside which an event does not carry it. Needs
    /// only the pseudonyms the batch mentions.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Blocks { get; init; } = new Dictionary<string, IReadOnlySet<string>>();

    /// <summary>The graph after <paramref name="resolution"/> is stored: what the next batch's snapshot holds.</summary>
    public GraphSnapshot Apply(Resolution resolution)
    {
        ArgumentNullException.ThrowIfNull(resolution);
        var survivorOf = resolution.Merges.ToDictionary(m => m.Absorbed, m => m.Survivor, StringComparer.Ordinal);
        var owners = Owners.ToDictionary(o => o.Key, o => survivorOf.GetValueOrDefault(o.Value, o.Value), StringComparer.Ordinal);
        foreach (var (pseudonym, _, profileId) in resolution.NewLinks)
        {
            owners[pseudonym] = profileId;
        }

        var profiles = Profiles.Where(p => !survivorOf.ContainsKey(p.Key)).ToDictionary(StringComparer.Ordinal);
        foreach (var (id, profile) in resolution.Profiles)
        {
            profiles[id] = profile;
        }

        var marks = Marks.ToDictionary(StringComparer.Ordinal);
        foreach (var (pseudonym, mark) in resolution.Marks)
        {
            marks[pseudonym] = mark;
        }

        return new GraphSnapshot(owners, profiles) { Marks = marks };
    }
}

/// <summary>One event as identity resolution sees it.</summary>
/// <param name="Index">The caller's tag for the event, echoed in <see cref="Resolution.Conflicts"/>.</param>
/// <param name="OccurredAt">Event time: a new profile's first-seen, and it lowers the first-seen of the profile it joins.</param>
/// <param name="Identifiers">Everything here is linked together, within the caps.</param>
/// <param name="NewProfileId">Makes the id to use if this event starts a new profile, called only then (most events join a
/// profile, and the worker's ids cost a hash each); it must not name an existing profile.</param>
public sealed record ResolutionInput(int Index, DateTimeOffset OccurredAt, IReadOnlyList<CanonicalIdentifier> Identifiers, Func<string> NewProfileId)
{
    /// <summary>An input whose new profile id is known up front.</summary>
    public ResolutionInput(int index, DateTimeOffset occurredAt, IReadOnlyList<CanonicalIdentifier> identifiers, string newProfileId)
        : this(index, occurredAt, identifiers, () => newProfileId)
    {
    }
}

/// <summary>
/// What a batch does to the identity graph. Merge chains are followed to their final survivor. A profile both
/// created and absorbed within the batch is reported as created and as merged, exactly as if the batch had been
/// cut between the two events: the stored graph must not depend on where one batch ends and the next begins.
/// </summary>
/// <param name="ProfileOf">The profile of each input, by position; null for an input without identifiers.</param>
/// <param name="NewLinks">Identifiers linked for the first time, in the order they were linked.</param>
/// <param name="Merges">Profiles absorbed (from the snapshot or created by the batch), in the order it happened, each with its final survivor.</param>
/// <param name="Conflicts">Links refused by the caps: the input's <see cref="ResolutionInput.Index"/> and the identifier
/// left out. The event is still counted for its profile.</param>
/// <param name="Profiles">The final state of every profile an event was attributed to (new and surviving ones),
/// in ordinal id order.</param>
/// <param name="CreatedProfiles">Profiles created by this batch, in creation order, including those it then absorbed.</param>
public sealed record Resolution(
    IReadOnlyList<string?> ProfileOf,
    IReadOnlyList<(string Pseudonym, IdentifierType Type, string ProfileId)> NewLinks,
    IReadOnlyList<(string Absorbed, string Survivor)> Merges,
    IReadOnlyList<(int Index, CanonicalIdentifier Refused)> Conflicts,
    IReadOnlyDictionary<string, KnownProfile> Profiles,
    IReadOnlyList<string> CreatedProfiles)
{
    /// <summary>For each of <see cref="Merges"/>, the <see cref="ResolutionInput.Index"/> of the event that bridged the profiles.</summary>
    public IReadOnlyList<int> MergedBy { get; init; } = [];

    /// <summary>
    /// Key rotation: an identifier's pseudonym under the previous key and version, and its pseudonym under the active
    /// one, linked to one profile by this batch's events. The previous one is an alias: the caps count the identifier once.
    /// </summary>
    public IReadOnlyList<(string Previous, string Current)> Aliases { get; init; } = [];

    /// <summary>Identifiers left out because they are marked shared: the input's index and the identifier.</summary>
    public IReadOnlyList<(int Index, CanonicalIdentifier Refused)> SharedRefusals { get; init; } = [];

    /// <summary>Marks this batch changed, final values by pseudonym.</summary>
    public IReadOnlyDictionary<string, IdentifierMark> Marks { get; init; } = new Dictionary<string, IdentifierMark>();

    /// <summary>Pseudonyms this batch marked shared, in the order it happened.</summary>
    public IReadOnlyList<string> NewlyShared { get; init; } = [];

    /// <summary>Identifiers left out because an operator blocked them beside another identifier of the same event.</summary>
    public IReadOnlyList<(int Index, CanonicalIdentifier Refused)> BlockedRefusals { get; init; } = [];

    /// <summary>For each of <see cref="Merges"/>, the bridging event's pseudonyms that led to the absorbed profile and
    /// those that led to the profiles it joined, in the order the event listed them.</summary>
    public IReadOnlyList<MergeEvidence> MergeEvidence { get; init; } = [];
}

/// <summary>Why two profiles merged: the pseudonyms of the bridging event on either side, in the event's order.</summary>
/// <param name="Identifiers">Every pseudonym of the event that led to one of the merged profiles, in the event's order.</param>
/// <param name="Bridge">Those that led to the absorbed profile.</param>
public sealed record MergeEvidence(IReadOnlyList<string> Identifiers, IReadOnlyList<string> Bridge)
{
    /// <summary>
    /// The blocks that undo this merge: for each pair of a bridge pseudonym and one of the other side, the one the event
    /// listed later is left out beside the other, as if the event had never carried it.
    /// </summary>
    public IEnumerable<(string Pseudonym, string Keep)> Blocks()
    {
        for (var i = 0; i < Identifiers.Count; i++)
        {
            for (var j = i + 1; j < Identifiers.Count; j++)
            {
                var (first, later) = (Identifiers[i], Identifiers[j]);
                if (Bridge.Contains(first) != Bridge.Contains(later))
                {
                    yield return (later, first);
                }
            }
        }
    }
}
