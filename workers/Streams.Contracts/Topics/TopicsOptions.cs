using System.ComponentModel.DataAnnotations;

namespace Streams.Contracts.Topics;

/// <summary>
/// Topic names and sizing (configuration section <c>Topics</c>). Defaults are the names of CONTRACT.md §1.
/// Quarantine topics are always <c>&lt;input topic&gt;.quarantine</c>.
/// </summary>
public sealed class TopicsOptions
{
    public const string Section = "Topics";

    [Required, RegularExpression(TopicName.Pattern)] public string Clickstream { get; set; } = "clickstream";
    [Required, RegularExpression(TopicName.Pattern)] public string Store { get; set; } = "store";
    [Required, RegularExpression(TopicName.Pattern)] public string Callcenter { get; set; } = "callcenter";
    [Required, RegularExpression(TopicName.Pattern)] public string Social { get; set; } = "social";
    [Required, RegularExpression(TopicName.Pattern)] public string Consent { get; set; } = "consent";
    [Required, RegularExpression(TopicName.Pattern)] public string Profiles { get; set; } = "profiles";
    [Required, RegularExpression(TopicName.Pattern)] public string ProfileMerges { get; set; } = "profile-merges";
    [Required, RegularExpression(TopicName.Pattern)] public string Segments { get; set; } = "segments";
    [Required, RegularExpression(TopicName.Pattern)] public string SegmentCatalog { get; set; } = "segment-catalog";

    /// <summary>Campaign systems' audience-join requests (raw identifiers, read only by the activation worker).</summary>
    [Required, RegularExpression(TopicName.Pattern)] public string ActivationRequests { get; set; } = "activation-requests";

    /// <summary>Answers to audience-join requests, keyed by the campaign system's record id.</summary>
    [Required, RegularExpression(TopicName.Pattern)] public string ActivationResponses { get; set; } = "activation-responses";

    /// <summary>Data-quality figures per input topic and window, for data stewards (compacted).</summary>
    [Required, RegularExpression(TopicName.Pattern)] public string DataQuality { get; set; } = "data-quality";

    /// <summary>Data-quality alerts raised and cleared (compacted: the last state of each alert).</summary>
    [Required, RegularExpression(TopicName.Pattern)] public string DataQualityAlerts { get; set; } = "data-quality-alerts";

    /// <summary>Internal: pseudonymous canonical events from ingest to the profiles worker.</summary>
    [Required, RegularExpression(TopicName.Pattern)] public string Canonical { get; set; } = "streams.canonical-events";

    /// <summary>Partitions of every topic the service creates (default 4).</summary>
    [Range(1, 10_000)] public int Partitions { get; set; } = 4;

    /// <summary>Replication factor of every topic the service creates (default 1; use 3 on a production cluster).</summary>
    [Range(1, 32)] public short ReplicationFactor { get; set; } = 1;

    /// <summary>
    /// How long a compacted output topic (<c>profiles</c>, <c>segments</c>, <c>segment-catalog</c>) keeps a tombstone
    /// (<c>delete.retention.ms</c>): a consumer offline for less than this still sees every erasure and opt-out
    /// (CONTRACT §6). Default 7 days.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long the canonical topic and every quarantine topic keep a record (<c>retention.ms</c>): the longest a
    /// pseudonymous copy of an erased customer's events lives on after the erasure (CONTRACT §6). Default 30 days.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The quarantine topic of an input topic.</summary>
    public static string QuarantineOf(string inputTopic) => inputTopic + ".quarantine";
}

internal static class TopicName
{
    // Kafka's legal topic characters; at most 249 of them.
    public const string Pattern = "^[a-zA-Z0-9._-]{1,249}$";
}
