using System.ComponentModel.DataAnnotations;

namespace Streams.Quality;

/// <summary>The data-quality worker (configuration section <c>Quality</c>; CONTRACT.md §9).</summary>
public sealed class QualityOptions
{
    public const string Section = "Quality";

    /// <summary>Streamiz application id: its consumer group and the prefix of its internal topics (default <c>streams-quality</c>).</summary>
    [Required, RegularExpression("^[a-zA-Z0-9._-]{1,100}$")] public string ApplicationId { get; set; } = "streams-quality";

    /// <summary>Length of a window (default one minute).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a window still takes records stamped inside it (default 5 minutes); later ones are dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")] public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long windows stay queryable in the store (default 24 hours); the alert baselines must fit in it.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")] public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How often counts and consumed positions are committed (default 1 s). A crash can count again what was processed
    /// since the last commit, so this bounds how far over a count can be (CONTRACT.md §9.3).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")] public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Records one poll hands to the topology (default 500).</summary>
    [Range(1, 100_000)] public int MaxPollRecords { get; set; } = 500;

    /// <summary>
    /// Kafka transactions for the counts (Streamiz <c>exactly_once_v2</c>). Default off: the embedded broker shows
    /// aborted records to read_committed consumers, so there they would promise nothing. Turn on with a real Kafka.
    /// </summary>
    public bool ExactlyOnce { get; set; }

    /// <summary>Where Streamiz keeps its task state (default <c>&lt;Streams:StateDir&gt;/quality</c>).</summary>
    public string? StateDir { get; set; }

    /// <summary>How often the alert rules are evaluated (default 10 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")] public TimeSpan AlertInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The alert rules.</summary>
    public AlertRulesOptions Alerts { get; set; } = new();
}

/// <summary>The alert rules (section <c>Quality:Alerts</c>). A rule whose setting is null is off.</summary>
public sealed class AlertRulesOptions
{
    /// <summary>The recent window the rules look at (default 5 minutes).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")] public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The history before the recent window that "new" and "rising" compare with (default 1 hour).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")] public TimeSpan Baseline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Raise when a topic's quarantined share over the window exceeds this (default 0.2; null: off).</summary>
    [Range(0.0, 1.0)] public double? QuarantinedShareAbove { get; set; } = 0.2;

    /// <summary>The share rule needs at least this many inputs in the window (default 20), so three records do not make a rate.</summary>
    [Range(1, long.MaxValue)] public long MinInputs { get; set; } = 20;

    /// <summary>Raise when a reason code appears on a topic that it did not have during the baseline (default on).</summary>
    public bool NewReasonCode { get; set; } = true;

    /// <summary>Raise when a code's rate over the window is this many times its baseline rate (default 3; null: off).</summary>
    [Range(1.0, 1e9)] public double? ReasonRiseFactor { get; set; } = 3;

    /// <summary>The rise rule needs at least this many records with the code in the window (default 10).</summary>
    [Range(1, long.MaxValue)] public long MinReasonCount { get; set; } = 10;

    /// <summary>Raise when an input topic has had no input for longer than this (default 15 minutes; null: off).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")] public TimeSpan? SilentAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Input topics the silence rule leaves alone (default none). The consent topic is always left alone: requests come
    /// when people make them, and hours without one are normal.
    /// </summary>
    public IList<string> SilenceExempt { get; set; } = [];
}
