using System.Security.Cryptography;
using System.Text;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;

namespace Streams.Profiles.Processing;

/// <summary>
/// Applies one batch of canonical records to the profiles it touches, in memory and in input order: identity
/// resolution, aggregates, consent, erasure. No I/O: the worker loads the profiles before and writes
/// <see cref="BatchChanges"/> after, in one transaction.
/// </summary>
/// <remarks>
/// Everything here is a function of the loaded state and the records (profile ids come from the position of the
/// record that created the profile, link times from event time), so a batch re-run after a crash, or the same
/// records cut into different batches, ends in the same tables.
/// </remarks>
public sealed class ProfileBatchProcessor(TopicCatalog catalog, IdentityCaps caps, ProfileRecordWriter writer, TimeSpan lineageRetention = default)
{
    /// <summary>Applies <paramref name="items"/> to <paramref name="state"/> and returns what changed.</summary>
    public BatchChanges Apply(ProfileState state, IReadOnlyList<BatchItem> items, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(items);
        var changes = new BatchChanges { LineageKeptUntil = lineageRetention > TimeSpan.Zero ? now + lineageRetention : null };
        var changed = new HashSet<string>(StringComparer.Ordinal);
        var run = new List<EventItem>();
        foreach (var item in items)
        {
            switch (item)
            {
                case EventItem e:
                    run.Add(e);
                    break;
                case ConsentItem c:
                    ApplyEvents(state, run, changes, changed);
                    run.Clear();
                    ApplyConsent(state, c.Command, changes, changed);
                    break;
                case InvalidItem invalid:
                    changes.Invalid++;
                    // Keyed by its position: the record's own key is not copied (it could be anything, of any size).
                    changes.Outbox.Add(new OutboxMessage(TopicsOptions.QuarantineOf(catalog.Names.Canonical),
                        InternalQuarantineRecord.Key(invalid.Position.Topic, invalid.Position.Partition, invalid.Position.Offset),
                        ProfileRecordWriter.InvalidCanonical(invalid, now)));
                    break;
            }
        }

        ApplyEvents(state, run, changes, changed);

        var ids = changed.ToArray();
        Array.Sort(ids, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (state.Profiles.TryGetValue(id, out var profile))
            {
                profile.Version++;
                changes.Upserts.Add(profile);
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Profiles, Key(id), writer.Profile(profile, now)));
            }
        }

        CompareLinks(state, changes);
        return changes;
    }

    /// <summary>
    /// The identity rows to write: only those that differ from what was loaded. Every profile whose identifiers changed
    /// is in <see cref="BatchChanges.Upserts"/> (it gained them) or <see cref="BatchChanges.Deleted"/> (it lost them).
    /// </summary>
    internal static void CompareLinks(ProfileState state, BatchChanges changes)
    {
        var held = 0;
        foreach (var profile in changes.Upserts)
        {
            held += profile.Identifiers.Count;
        }

        // Sized once: under a backlog most links are new, and growing the list by doubling copied it a dozen times a batch.
        changes.NewLinks.EnsureCapacity(Math.Max(held - state.StoredLinks.Count, 0));
        var heldPseudonyms = new HashSet<string>(held, StringComparer.Ordinal);
        foreach (var profile in changes.Upserts)
        {
            foreach (var (pseudonym, (type, linkedAt, aliasOf)) in profile.Identifiers)
            {
                heldPseudonyms.Add(pseudonym);
                var link = new StoredLink(profile.ProfileId, type, linkedAt, aliasOf, profile.Marks.GetValueOrDefault(pseudonym));
                if (!state.StoredLinks.TryGetValue(pseudonym, out var stored))
                {
                    changes.NewLinks.Add((pseudonym, link));
                }
                else if (stored != link)
                {
                    changes.MovedLinks.Add((pseudonym, link));
                }
            }
        }

        foreach (var (pseudonym, stored) in state.StoredLinks)
        {
            if (!heldPseudonyms.Contains(pseudonym) && changes.Deleted.Contains(stored.ProfileId))
            {
                changes.DroppedLinks.Add(pseudonym);
            }
        }
    }

    private void ApplyEvents(ProfileState state, List<EventItem> run, BatchChanges changes, HashSet<string> changed)
    {
        if (run.Count == 0)
        {
            return;
        }

        var inputs = new List<ResolutionInput>(run.Count);
        for (var i = 0; i < run.Count; i++)
        {
            var position = run[i].Position;
            inputs.Add(new ResolutionInput(i, run[i].Event.OccurredAt, run[i].Event.Identifiers, () => NewProfileId(position)));
        }

        var resolution = IdentityResolver.Resolve(state.Snapshot(), inputs, caps);

        foreach (var created in resolution.CreatedProfiles)
        {
            state.Profiles[created] = new StoredProfile { ProfileId = created, Aggregate = new ProfileAggregate() };
            changes.Created.Add(created);
        }

        for (var m = 0; m < resolution.Merges.Count; m++)
        {
            var (absorbedId, survivorId) = resolution.Merges[m];
            var survivor = state.Profiles[survivorId];
            var absorbed = state.Profiles[absorbedId];
            survivor.Aggregate = ProfileAggregate.Merge(survivor.Aggregate, absorbed.Aggregate);
            // An opt-out anywhere in the component wins: merging must never turn personalization back on.
            survivor.PersonalizationAllowed &= absorbed.PersonalizationAllowed;
            survivor.Version = Math.Max(survivor.Version, absorbed.Version);
            foreach (var (pseudonym, link) in absorbed.Identifiers)
            {
                survivor.Identifiers[pseudonym] = link;
                state.Owners[pseudonym] = survivorId;
            }

            foreach (var (pseudonym, mark) in absorbed.Marks)
            {
                survivor.Marks[pseudonym] = mark;
            }

            state.Profiles.Remove(absorbedId);
            changed.Remove(absorbedId);
            changed.Add(survivorId);
            changes.Deleted.Add(absorbedId);
            // The merge happened at the event that bridged the two: event time, so replays agree.
            var bridging = run[resolution.MergedBy[m]];
            var mergedAt = bridging.Event.OccurredAt;
            var mergeId = MergeId(bridging.Position, absorbedId);
            changes.Merges.Add(new ProfileMerge(absorbedId, survivorId, mergedAt));
            changes.MergeLineage.Add(new MergeLineage(mergeId, absorbedId, survivorId, mergedAt, bridging.Event.EventId, bridging.Position,
                bridging.Event.Source, resolution.MergeEvidence[m]));
            changes.Outbox.Add(new OutboxMessage(catalog.Names.ProfileMerges, Key(absorbedId),
                writer.Merge(mergeId, absorbedId, survivorId, mergedAt, bridging.Event.EventId)));
            if (!changes.Created.Contains(absorbedId))
            {
                // Tombstones only for what was published: a profile created and absorbed within this batch never was
                // (with a backlog, most customers' first events reach one batch through several partitions).
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Profiles, Key(absorbedId), null));
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Segments, Key(absorbedId), null));
            }
        }

        var firstUse = new Dictionary<string, DateTimeOffset>(run.Count, StringComparer.Ordinal);
        foreach (var e in run)
        {
            // By index: foreach over the interface boxes an enumerator per event.
            for (var k = 0; k < e.Event.Identifiers.Count; k++)
            {
                var identifier = e.Event.Identifiers[k];
                firstUse.TryAdd(identifier.Pseudonym, e.Event.OccurredAt);
                if (identifier.Previous is { } previous)
                {
                    firstUse.TryAdd(previous, e.Event.OccurredAt);
                }
            }
        }

        foreach (var (pseudonym, type, profileId) in resolution.NewLinks)
        {
            state.Profiles[profileId].Identifiers[pseudonym] = (type, firstUse[pseudonym], null);
            state.Owners[pseudonym] = profileId;
        }

        foreach (var (previous, current) in resolution.Aliases)
        {
            // Only within one profile: a previous pseudonym held by a profile the caps kept apart stays what it was.
            if (state.Owners.TryGetValue(previous, out var owner) && state.Owners.TryGetValue(current, out var currentOwner)
                && owner == currentOwner && state.Profiles[owner].Identifiers[previous] is var link && link.AliasOf != current)
            {
                state.Profiles[owner].Identifiers[previous] = link with { AliasOf = current };
            }
        }

        foreach (var (pseudonym, mark) in resolution.Marks)
        {
            // Only linked identifiers get marks, and their profile is in the state: it was attributed an event.
            var owner = state.Profiles[state.Owners[pseudonym]];
            owner.Marks[pseudonym] = mark;
            changed.Add(owner.ProfileId);
        }

        changes.MarkedShared += resolution.NewlyShared.Count;

        for (var i = 0; i < run.Count; i++)
        {
            var profileId = resolution.ProfileOf[i];
            if (profileId is null)
            {
                // An event without identifiers (an anonymous sale) is counted, never a profile.
                changes.Unlinkable++;
                continue;
            }

            state.Profiles[profileId].Aggregate.Apply(run[i].Event);
            changed.Add(profileId);
            changes.Events++;
            if (changes.LineageKeptUntil is not null)
            {
                changes.Lineage.Add(new LineageEvent(profileId, run[i].Position, AsUsed(run[i].Event, profileId, state.Owners)));
            }
        }

        // In event order, whichever rule refused the link.
        var refusals = resolution.Conflicts.Select(c => (c.Index, c.Refused, Rule: Refusal.Cap))
            .Concat(resolution.SharedRefusals.Select(c => (c.Index, c.Refused, Rule: Refusal.Shared)))
            .Concat(resolution.BlockedRefusals.Select(c => (c.Index, c.Refused, Rule: Refusal.Blocked)))
            .OrderBy(c => c.Index);
        foreach (var (index, refused, rule) in refusals)
        {
            var e = run[index].Event;
            Conflict(changes, e, rule switch
            {
                Refusal.Shared => writer.IdentityConflict(e, refused, $"{refused.Pseudonym} is a shared {IdentifierTypeNames.Name(refused.Type)} " +
                    "identifier (Identity:SharedAfterRefusals): it links no profile; the event is used without it", e.OccurredAt),
                Refusal.Blocked => writer.IdentityConflict(e, refused, $"an operator undid the link of {refused.Pseudonym} to another identifier " +
                    "of this event (unmerge or detach): the event is used without it", e.OccurredAt),
                _ => writer.IdentityConflict(e, refused, caps.For(refused.Type), e.OccurredAt),
            });
        }

        changes.Blocked += resolution.BlockedRefusals.Count;
    }

    private enum Refusal
    {
        Cap,
        Shared,
        Blocked,
    }

    /// <summary>
    /// <paramref name="e"/> with only the identifiers it linked to <paramref name="profileId"/>: what re-deriving the profile
    /// replays. One a cap, a block or a shared mark kept out, or that belongs to a profile the caps kept apart, is left out,
    /// so a replay of the profile's events alone links what the original run linked.
    /// </summary>
    private static CanonicalEvent AsUsed(CanonicalEvent e, string profileId, Dictionary<string, string> owners)
    {
        // Most events are used whole: that is checked first (by index: foreach over the interface boxes an enumerator),
        // so only the others get a list of their own.
        var all = true;
        for (var k = 0; k < e.Identifiers.Count && all; k++)
        {
            all = ReferenceEquals(UsedAs(e.Identifiers[k], profileId, owners), e.Identifiers[k]);
        }

        if (all)
        {
            return e;
        }

        var used = new List<CanonicalIdentifier>(e.Identifiers.Count);
        for (var k = 0; k < e.Identifiers.Count; k++)
        {
            if (UsedAs(e.Identifiers[k], profileId, owners) is { } identifier)
            {
                used.Add(identifier);
            }
        }

        return e with { Identifiers = used };
    }

    /// <summary>
    /// <paramref name="identifier"/> as <paramref name="profileId"/> used it: itself; without its previous pseudonym when
    /// another profile holds that one; null when the identifier is not the profile's.
    /// </summary>
    private static CanonicalIdentifier? UsedAs(CanonicalIdentifier identifier, string profileId, Dictionary<string, string> owners)
    {
        if (!owners.TryGetValue(identifier.Pseudonym, out var owner) || owner != profileId)
        {
            return null;
        }

        return identifier.Previous is not { } previous || (owners.TryGetValue(previous, out var previousOwner) && previousOwner == profileId)
            ? identifier
            : identifier with { Previous = null };
    }

    /// <summary>A merge's id: opaque, derived from where its bridging record sits and the absorbed profile, so a replay agrees.</summary>
    public static string MergeId(SourcePosition position, string absorbed)
    {
        ArgumentNullException.ThrowIfNull(position);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"merge/{position.Topic}/{position.Partition}/{position.Offset}/{absorbed}"));
        return "m-" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }

    private void Conflict(BatchChanges changes, CanonicalEvent e, byte[] record)
    {
        changes.Conflicts++;
        // Next to the input it came from, but only when that is one of ours: a forged source naming any other topic
        // would have the outbox produce to a topic that may not exist, and retry that forever.
        var quarantine = catalog.Inputs.Contains(e.Source.Topic, StringComparer.Ordinal) ? e.Source.Topic : catalog.Names.Canonical;
        changes.Outbox.Add(new OutboxMessage(TopicsOptions.QuarantineOf(quarantine), Key(e.EventId), record));
    }

    private void ApplyConsent(ProfileState state, ConsentCommand command, BatchChanges changes, HashSet<string> changed)
    {
        var action = command.Action switch
        {
            ConsentAction.OptOut => "opt_out",
            ConsentAction.OptIn => "opt_in",
            _ => "erase",
        };
        var type = IdentifierTypeNames.Name(command.IdentifierType);
        // Under every configured key: a profile last seen before a key rotation holds only an older pseudonym, and one
        // split before the rotation was understood may hold both; the request reaches each.
        var owners = new List<string>(1);
        foreach (var pseudonym in PseudonymsOf(command))
        {
            if (state.Owners.TryGetValue(pseudonym, out var owner) && state.Profiles.ContainsKey(owner) && !owners.Contains(owner))
            {
                owners.Add(owner);
            }
        }

        if (owners.Count == 0)
        {
            // Never seen: not an error, but the request is on record.
            changes.Audits.Add(new ConsentAudit(command.EventId, action, type, "unknown_identifier", 0, 0, command.OccurredAt));
            return;
        }

        foreach (var owner in owners)
        {
            ApplyConsent(state, command, owner, action, type, changes, changed);
        }
    }

    /// <summary>The pseudonyms a consent request looks its identifier up by: the active key's, then every other key's.</summary>
    public static IEnumerable<string> PseudonymsOf(ConsentCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.OtherPseudonyms is { } others ? others.Prepend(command.Pseudonym) : [command.Pseudonym];
    }

    private void ApplyConsent(
        ProfileState state, ConsentCommand command, string profileId, string action, string type, BatchChanges changes, HashSet<string> changed)
    {
        var profile = state.Profiles[profileId];
        switch (command.Action)
        {
            case ConsentAction.OptOut:
                profile.PersonalizationAllowed = false;
                changed.Add(profileId);
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Segments, Key(profileId), null));
                changes.Audits.Add(new ConsentAudit(command.EventId, action, type, "applied", 0, 0, command.OccurredAt));
                break;
            case ConsentAction.OptIn:
                profile.PersonalizationAllowed = true;
                changed.Add(profileId);
                // An opt-out earlier in this batch must not leave its segments tombstone behind: the profile record this
                // batch writes says personalization is allowed, so the segmentation worker keeps (or makes) the
                // assignment and would never publish it again over the tombstone.
                changes.Outbox.RemoveAll(m => m.Topic == catalog.Names.Segments && m.Value is null && m.Key is not null
                    && m.Key.AsSpan().SequenceEqual(Key(profileId)));
                changes.Audits.Add(new ConsentAudit(command.EventId, action, type, "applied", 0, 0, command.OccurredAt));
                break;
            default:
                foreach (var pseudonym in profile.Identifiers.Keys)
                {
                    state.Owners.Remove(pseudonym);
                }

                state.Profiles.Remove(profileId);
                changed.Remove(profileId);
                changes.Deleted.Add(profileId);
                changes.Erased.Add(profileId);
                // Nothing about the profile may stay behind, not even a record waiting to be published.
                changes.Outbox.RemoveAll(m => m.Key is not null && m.Key.AsSpan().SequenceEqual(Key(profileId)));
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Profiles, Key(profileId), null));
                changes.Outbox.Add(new OutboxMessage(catalog.Names.Segments, Key(profileId), null));
                changes.Audits.Add(new ConsentAudit(command.EventId, action, type, "erased", profile.Identifiers.Count,
                    profile.Aggregate.TotalEvents, command.OccurredAt));
                break;
        }
    }

    /// <summary>
    /// A new profile's id: opaque, derived from where the record that created it sits in the canonical topic (never
    /// from personal data), so a replay creates the same id.
    /// </summary>
    public static string NewProfileId(SourcePosition position)
    {
        ArgumentNullException.ThrowIfNull(position);
        var text = $"{position.Topic}/{position.Partition}/{position.Offset}";
        Span<byte> utf8 = stackalloc byte[256];
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetByteCount(text) <= utf8.Length ? utf8[..Encoding.UTF8.GetBytes(text, utf8)] : Encoding.UTF8.GetBytes(text), hash);
        return string.Create(26, hash, static (chars, hash) =>
        {
            chars[0] = 'p';
            chars[1] = '-';
            Convert.TryToHexStringLower(hash[..12], chars[2..], out _);
        });
    }

    public static byte[] Key(string id) => Encoding.UTF8.GetBytes(id);
}
