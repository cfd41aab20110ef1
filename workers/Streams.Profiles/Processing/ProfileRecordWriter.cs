using System.Text.Json;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Profiles;
using Streams.Contracts.Quarantine;
using Streams.Profiles.Features;

namespace Streams.Profiles.Processing;

/// <summary>
/// The records the profiles worker publishes (CONTRACT §4, §5.1, profile-merges), from its own types: the JSON itself is
/// written by the contracts' one writer of each record (<see cref="ProfileJson"/>, <see cref="InternalQuarantineRecord"/>).
/// </summary>
public sealed class ProfileRecordWriter
{
    /// <summary>A profile (§5.1).</summary>
    public byte[] Profile(StoredProfile profile, DateTimeOffset updatedAt)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var counts = profile.Aggregate.EventCounts;
        return ProfileJson.Profile(profile.ProfileId, profile.SortedPseudonyms(), profile.FirstSeen, profile.LastSeen,
            (counts.Clickstream, counts.Store, counts.Callcenter, counts.Social), profile.Aggregate.WriteFeatures,
            profile.PersonalizationAllowed, profile.Version, updatedAt);
    }

    /// <summary>A merge (§5.4): <see cref="ProfileJson.Merge"/>.</summary>
    public byte[] Merge(string mergeId, string absorbed, string survivor, DateTimeOffset at, string eventId) =>
        ProfileJson.Merge(mergeId, absorbed, survivor, at, eventId);

    /// <summary>An unmerge or a detach (§5.4): <see cref="ProfileJson.Split"/>.</summary>
    public byte[] Split(string kind, string? mergeId, string restored, string survivor, DateTimeOffset at) =>
        ProfileJson.Split(kind, mergeId, restored, survivor, at);

    /// <summary>Largest copy of the canonical event put into an identity-conflict record; a larger one (a sale with
    /// hundreds of long category names) is left out, so the record always fits the producer's message limit.</summary>
    public const int MaxRecordCopyBytes = 64 * 1024;

    /// <summary>
    /// The flagged quarantine record of an event whose link was refused by a cap (§4 <c>identity_conflict</c>). The
    /// masked copy holds only what the canonical event holds: the pseudonyms, never a raw value.
    /// </summary>
    public byte[] IdentityConflict(CanonicalEvent e, CanonicalIdentifier refused, int cap, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(refused);
        var type = IdentifierTypeNames.Name(refused.Type);
        return IdentityConflict(e, refused,
            $"linking {refused.Pseudonym} would give the profile more than {cap} {type} identifiers; the event is used, the link is not made", at);
    }

    /// <summary>The flagged <c>identity_conflict</c> quarantine record of an event, with <paramref name="detail"/> saying why.</summary>
    public byte[] IdentityConflict(CanonicalEvent e, CanonicalIdentifier refused, string detail, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(refused);
        var record = JsonSerializer.SerializeToUtf8Bytes(e, CanonicalJsonContext.Default.CanonicalEvent);
        return InternalQuarantineRecord.WriteFlagged(e.Source, e.EventId,
            new QuarantineReason(ReasonCodes.IdentityConflict, IdentifierTypeNames.Name(refused.Type), detail), record,
            withCopy: record.Length <= MaxRecordCopyBytes, at);
    }

    /// <summary>The quarantine record of a canonical record the worker cannot read: bounded, no value of it copied.</summary>
    public static byte[] InvalidCanonical(InvalidItem item, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(item);
        return InternalQuarantineRecord.Write(item.Position.Topic, item.Position.Partition, item.Position.Offset, item.EventId, item.Reason,
            item.RawBytes, item.RawSha256, at);
    }
}
