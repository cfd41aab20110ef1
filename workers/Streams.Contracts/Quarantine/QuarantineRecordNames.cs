namespace Streams.Contracts.Quarantine;

/// <summary>
/// The property names of a quarantine record (CONTRACT §4) for its hand-written writers
/// (<see cref="InternalQuarantineRecord"/>). <see cref="QuarantineJsonContext"/> derives the same names from
/// <see cref="QuarantineRecord"/>'s properties, and reads them all.
/// </summary>
public static class QuarantineRecordNames
{
    public const string Source = "source";
    public const string Topic = "topic";
    public const string Partition = "partition";
    public const string Offset = "offset";
    public const string EventId = "event_id";
    public const string Disposition = "disposition";
    public const string Reasons = "reasons";
    public const string Code = "code";
    public const string Field = "field";
    public const string Detail = "detail";
    public const string Record = "record";
    public const string RawSha256 = "raw_sha256";
    public const string RawBytes = "raw_bytes";
    public const string QuarantinedAt = "quarantined_at";

    /// <summary>The wire name of a disposition: <c>quarantined</c> or <c>flagged</c>.</summary>
    public static string DispositionName(QuarantineDisposition disposition) => disposition switch
    {
        QuarantineDisposition.Quarantined => "quarantined",
        QuarantineDisposition.Flagged => "flagged",
        _ => throw new ArgumentOutOfRangeException(nameof(disposition), disposition, null),
    };
}
