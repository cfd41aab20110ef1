using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Topics;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Lineage;

/// <summary>An event kept for re-derivation: its row, where it sat on the canonical topic, and the event as it was used.</summary>
public sealed record RetainedEvent(long Seq, SourcePosition Canonical, CanonicalEvent Event);

/// <summary>
/// A profile re-derived from its retained events: the profiles it falls into, each retained event's profile, the merges
/// that still hold (absorbed → final survivor) and their ids.
/// </summary>
public sealed record Split(
    IReadOnlyList<StoredProfile> Profiles,
    IReadOnlyList<(long Seq, string ProfileId)> Attribution,
    IReadOnlyList<ProfileMerge> Merges,
    IReadOnlyList<string> MergeIds);

/// <summary>The retained events do not give back the profile: some are past Identity:LineageRetention, or were never kept.</summary>
public sealed class LineageIncompleteException(string message) : Exception(message);

/// <summary>
/// Re-derives a profile from its retained events by running them again, in the order they were applied, through the same
/// code the worker runs (<see cref="ProfileBatchProcessor"/>) on an empty graph that holds only the operator's blocks.
/// Profile ids derive from the record that created each profile, so the profiles that come out carry the ids they had
/// before they were merged; every feature is what a run without the blocked links computes. No I/O.
/// </summary>
public static class ProfileRederivation
{
    private static readonly TopicCatalog Catalog = new(new TopicsOptions());

    /// <summary>Re-derives <paramref name="current"/> under <paramref name="blocks"/> (pseudonym → the pseudonyms beside which it is left out).</summary>
    /// <exception cref="LineageIncompleteException">The events do not add up to the profile.</exception>
    public static Split Rederive(StoredProfile current, IReadOnlyList<RetainedEvent> events, IReadOnlyDictionary<string, HashSet<string>> blocks,
        IdentityCaps caps, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(blocks);
        // Any positive retention: it only turns on the per-event attribution this needs.
        var processor = new ProfileBatchProcessor(Catalog, caps, new ProfileRecordWriter(), TimeSpan.FromDays(1));
        var state = new ProfileState();
        foreach (var (pseudonym, keep) in blocks)
        {
            state.Blocks[pseudonym] = keep;
        }

        var changes = processor.Apply(state, [.. events.Select(e => (BatchItem)new EventItem(e.Canonical, e.Event))], now);

        var kept = state.Profiles.Values.Sum(p => p.Aggregate.TotalEvents);
        if (kept != current.Aggregate.TotalEvents || !state.Profiles.ContainsKey(current.ProfileId))
        {
            throw new LineageIncompleteException(
                $"profile {current.ProfileId} counts {current.Aggregate.TotalEvents} events and {kept} are retained in a form that re-derives it " +
                "(events older than Identity:LineageRetention, or from before lineage was kept, are gone): it cannot be re-derived exactly");
        }

        var outside = state.Profiles.Values.SelectMany(p => p.Identifiers.Keys).FirstOrDefault(p => !current.Identifiers.ContainsKey(p));
        if (outside is not null)
        {
            throw new LineageIncompleteException(
                $"re-deriving profile {current.ProfileId} links an identifier it does not hold now (one detached before and linked elsewhere since)");
        }

        var into = changes.Merges.ToDictionary(m => m.Absorbed, m => m.Survivor, StringComparer.Ordinal);
        var seqOf = events.ToDictionary(e => e.Canonical, e => e.Seq);
        var profiles = state.Profiles.Values.OrderBy(p => p.ProfileId, StringComparer.Ordinal).ToList();
        foreach (var profile in profiles)
        {
            // Consent as the profile had it: an opt-out anywhere in it stays with every part (never turned back on).
            profile.PersonalizationAllowed = current.PersonalizationAllowed;
            // Above anything either part was ever published with: the merged profile carried the highest version of both.
            profile.Version = current.Version + 1;
            profile.Marks.Clear();
            foreach (var pseudonym in profile.Identifiers.Keys)
            {
                if (current.Marks.TryGetValue(pseudonym, out var mark))
                {
                    profile.Marks[pseudonym] = mark;
                }
            }
        }

        return new Split(
            profiles,
            [.. changes.Lineage.Select(l => (seqOf[l.Canonical], Final(into, l.ProfileId)))],
            [.. changes.Merges.Select(m => m with { Survivor = Final(into, m.Survivor) })],
            [.. changes.MergeLineage.Select(m => m.MergeId)]);
    }

    private static string Final(Dictionary<string, string> into, string id)
    {
        // Each profile is absorbed once in a run, so the chain ends.
        while (into.TryGetValue(id, out var next))
        {
            id = next;
        }

        return id;
    }
}
