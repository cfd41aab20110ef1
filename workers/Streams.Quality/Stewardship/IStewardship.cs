using Streams.Contracts;
using Streams.Contracts.Quarantine;

namespace Streams.Quality.Stewardship;

/// <summary>
/// What a data steward can do with quarantined records: browse them (masked copies only), read an original from its
/// input topic (audited), and send it back through ingest, corrected or unchanged, once. The host commands and the
/// stewards' web console are two faces of this one service.
/// </summary>
public interface IStewardship
{
    /// <summary>Quarantine records (masked copies as the quarantine topics hold them), newest first.</summary>
    Task<QuarantinePage> BrowseAsync(QuarantineQuery query, CancellationToken cancellationToken);

    /// <summary>The quarantine record written for one input position, or null when none is known.</summary>
    Task<QuarantineEntry?> FindAsync(SourcePosition source, CancellationToken cancellationToken);

    /// <summary>
    /// The original record read from its input topic at <paramref name="source"/>. Audited with the steward's name;
    /// <see cref="OriginalRecord.PastRetention"/> when the topic no longer holds it.
    /// </summary>
    Task<OriginalRecord> ReadOriginalAsync(SourcePosition source, string steward, CancellationToken cancellationToken);

    /// <summary>
    /// Sends the original back through ingest once, with <paramref name="edits"/> applied to its non-personal fields
    /// (field name → the new value as JSON text); none to replay it unchanged after an upstream fix. Audited.
    /// </summary>
    Task<ReplayResult> ReplayAsync(
        SourcePosition source, string steward, IReadOnlyDictionary<string, string>? edits, CancellationToken cancellationToken);

    /// <summary>Replays, unchanged, every record of one input topic quarantined with one reason code in a time window.</summary>
    Task<BulkReplayResult> ReplayReasonAsync(
        string topic, string reasonCode, DateTimeOffset from, DateTimeOffset to, string steward, CancellationToken cancellationToken);

    /// <summary>The audit of views of originals and replays, newest first.</summary>
    Task<IReadOnlyList<StewardAuditEntry>> AuditAsync(StewardAuditQuery query, CancellationToken cancellationToken);
}

/// <summary>A page of the quarantine browser; every filter is optional.</summary>
public sealed record QuarantineQuery(
    string? Topic = null, string? ReasonCode = null, DateTimeOffset? From = null, DateTimeOffset? To = null,
    int Page = 0, int PageSize = 50);

public sealed record QuarantinePage(IReadOnlyList<QuarantineEntry> Entries, long Total);

/// <summary>One quarantine record: <see cref="MaskedRecordJson"/> is its masked copy (null when it had none).</summary>
public sealed record QuarantineEntry(
    SourcePosition Source, string? EventId, string Disposition, IReadOnlyList<QuarantineReason> Reasons,
    string? MaskedRecordJson, DateTimeOffset QuarantinedAt, string? LastReplayOutcome);

public sealed record QuarantineReason(string Code, string? Field, string? Detail);

/// <summary>
/// An original input record. <see cref="ValueJson"/> is null when <see cref="PastRetention"/>;
/// <see cref="EditableFields"/> names the fields a replay may change (none of them personal).
/// </summary>
public sealed record OriginalRecord(
    SourcePosition Source, string? ValueJson, bool PastRetention, IReadOnlyList<string> EditableFields);

public enum ReplayStatus
{
    Replayed,
    AlreadyReplayed,
    PastRetention,
    NotQuarantined,
    Refused,
}

/// <summary>What a replay did; <see cref="ReplayedAs"/> is where the replayed record was written.</summary>
public sealed record ReplayResult(SourcePosition Source, ReplayStatus Status, SourcePosition? ReplayedAs, string? Detail);

public sealed record BulkReplayResult(int Matched, int Replayed, int Skipped);

public sealed record StewardAuditQuery(int Limit = 100, string? Steward = null);

/// <summary>One audited action: <see cref="Action"/> is <c>view_original</c>, <c>replay</c> or <c>bulk_replay</c>.</summary>
public sealed record StewardAuditEntry(
    long Id, DateTimeOffset At, string Steward, string Action, SourcePosition? Source, string Outcome);
