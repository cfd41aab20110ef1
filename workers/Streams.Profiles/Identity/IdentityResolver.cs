using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;

namespace Streams.Profiles.Identity;

/// <summary>
/// Identity resolution for one batch (CONTRACT §5.1): identifiers seen together in one event are linked, a profile
/// is a connected component of links, and <see cref="IdentityCaps"/> bound how many identifiers of a type one
/// profile may gather, and an identifier marked shared links nothing. Pure and deterministic: the same snapshot, inputs and caps give the same resolution, and
/// without cap hits the final components do not depend on the order of the events.
/// </summary>
public static class IdentityResolver
{
    private static readonly IdentifierType[] Types = Enum.GetValues<IdentifierType>();

    /// <summary>
    /// Attributes each event, in the given order, to a profile. Unknown identifiers join the event's profile; an
    /// event whose identifiers belong to several profiles merges them into the oldest (earliest first-seen, then
    /// ordinal id). The profile of the event's first known identifier anchors it: another profile joins only if the
    /// merged counts stay within the caps, and an unknown identifier joins only if its type's count does; every
    /// identifier left out is reported in <see cref="Resolution.Conflicts"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The snapshot owns a pseudonym by a profile it does not hold, or a
    /// <see cref="ResolutionInput.NewProfileId"/> that is needed names an existing profile.</exception>
    public static Resolution Resolve(GraphSnapshot snapshot, IReadOnlyList<ResolutionInput> events, IdentityCaps caps)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(caps);

        var batch = new Batch(snapshot, caps);
        var profileOf = new string?[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            profileOf[i] = batch.Attribute(events[i]);
        }

