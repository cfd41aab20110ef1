using Spectre.Console.Testing;
using Streams.Dashboard.Figures;
using Streams.Dashboard.Rendering;
using static Streams.UnitTests.Dashboard.DashboardTestKit;

namespace Streams.UnitTests.Dashboard;

public sealed class DashboardRendererTests
{
    private static string Screen(DashboardFigures figures, int width = 160)
    {
        var console = new TestConsole().Width(width);
        console.Write(DashboardRenderer.Render(figures));
        return console.Output;
    }

    private static string Line(string screen, string start) =>
        screen.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(start, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"No line starts with '{start}' in:\n{screen}");

    private static string[] Cells(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Render_TopicRows_ShowRateAndCountsPerOutcome()
    {
        var screen = Screen(Figures());

        // store: 140 records, (140 − 100) / 2 s = 20 per second, 130 accepted, 4 flagged, 6 quarantined.
        Assert.Equal(["store", "20", "140", "130", "4", "6", "0", "0"], Cells(Line(screen, "store")));
        Assert.Equal(["clickstream", "0.0", "40", "40", "0", "0", "0", "0"], Cells(Line(screen, "clickstream")));
    }

    [Fact]
    public void Render_ReasonRows_ShowCodeDispositionAndCountPerTopic()
    {
        var screen = Screen(Figures());

        Assert.Contains("malformed_json", Line(screen, "malformed_json"), StringComparison.Ordinal);
        Assert.Matches(@"^malformed_json\s+quarantined\s+6\s+store 6$", Line(screen, "malformed_json"));
        Assert.Matches(@"^total_mismatch\s+flagged\s+4\s+store 4$", Line(screen, "total_mismatch"));
        Assert.Matches(@"^identity_conflict\s+flagged\s+2\s+canonical 2$", Line(screen, "identity_conflict"));
    }

    [Fact]
    public void Render_HeaderLagAndPipeline_AreShown()
    {
        var screen = Screen(Figures());

        Assert.Contains("up 1h 02m 03s · broker 127.0.0.1:9092 · database 127.0.0.1:5432/streams", screen, StringComparison.Ordinal);
        Assert.Contains("log lines go to /var/streams/streams.log", screen, StringComparison.Ordinal);
        Assert.Contains("170 canonical records · 7 merges · 2 identity conflicts", screen, StringComparison.Ordinal);
        Assert.Contains("150 profiles · model v3 · 1 re-seeds", screen, StringComparison.Ordinal);
        Assert.Contains("streams-ingest 12 · streams-profiles ? Local: Timed out", screen, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ActivationProgress_IsShownOnceAListHasBeenAsked()
    {
        var figures = Figures();
        Assert.DoesNotContain("activation:", Screen(figures), StringComparison.Ordinal);

        var asked = figures with { Pipeline = figures.Pipeline with { ActivationRows = 12_000, ActivationMatched = 9_000, ActivationRefused = 3 } };

        Assert.Matches(@"^activation: 12[,.\u00a0 ]?000 list rows · 9[,.\u00a0 ]?000 matched · 3 refused$", Line(Screen(asked), "activation:"));
    }

    [Fact]
    public void Render_Segments_LargestFirst_WithTheirDescriptions()
    {
        var figures = Figures();
        var screen = Screen(figures, width: 240);

        var first = Line(screen, "10 ");
        var second = Line(screen, "11 ");
        Assert.True(screen.IndexOf(first, StringComparison.Ordinal) < screen.IndexOf(second, StringComparison.Ordinal));
        Assert.Contains("300", first, StringComparison.Ordinal);
        Assert.Contains(figures.Segments.Segments[0].Description, first, StringComparison.Ordinal);
        Assert.Contains("120", second, StringComparison.Ordinal);
        Assert.Contains("Segments (model version 3)", screen, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SegmentBelowThePrivacyFloor_ShowsItsSizeOnly()
    {
        var segments = Segments([Centroid(("avg_basket", 1.5)), Centroid(("max_followers", 2.5))], [300, 12], minSegmentSize: 50);

        var line = Line(Screen(Figures(segments), width: 240), "11 ");

        Assert.Matches(@"^11\s+12\s+below the privacy floor \(50 members\): not described$", line);
    }

    [Fact]
    public void Render_StatusesAndMissingSources_AreShownNotThrown()
    {
        var screen = Screen(Figures(SegmentsFigures.Unavailable(50, "no segmentation model yet"), ["segments: no answer within 2 s; showing the last figures"], logFile: null));

        Assert.Contains("Segments: no segmentation model yet", screen, StringComparison.Ordinal);
        Assert.Contains("! segments: no answer within 2 s", screen, StringComparison.Ordinal);
        Assert.Contains("log lines go to the console", screen, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TextThatLooksLikeMarkup_IsPrintedAsIs()
    {
        var figures = Figures() with { Broker = "[red]broker[/]" };

        Assert.Contains("broker [red]broker[/]", Screen(figures), StringComparison.Ordinal);
    }
}
