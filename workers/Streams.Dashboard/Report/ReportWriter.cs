using System.Globalization;
using System.Text;
using Streams.Dashboard.Figures;

namespace Streams.Dashboard.Report;

/// <summary>
/// The exit report: <c>report.md</c> with the run's final figures and two SVG charts beside it. It is built only from
/// <see cref="DashboardFigures"/>, which hold counts, codes, topic names and model figures: no personal data can reach it.
/// </summary>
public static class ReportWriter
{
    public const string FileName = "report.md";
    public const string SizesChart = "segment-sizes.svg";
    public const string FeaturesChart = "segment-features.svg";

    /// <summary>Writes the report and its charts into <paramref name="directory"/> (created); returns the report's path.</summary>
    public static string Write(string directory, DashboardFigures figures)
    {
        ArgumentNullException.ThrowIfNull(figures);
        Directory.CreateDirectory(directory);
        var hasSegments = figures.Segments.Segments.Count > 0;
        if (hasSegments)
        {
            SvgCharts.Save(SvgCharts.SegmentSizes(figures.Segments), Path.Combine(directory, SizesChart));
            SvgCharts.Save(SvgCharts.SegmentFeatures(figures.Segments), Path.Combine(directory, FeaturesChart));
        }
        else
        {
            // Charts of an earlier run in the same state dir would describe another model.
            File.Delete(Path.Combine(directory, SizesChart));
            File.Delete(Path.Combine(directory, FeaturesChart));
        }

        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path, Markdown(figures), new UTF8Encoding(false));
        return path;
    }

    public static string Markdown(DashboardFigures f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        void Row(IEnumerable<string> cells) => Line("| " + string.Join(" | ", cells.Select(Cell)) + " |");
        // A column whose name starts with '#' holds numbers: right-aligned, the '#' not shown.
        void Head(params string[] columns)
        {
            Row(columns.Select(c => c.TrimStart('#')));
            Line("|" + string.Concat(columns.Select(c => c.StartsWith('#') ? "---:|" : "---|")));
        }

        var started = f.At - f.Uptime;
        Line("# Streams run report");
        Line();
        Line(string.Create(CultureInfo.InvariantCulture,
            $"Run from {started.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z to {f.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: **{Format.Duration(f.Uptime)}**."));
        Line();
        Line($"Broker `{f.Broker}` · database `{f.Database}`");
        Line();

        Line("## Input topics");
        Line();
        var simulating = f.Topics.Any(t => t.Simulated is not null);
        Head([.. new[] { "topic", "#records", "#accepted", "#flagged", "#quarantined", "#duplicates", "#anonymous sales" },
            .. simulating ? new[] { "#simulated", "#injected" } : []]);
        foreach (var t in f.Topics)
        {
            Row([t.Topic, Format.Count(t.Records), Format.Count(t.Accepted), Format.Count(t.Flagged), Format.Count(t.Quarantined),
                Format.Count(t.Duplicates), Format.Count(t.AnonymousSales), .. simulating ? new[] { Format.Count(t.Simulated), Format.Count(t.Injected) } : []]);
        }

        Line();
        Line("## Reason codes");
        Line();
        if (f.Reasons.Count == 0)
        {
            Line("No record was flagged or quarantined.");
        }
        else
        {
            Head("code", "disposition", "#records", "per topic");
            foreach (var r in f.Reasons)
            {
                Row([$"`{r.Code}`", r.Disposition, Format.Count(r.Total), Format.PerTopic(r.PerTopic)]);
            }
        }

        Line();
        Line("## Profiles and segmentation");
        Line();
        var p = f.Pipeline;
        Head("#canonical records", "#merges", "#identity conflicts", "#profiles segmented", "#re-seeds", "#model version");
        Row([Format.Count(p.CanonicalRecords), Format.Count(p.Merges), Format.Count(p.IdentityConflicts), Format.Count(p.SegmentedProfiles),
            Format.Count(p.Reseeds), Format.Count(p.ModelVersion)]);
        Line();
        if (p.ActivationRows > 0)
        {
            Line("## Campaign activation");
            Line();
            Head("#list rows", "#matched", "#refused");
            Row([Format.Count(p.ActivationRows), Format.Count(p.ActivationMatched), Format.Count(p.ActivationRefused)]);
            Line();
        }


        if (f.Lag.Count > 0)
        {
            Line("## Consumer lag at exit");
            Line();
            Head("worker", "consumer group", "#records behind");
            foreach (var l in f.Lag)
            {
                Row([l.Worker, $"`{l.Group}`", l.Lag is { } lag ? Format.Count(lag) : "not read: " + l.Status]);
            }

            Line();
        }

        Segments(f.Segments, Line, Head, Row);

        if (f.Statuses.Count > 0)
        {
            Line("## Notes");
            Line();
            foreach (var status in f.Statuses)
            {
                Line("* " + Cell(status));
            }

            Line();
        }

        return md.ToString();
    }

    private static void Segments(SegmentsFigures s, Action<string> line, Action<string[]> head, Action<IEnumerable<string>> row)
    {
        line(s.ModelVersion is { } version ? $"## Segments (model version {version})" : "## Segments");
        line("");
        if (s.Segments.Count == 0)
        {
            line("No segments: " + (s.Status ?? "none yet") + ".");
            line("");
            return;
        }

        line($"![Members per segment]({SizesChart})");
        line("");
        head(["#segment", "#size", "description", "distinctive features: standard deviations from the average customer (typical member vs average)"]);
        foreach (var segment in s.Segments)
        {
            row([segment.Id.ToString(CultureInfo.InvariantCulture), Format.Count(segment.Size),
                segment.Described ? segment.Description : Format.BelowFloor(s.MinSegmentSize),
                segment.Described ? TopFeatures(segment, s.Population) : ""]);
        }

        line("");
        line($"![Each segment against the population, per feature]({FeaturesChart})");
        line("");
        line("Red cells: the segment's typical member is above the average customer on that feature; blue: below; white: about average.");
        line("");
    }

    // "total_spend +1.20 (412.5 vs 96.1)": the distance, then the typical member's value against the average customer's.
    // A top feature at the average says nothing, so only those at least NotableZ away are listed.
    private static string TopFeatures(SegmentFigures segment, IReadOnlyDictionary<string, double> population) => segment.TopFeatures
        .Where(t => Math.Abs(t.SegmentZ) >= Segmentation.Model.FeaturePhrases.NotableZ) is var notable && !notable.Any()
        ? "none: close to the average customer"
        : string.Join("; ", notable.Select(t =>
        {
            var own = segment.Typical.TryGetValue(t.Feature, out var v) ? Format.Number(v) : "?";
            var all = population.TryGetValue(t.Feature, out var a) ? Format.Number(a) : "?";
            return $"{t.Feature} {Format.Z(t.SegmentZ)} ({own} vs {all})";
        }));

    // A table cell: pipes and line breaks would break the Markdown table.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
