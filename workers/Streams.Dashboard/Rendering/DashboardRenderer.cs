using Spectre.Console;
using Spectre.Console.Rendering;
using Streams.Dashboard.Figures;

namespace Streams.Dashboard.Rendering;

/// <summary>The live view's screen: one renderable from one sample of figures. Every text is plain (never parsed as markup).</summary>
public static class DashboardRenderer
{
    public static IRenderable Render(DashboardFigures figures)
    {
        ArgumentNullException.ThrowIfNull(figures);
        var parts = new List<IRenderable>
        {
            Header(figures),
            Topics(figures),
            Reasons(figures),
            Pipeline(figures),
            Lag(figures),
            Segments(figures.Segments),
        };
        if (figures.Statuses.Count > 0)
        {
            parts.Add(new Rows(figures.Statuses.Select(s => new Text("! " + s, new Style(Color.Yellow)))));
        }

        return new Rows(parts);
    }

    // One line for where things are, one for what the keys do: an 80 × 24 terminal keeps the tables in view.
    private static Rows Header(DashboardFigures f) => new(
        new Text($"Streams · up {Format.Duration(f.Uptime)} · broker {f.Broker} · database {f.Database}", new Style(decoration: Decoration.Bold)),
        new Text((f.LogFile is null ? "log lines go to the console" : $"log lines go to {f.LogFile}") + " · Ctrl-C stops and writes the report",
            new Style(Color.Grey)));

    private static Table Topics(DashboardFigures f)
    {
        var simulating = f.Topics.Any(t => t.Simulated is not null);
        var table = NewTable("Input topics", "topic", "events/s", "total", "accepted", "flagged", "quarant.", "dupl.", "anon. sales");
        if (simulating)
        {
            foreach (var column in new[] { "sim./s", "simulated", "injected" })
            {
                table.AddColumn(new TableColumn(column).RightAligned());
            }
        }

        foreach (var t in f.Topics)
        {
            var cells = new List<string>
            {
                t.Topic, Format.Rate(t.PerSecond), Format.Count(t.Records), Format.Count(t.Accepted), Format.Count(t.Flagged),
                Format.Count(t.Quarantined), Format.Count(t.Duplicates), Format.Count(t.AnonymousSales),
            };
            if (simulating)
            {
                cells.AddRange([Format.Rate(t.SimulatedPerSecond), Format.Count(t.Simulated), Format.Count(t.Injected)]);
            }

            Add(table, cells);
        }

        return table;
    }

    private static IRenderable Reasons(DashboardFigures f)
    {
        if (f.Reasons.Count == 0)
        {
            return new Text("Reason codes: no record flagged or quarantined yet", new Style(Color.Grey));
        }

        var table = NewTable("Flagged and quarantined, per reason code", "code", "disposition", "records", "per topic");
        table.Columns[1].LeftAligned();
        table.Columns[3].LeftAligned();
        foreach (var r in f.Reasons)
        {
            Add(table, [r.Code, r.Disposition, Format.Count(r.Total), Format.PerTopic(r.PerTopic)]);
        }

        return table;
    }

    private static Rows Pipeline(DashboardFigures f)
    {
        var p = f.Pipeline;
        var lines = new List<IRenderable>
        {
            new Text($"profiles: {Format.Count(p.CanonicalRecords)} canonical records · {Format.Count(p.Merges)} merges · " +
                $"{Format.Count(p.IdentityConflicts)} identity conflicts"),
            new Text($"segmentation: {Format.Count(p.SegmentedProfiles)} profiles · " +
                $"model {(p.ModelVersion is { } v ? "v" + Format.Count(v) : "not seeded")} · {Format.Count(p.Reseeds)} re-seeds"),
        };
        if (p.ActivationRows > 0)
        {
            // Only once a campaign list has been asked: most runs never see one.
            lines.Add(new Text($"activation: {Format.Count(p.ActivationRows)} list rows · {Format.Count(p.ActivationMatched)} matched · " +
                $"{Format.Count(p.ActivationRefused)} refused"));
        }

        return new Rows(lines);
    }

    private static Text Lag(DashboardFigures f) => new(f.Lag.Count == 0
        ? "lag: not read yet"
        : "lag (records behind): " + string.Join(" · ", f.Lag.Select(l => $"{l.Group} {(l.Lag is { } lag ? Format.Count(lag) : "? " + l.Status)}")));

    private static IRenderable Segments(SegmentsFigures s)
    {
        if (s.Segments.Count == 0)
        {
            return new Text("Segments: " + (s.Status ?? "none yet"), new Style(Color.Grey));
        }

        var table = NewTable($"Segments (model version {s.ModelVersion})", "segment", "size", "description");
        table.Columns[2].LeftAligned();
        foreach (var segment in s.Segments)
        {
            Add(table, [segment.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Format.Count(segment.Size),
                segment.Described ? segment.Description : Format.BelowFloor(s.MinSegmentSize)]);
        }

        return table;
    }

    private static Table NewTable(string title, params string[] columns)
    {
        var table = new Table { Title = new TableTitle(title, new Style(decoration: Decoration.Bold)), Border = TableBorder.Simple };
        for (var i = 0; i < columns.Length; i++)
        {
            var column = new TableColumn(new Text(columns[i]));
            table.AddColumn(i == 0 ? column.LeftAligned() : column.RightAligned());
        }

        return table;
    }

    private static void Add(Table table, IEnumerable<string> cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c)));
}
