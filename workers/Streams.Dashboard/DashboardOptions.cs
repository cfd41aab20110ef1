using System.ComponentModel.DataAnnotations;

namespace Streams.Dashboard;

/// <summary>The live console view and the exit report (section <c>Console</c>).</summary>
public sealed class DashboardOptions
{
    public const string Section = "Console";

    /// <summary>
    /// Live view on or off; unset means on exactly when standard output is an interactive terminal. While it is on, log
    /// lines go to <c>&lt;state dir&gt;/streams.log</c> instead of the console.
    /// </summary>
    public bool? Live { get; set; }

    /// <summary>Whether the host writes <c>&lt;state dir&gt;/report/report.md</c> and its charts on shutdown (default true).</summary>
    public bool Report { get; set; } = true;

    /// <summary>How often the live view refreshes (default 1 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")] public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often segments are read from PostgreSQL (default 5 s: a size count is a scan, the workers come first).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")] public TimeSpan SegmentsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest one source (lag, segments) may take before it is shown as not answering (default 2 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")] public TimeSpan SampleTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest the exit report may hold up shutdown; past it the report is written with what is known (default 10 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")] public TimeSpan ReportTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the live view runs, given whether standard output is redirected.</summary>
    public bool IsLive(bool outputRedirected) => Live ?? !outputRedirected;
}
