using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Profiles.Identity;

namespace Streams.Profiles.Processing;

/// <summary>A Kafka record to publish after the batch commits (written to the outbox in the same transaction).</summary>
public sealed record OutboxMessage(string Topic, byte[]? Key, byte[]? Value);

/// <summary>A row of the consent audit: what was asked and done, without who.</summary>
public sealed record ConsentAudit(
    string EventId, string Action, string IdentifierType, string Outcome, int IdentifiersRemoved, long EventsErased, DateTimeOffset RequestedAt);

/// <summary>A profile absorbed by another.</summary>
public sealed record ProfileMerge(string Absorbed, string Survivor, DateTimeOffset MergedAt);

/// <summary>
/// A merge as it happened (CONTRACT §5.4): the record that bridged it, where it sits on the canonical topic and where it
/// came from, and the pseudonyms of that event on either side.
/// </summary>
public sealed record MergeLineage(string MergeId, string Absorbed, string Survivor, DateTimeOffset MergedAt, string EventId,
    SourcePosition Canonical, SourcePosition Source, MergeEvidence Evidence);

/// <summary>An event as it was used for a profile, kept for re-deriving it (Identity:LineageRetention).</summary>
public sealed record LineageEvent(string ProfileId, SourcePosition Canonical, CanonicalEvent Event);

/// <summary>Everything one batch changes, for one transaction.</summary>
public sealed class BatchChanges
{
    /// <summary>Profiles created or changed, in their final state (version already increased).</summary>
    public List<StoredProfile> Upserts { get; } = [];

    /// <summary>Profiles that existed before the batch (or were created in it) and are gone: absorbed or erased.</summary>
    public HashSet<string> Deleted { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Profiles this batch created, whether or not they outlive it. One created and absorbed (or erased) within the batch
    /// never had a row nor a published record: nothing to delete, and no row of an earlier merge names it as survivor.
    /// </summary>
    public HashSet<string> Created { get; } = new(StringComparer.Ordinal);

    /// <summary>Erased profiles: every row about them goes, merges included.</summary>
    public HashSet<string> Erased { get; } = new(StringComparer.Ordinal);

    public List<ProfileMerge> Merges { get; } = [];

    /// <summary>Lineage of each of <see cref="Merges"/>, in the same order.</summary>
    public List<MergeLineage> MergeLineage { get; } = [];

    /// <summary>Events attributed to profiles, as used, in the order applied; empty when lineage is not kept.</summary>
    public List<LineageEvent> Lineage { get; } = [];

    /// <summary>Until when <see cref="Lineage"/> is kept; null when Identity:LineageRetention is zero.</summary>
    public DateTimeOffset? LineageKeptUntil { get; init; }

    public List<OutboxMessage> Outbox { get; } = [];

    /// <summary>Identifiers linked for the first time: rows to insert.</summary>
    public List<(string Pseudonym, StoredLink Link)> NewLinks { get; } = [];

    /// <summary>Stored identifiers now on another profile (a merge, or an erased one seen again) or with another mark: rows to rewrite.</summary>
    public List<(string Pseudonym, StoredLink Link)> MovedLinks { get; } = [];

    /// <summary>Stored identifiers no profile holds any more (erasure): rows to delete.</summary>
    public List<string> DroppedLinks { get; } = [];

    public List<ConsentAudit> Audits { get; } = [];

    /// <summary>Events used, conflicts raised, for metrics.</summary>
    public int Events { get; set; }

    public int Conflicts { get; set; }

    /// <summary>Identifiers this batch marked shared.</summary>
    public int MarkedShared { get; set; }

    /// <summary>Identifiers left out of an event because an operator blocked them beside another of its identifiers.</summary>
    public int Blocked { get; set; }

    public int Unlinkable { get; set; }

    public int Invalid { get; set; }
}
