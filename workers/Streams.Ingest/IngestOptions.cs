using System.ComponentModel.DataAnnotations;

namespace Streams.Ingest;

/// <summary>Configuration section <c>Ingest</c> (CONTRACT §4).</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Values larger than this are quarantined as <c>oversized_record</c> without being parsed. Default 1 MiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxRecordBytes { get; set; } = 1024 * 1024;

    /// <summary>How far <c>occurred_at</c> may be ahead of the ingest clock before <c>future_timestamp</c>. Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an <c>event_id</c> is remembered per input topic for <c>duplicate_event</c>. Default 7 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromDays(7);
}
