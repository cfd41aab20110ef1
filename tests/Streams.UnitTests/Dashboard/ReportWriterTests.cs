using System.Globalization;
using System.Xml.Linq;
using Streams.Dashboard.Figures;
using Streams.Dashboard.Report;
using Streams.Segmentation.Model;
using static Streams.UnitTests.Dashboard.DashboardTestKit;

namespace Streams.UnitTests.Dashboard;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "streams-report-" + Guid.NewGuid().ToString("N")[..10]);

    private static double Number(XElement e, string attribute) => double.Parse(e.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void Write_ReportAndChartsExist_AndTheMarkdownLinksTheCharts()
    {
        var path = ReportWriter.Write(directory, Figures());

        var markdown = File.ReadAllText(path);
        Assert.Equal(Path.Combine(directory, ReportWriter.FileName), path);
        Assert.Contains($"]({ReportWriter.SizesChart})", markdown, StringComparison.Ordinal);
        Assert.Contains($"]({ReportWriter.FeaturesChart})", markdown, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(directory, ReportWriter.SizesChart)));
        Assert.True(File.Exists(Path.Combine(directory, ReportWriter.FeaturesChart)));
        // No byte order mark: some viewers show it as a stray character before the XML declaration.
        Assert.Equal((byte)'<', File.ReadAllBytes(Path.Combine(directory, ReportWriter.SizesChart))[0]);
    }

    [Fact]
    public void Markdown_HasRunLengthFiguresPerTopicReasonAndSegment()
    {
        var figures = Figures();
        var markdown = ReportWriter.Markdown(figures);

        Assert.Contains("**1h 02m 03s**", markdown, StringComparison.Ordinal);
        Assert.Contains("| store | 140 | 130 | 4 | 6 | 0 | 0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| `malformed_json` | quarantined | 6 | store 6 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| code | disposition | records | per topic |\n|---|---|---:|---|", markdown, StringComparison.Ordinal);
        Assert.Contains("| 170 | 7 | 2 | 150 | 1 | 3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("## Segments (model version 3)", markdown, StringComparison.Ordinal);
        var top = figures.Segments.Segments[0];
        Assert.Contains($"| 10 | 300 | {top.Description} | avg_basket +1.50 (11.182 vs 1.718); max_followers −0.80 (0.221 vs 1.718) |", markdown,
            StringComparison.Ordinal);
        Assert.Contains("| profiles | `streams-profiles` | not read: Local: Timed out |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_TopFeatures_CompareTheTypicalMemberWithTheAverageCustomer()
    {
        // Scaler: mean 1, sd 1 in raw units; features at the average (z 0) are left out. max_followers is log1p-transformed: z = 2.5 → raw 3.5 → e^3.5 − 1 ≈ 32.115; the
        // average customer is raw 1 → e − 1 ≈ 1.718.
        var markdown = ReportWriter.Markdown(Figures());

        Assert.Contains("| 11 | 120 | A typical member has a large social following. | max_followers +2.50 (32.115 vs 1.718) |",
            markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_TextWithPipes_DoesNotBreakTheTable()
    {
        var markdown = ReportWriter.Markdown(Figures(statuses: ["segments: a | b"]) with { Broker = "x" });

        Assert.Contains("* segments: a \\| b", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NoSegments_SaysWhy_AndRemovesChartsOfAnEarlierRun()
    {
        ReportWriter.Write(directory, Figures());

        var path = ReportWriter.Write(directory, Figures(SegmentsFigures.Unavailable(50, "no segmentation model yet")));

        Assert.Contains("No segments: no segmentation model yet.", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(directory, ReportWriter.SizesChart)));
        Assert.False(File.Exists(Path.Combine(directory, ReportWriter.FeaturesChart)));
    }

    [Fact]
    public void SizesChart_IsValidSvg_WithBarsProportionalToSizes()
    {
        var segments = Segments([Centroid(("avg_basket", 1)), Centroid(("max_followers", 1)), Centroid(("events_per_week", 1))], [400, 100, 250]);
        ReportWriter.Write(directory, Figures(segments));

        var svg = XDocument.Load(Path.Combine(directory, ReportWriter.SizesChart));
        var bars = svg.Descendants(SvgCharts.Svg + "rect").Where(r => (string?)r.Attribute("class") == "bar").ToList();

        Assert.Equal("svg", svg.Root!.Name.LocalName);
        Assert.Equal(["10", "12", "11"], bars.Select(b => b.Attribute("data-segment")!.Value));
        Assert.Equal(SvgCharts.MaxBarWidth, Number(bars[0], "width"));
        foreach (var bar in bars)
        {
            Assert.Equal(Number(bar, "data-size") / 400, Number(bar, "width") / SvgCharts.MaxBarWidth, 2);
        }
    }

    [Fact]
    public void FeaturesChart_HasOneCellPerFeatureOfEachDescribedSegment_ColouredByDirection()
    {
        var segments = Segments([Centroid(("avg_basket", 2)), Centroid(("max_followers", -2)), Centroid()], [400, 100, 10]);
        ReportWriter.Write(directory, Figures(segments));

        var svg = XDocument.Load(Path.Combine(directory, ReportWriter.FeaturesChart));
        var cells = svg.Descendants(SvgCharts.Svg + "rect").Where(r => (string?)r.Attribute("class") == "cell").ToList();

        // The third segment is below the privacy floor (10 < 50): no strip for it.
        Assert.Equal(2 * FeatureSpace.Dimension, cells.Count);
        string Fill(string segment, string feature) => cells
            .Single(c => c.Attribute("data-segment")!.Value == segment && c.Attribute("data-feature")!.Value == feature).Attribute("fill")!.Value;
        Assert.Equal("#b2182b", Fill("10", "avg_basket"));
        Assert.Equal("#2166ac", Fill("11", "max_followers"));
        Assert.Equal("#ffffff", Fill("10", "max_followers"));
        var labels = svg.Descendants(SvgCharts.Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("2.0", labels);
        Assert.Contains("−2.0", labels);
    }

    [Theory]
    [InlineData(0, "#ffffff")]
    [InlineData(2, "#b2182b")]
    [InlineData(9, "#b2182b")]
    [InlineData(-2, "#2166ac")]
    [InlineData(double.NaN, "#ffffff")]
    public void Diverging_ColoursBySignAndSaturatesAtTwo(double z, string colour) => Assert.Equal(colour, SvgCharts.Diverging(z));

    [Fact]
    public void SizesChart_SegmentIdsAndTextAreEscaped_AndTheDocumentParses()
    {
        var figures = SegmentsFigures.Unavailable(50, "<model> & \"friends\"");

        var text = SvgCharts.SegmentSizes(figures).ToString();

        Assert.Contains("&lt;model&gt; &amp;", text, StringComparison.Ordinal);
        Assert.NotNull(XDocument.Parse(text).Root);
    }

    public void Dispose()
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