        return batch.Finish(profileOf);
    }

    /// <summary>A profile while the batch runs. Absorbed ones leave <see cref="Batch"/>'s table and redirect to their survivor.</summary>
    private sealed class WorkingProfile(string id, DateTimeOffset firstSeen, int[] counts)
    {
        public string Id { get; } = id;

        public DateTimeOffset FirstSeen { get; set; } = firstSeen;

        /// <summary>Indexed by <see cref="IdentifierType"/>.</summary>
        public int[] Counts { get; } = counts;

        public KnownProfile ToKnown()
        {
            var counts = new Dictionary<IdentifierType, int>();
            foreach (var type in Types)
            {
                if (Counts[(int)type] > 0)
                {
                    counts.Add(type, Counts[(int)type]);
                }
            }

            return new(Id, FirstSeen, counts);
        }

        /// <summary>Whether this profile was first seen before <paramref name="other"/> (then by ordinal id): the survivor of a merge.</summary>
        public bool OlderThan(WorkingProfile other) =>
            FirstSeen < other.FirstSeen || (FirstSeen == other.FirstSeen && string.CompareOrdinal(Id, other.Id) < 0);
    }

    private sealed class Batch(GraphSnapshot snapshot, IdentityCaps caps)
    {
        private static readonly int TypeCount = Types.Length;

        /// <summary>Live profiles loaded from the snapshot or created by this batch.</summary>
        private readonly Dictionary<string, WorkingProfile> profiles = new(StringComparer.Ordinal);

        /// <summary>Union-find parent pointers: absorbed profile → the profile that absorbed it.</summary>
        private readonly Dictionary<string, string> absorbedInto = new(StringComparer.Ordinal);

        /// <summary>Pseudonyms linked by this batch → their profile at link time (follow <see cref="absorbedInto"/>).</summary>
        private readonly Dictionary<string, string> linkedTo = new(StringComparer.Ordinal);

        private readonly List<(string Pseudonym, IdentifierType Type)> links = [];

        /// <summary>Previous-key pseudonyms → the active-key pseudonym of the same identifier, in one profile.</summary>
        private readonly List<(string Previous, string Current)> aliases = [];
        private readonly List<string> absorbed = [];
        private readonly List<int> absorbedBy = [];
        private int current;
        private readonly List<string> created = [];
        private readonly List<(int Index, CanonicalIdentifier Refused)> conflicts = [];
        private readonly List<(int Index, CanonicalIdentifier Refused)> sharedRefusals = [];
        private readonly List<(int Index, CanonicalIdentifier Refused)> blockedRefusals = [];
        private readonly List<MergeEvidence> evidence = [];
        private readonly Dictionary<string, IdentifierMark> marked = new(StringComparer.Ordinal);
        private readonly List<string> newlyShared = [];

        // One event's working lists, cleared and reused for the next: Attribute runs for every event, and five lists (with
        // LINQ over them to pick a survivor) per event were a tenth of the worker's garbage (benchmarks/README.md, issue 17).
        private readonly List<CanonicalIdentifier> identifiers = [];
        private readonly List<WorkingProfile?> owners = [];
        private readonly List<WorkingProfile?> previousOwners = [];
        private readonly List<WorkingProfile> candidates = [];
        private readonly List<WorkingProfile> refused = [];
        private readonly List<WorkingProfile> group = [];
        private readonly int[] groupCounts = new int[TypeCount];

        public string? Attribute(ResolutionInput input)
        {
            current = input.Index;
            // Plain loops rather than LINQ or foreach over the interface (a boxed enumerator): this runs for every event, and
            // an event has a handful of identifiers.
            identifiers.Clear();
            for (var i = 0; i < input.Identifiers.Count; i++)
            {
                var identifier = input.Identifiers[i];
                if (ContainsPseudonym(identifiers, identifier.Pseudonym))
                {
                    continue;
                }

                if (MarkOf(identifier.Pseudonym).IsShared)
                {
                    // A shared identifier neither brings the event to its profile nor takes anything to it.
                    sharedRefusals.Add((input.Index, identifier));
                    continue;
                }

                if (BlockedBeside(identifier.Pseudonym, input.Identifiers))
                {
                    // An operator undid the link this event makes: it is used as if it never carried the identifier.
                    blockedRefusals.Add((input.Index, identifier));
                    continue;
                }

                identifiers.Add(identifier);
            }

            if (identifiers.Count == 0)
            {
                return null;
            }

            owners.Clear();
            previousOwners.Clear();
            candidates.Clear();
            foreach (var identifier in identifiers)
            {
                var owner = OwnerOf(identifier.Pseudonym);
                // During a key rotation the identifier may be known only by its pseudonym under the previous key.
                var previousOwner = identifier.Previous is { } previous ? OwnerOf(previous) : null;
                owners.Add(owner ?? previousOwner);
                previousOwners.Add(previousOwner);
                foreach (var found in (ReadOnlySpan<WorkingProfile?>)[owner, previousOwner])
                {
                    if (found is not null && !candidates.Contains(found))
                    {
                        candidates.Add(found);
                    }
                }
            }

            refused.Clear();
            var absorbedBefore = absorbed.Count;
            var profile = candidates.Count == 0 ? Create(input) : MergeWithinCaps();
            for (var a = absorbedBefore; a < absorbed.Count; a++)
            {
                evidence.Add(Evidence(absorbed[a], identifiers, owners, previousOwners, refused));
            }

            if (input.OccurredAt < profile.FirstSeen)
            {
                profile.FirstSeen = input.OccurredAt;
            }

            // In identifier order, so conflicts come out in the order the event lists them.
            var capRefusedNew = false;
            for (var k = 0; k < identifiers.Count; k++)
            {
                if (owners[k] is not null && refused.Contains(owners[k]!))
                {
                    conflicts.Add((input.Index, identifiers[k]));
                }
                else
                {
                    var linked = LinkWithPrevious(input.Index, identifiers[k], previousOwners[k] is not null, profile);
                    capRefusedNew |= owners[k] is null && !linked;
                }
            }

            if (capRefusedNew)
            {
                // The known identifiers that brought a new one to a profile already full of its type: the family card
                // or the library computer. (Two known profiles refused a merge say nothing about which side is shared.)
                for (var k = 0; k < identifiers.Count; k++)
                {
                    if (owners[k] is not null && !refused.Contains(owners[k]!))
                    {
                        CountRefusal(identifiers[k].Pseudonym, input.OccurredAt);
                    }
                }
            }

            return profile.Id;
        }

        private bool BlockedBeside(string pseudonym, IReadOnlyList<CanonicalIdentifier> identifiers)
        {
            if (snapshot.Blocks.Count == 0 || !snapshot.Blocks.TryGetValue(pseudonym, out var keep))
            {
                return false;
            }

            for (var i = 0; i < identifiers.Count; i++)
            {
                var identifier = identifiers[i];
                if (keep.Contains(identifier.Pseudonym) || (identifier.Previous is { } previous && keep.Contains(previous)))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>The event's pseudonyms that led to <paramref name="absorbedId"/> and those that led to the rest of its group.</summary>
        private static MergeEvidence Evidence(string absorbedId, List<CanonicalIdentifier> identifiers, List<WorkingProfile?> owners,
            List<WorkingProfile?> previousOwners, List<WorkingProfile> refused)
        {
            var (ordered, bridge) = (new List<string>(), new List<string>());
            for (var k = 0; k < identifiers.Count; k++)
            {
                Side(owners[k], identifiers[k].Pseudonym);
                if (identifiers[k].Previous is { } previous)
                {
                    Side(previousOwners[k], previous);
                }
            }

            return new MergeEvidence(ordered, bridge);

            void Side(WorkingProfile? owner, string pseudonym)
            {
                if (owner is null || refused.Contains(owner))
                {
                    return;
                }

                ordered.Add(pseudonym);
                if (owner.Id == absorbedId)
                {
                    bridge.Add(pseudonym);
                }
            }
        }

        private IdentifierMark MarkOf(string pseudonym) =>
            marked.TryGetValue(pseudonym, out var mark) || snapshot.Marks.TryGetValue(pseudonym, out mark) ? mark : default;

        private void CountRefusal(string pseudonym, DateTimeOffset at)
        {
            var mark = MarkOf(pseudonym);
            mark = mark with { Refusals = mark.Refusals + 1 };
            if (!mark.IsShared && caps.SharedAfterRefusals > 0 && mark.Refusals >= caps.SharedAfterRefusals)
            {
                // Event time, like every other time the graph keeps, so a replay marks it at the same moment.
                mark = mark with { SharedAt = at };
                newlyShared.Add(pseudonym);
            }

            marked[pseudonym] = mark;
        }

        private static bool ContainsPseudonym(List<CanonicalIdentifier> identifiers, string pseudonym)
        {
            foreach (var identifier in identifiers)
            {
                if (string.Equals(identifier.Pseudonym, pseudonym, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        public Resolution Finish(string?[] profileOf)
        {
            var finalProfileOf = profileOf.Select(id => id is null ? null : Find(id)).ToList();

            // Rows are written in this order: sorted ids let concurrent transactions lock profiles in one order.
            var touched = new SortedDictionary<string, KnownProfile>(StringComparer.Ordinal);
            foreach (var id in finalProfileOf.OfType<string>().Where(id => !touched.ContainsKey(id)))
            {
                touched.Add(id, profiles[id].ToKnown());
            }

            return new Resolution(
                finalProfileOf,
                [.. links.Select(l => (l.Pseudonym, l.Type, Find(linkedTo[l.Pseudonym])))],
                // Profiles created and absorbed within the batch are reported too: the tables must not depend on
                // where one batch ends and the next begins.
                [.. absorbed.Select(id => (id, Find(id)))],
                conflicts,
                touched,
                created)
            {
                MergedBy = absorbedBy,
                Aliases = aliases,
                SharedRefusals = sharedRefusals,
                Marks = marked,
                NewlyShared = newlyShared,
                BlockedRefusals = blockedRefusals,
                MergeEvidence = evidence,
            };
        }

        private WorkingProfile? OwnerOf(string pseudonym) =>
            linkedTo.TryGetValue(pseudonym, out var id) || snapshot.Owners.TryGetValue(pseudonym, out id) ? Load(Find(id)) : null;

        private string Find(string id)
        {
            var root = id;
            while (absorbedInto.TryGetValue(root, out var parent))
            {
                root = parent;
            }

            // Path compression: a long run of merges stays cheap to look up.
            while (id != root)
            {
                (id, absorbedInto[id]) = (absorbedInto[id], root);
            }

            return root;
        }

        private WorkingProfile Load(string id)
        {
            if (profiles.TryGetValue(id, out var profile))
            {
                return profile;
            }

            if (!snapshot.Profiles.TryGetValue(id, out var known))
            {
                throw new ArgumentException($"The snapshot has a pseudonym owned by profile '{id}' but not that profile.");
            }

            var counts = new int[TypeCount];
            foreach (var (type, count) in known.Counts)
            {
                counts[(int)type] = count;
            }

            profile = new WorkingProfile(id, known.FirstSeen, counts);
            profiles.Add(id, profile);
            return profile;
        }

        private WorkingProfile Create(ResolutionInput input)
        {
            var id = input.NewProfileId();
            if (profiles.ContainsKey(id) || absorbedInto.ContainsKey(id) || snapshot.Profiles.ContainsKey(id))
            {
                throw new ArgumentException($"The new profile id '{id}' of input {input.Index} names an existing profile.");
            }

            var profile = new WorkingProfile(id, input.OccurredAt, new int[TypeCount]);
            profiles.Add(id, profile);
            created.Add(id);
            return profile;
        }

        /// <summary>
        /// The first candidate (the profile of the event's first known identifier) anchors the event; the others join
        /// in order while the merged counts stay within the caps. The oldest of the group survives.
        /// </summary>
        private WorkingProfile MergeWithinCaps()
        {
            group.Clear();
            group.Add(candidates[0]);
            var counts = groupCounts;
            Array.Copy(candidates[0].Counts, counts, TypeCount);
            for (var c = 1; c < candidates.Count; c++)
            {
                var candidate = candidates[c];
                if (WithinCaps(counts, candidate.Counts))
                {
                    group.Add(candidate);
                    for (var t = 0; t < TypeCount; t++)
                    {
                        counts[t] += candidate.Counts[t];
                    }
                }
                else
                {
                    refused.Add(candidate);
                }
            }

            var survivor = group[0];
            for (var g = 1; g < group.Count; g++)
            {
                if (group[g].OlderThan(survivor))
                {
                    survivor = group[g];
                }
            }

            foreach (var profile in group)
            {
                if (profile != survivor)
                {
                    Absorb(profile, survivor);
                }
            }

            return survivor;
        }

        private bool WithinCaps(int[] counts, int[] added)
        {
            foreach (var type in Types)
            {
                if (counts[(int)type] + added[(int)type] > caps.For(type))
                {
                    return false;
                }
            }

            return true;
        }

        private void Absorb(WorkingProfile profile, WorkingProfile survivor)
        {
            for (var t = 0; t < TypeCount; t++)
            {
                survivor.Counts[t] += profile.Counts[t];
            }

            if (profile.FirstSeen < survivor.FirstSeen)
            {
                survivor.FirstSeen = profile.FirstSeen;
            }

            profiles.Remove(profile.Id);
            absorbedInto.Add(profile.Id, survivor.Id);
            absorbed.Add(profile.Id);
            absorbedBy.Add(current);
        }

        /// <summary>
        /// Links what is not linked yet of an identifier and its pseudonym under the previous key. The identifier counts
        /// once: not again when it was already counted through its previous pseudonym, and never for the previous one. False
        /// when its type's cap refused it.
        /// </summary>
        private bool LinkWithPrevious(int index, CanonicalIdentifier identifier, bool previousKnown, WorkingProfile profile)
        {
            var linked = OwnerOf(identifier.Pseudonym) is not null;
            if (!linked && previousKnown)
            {
                linkedTo.Add(identifier.Pseudonym, profile.Id);
                links.Add((identifier.Pseudonym, identifier.Type));
                linked = true;
            }
            else if (!linked)
            {
                linked = Link(index, identifier, profile);
            }

            if (linked && identifier.Previous is { } previous)
            {
                if (!previousKnown)
                {
                    linkedTo.Add(previous, profile.Id);
                    links.Add((previous, identifier.Type));
                }

                aliases.Add((previous, identifier.Pseudonym));
            }

            return linked;
        }

        /// <summary>Links a new identifier to the profile; false when its type's cap refused it.</summary>
        private bool Link(int index, CanonicalIdentifier identifier, WorkingProfile profile)
        {
            if (profile.Counts[(int)identifier.Type] >= caps.For(identifier.Type))
            {
                conflicts.Add((index, identifier));
                return false;
            }

            profile.Counts[(int)identifier.Type]++;
            linkedTo.Add(identifier.Pseudonym, profile.Id);
            links.Add((identifier.Pseudonym, identifier.Type));
            return true;
        }
    }
}
