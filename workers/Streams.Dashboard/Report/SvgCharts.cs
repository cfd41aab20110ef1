using System.Globalization;
using System.Xml.Linq;
using Streams.Dashboard.Figures;
using Streams.Segmentation.Model;

namespace Streams.Dashboard.Report;

/// <summary>
/// Self-contained SVG charts of the segments (no scripts, no external fonts or styles): sizes as bars, and every segment's
/// centroid per feature against the population as a heat strip. Built with XLinq so every text is escaped and the file
/// is well-formed XML.
/// </summary>
public static class SvgCharts
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private const int BarAreaWidth = 480;
    private const int LabelWidth = 110;
    private const int RowHeight = 26;
    private const int CellWidth = 26;
    private const string Font = "font-family:sans-serif;font-size:12px";

    /// <summary>The longest bar's width in pixels; every other bar is proportional to its segment's size.</summary>
    public static int MaxBarWidth => BarAreaWidth;

    /// <summary>One horizontal bar per segment, largest first, its length proportional to the segment's size.</summary>
    public static XDocument SegmentSizes(SegmentsFigures segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var rows = segments.Segments;
        var max = Math.Max(1, rows.Count == 0 ? 1 : rows.Max(s => s.Size));
        var width = LabelWidth + BarAreaWidth + 90;
        var height = 40 + Math.Max(1, rows.Count) * RowHeight + 10;
        var svg = Root(width, height, $"Segment sizes (model version {segments.ModelVersion})");
        svg.Add(Text(10, 22, $"Members per segment, model version {segments.ModelVersion}", "font-weight:bold"));
        for (var i = 0; i < rows.Count; i++)
        {
            var s = rows[i];
            var y = 36 + i * RowHeight;
            var length = (double)s.Size / max * BarAreaWidth;
            svg.Add(Text(10, y + 15, $"segment {s.Id}"));
            svg.Add(new XElement(Svg + "rect",
                new XAttribute("class", "bar"),
                new XAttribute("data-segment", s.Id),
                new XAttribute("data-size", s.Size),
                new XAttribute("x", LabelWidth), new XAttribute("y", y + 3),
                new XAttribute("width", Px(length)), new XAttribute("height", RowHeight - 8),
                new XAttribute("fill", s.Described ? "#4477aa" : "#bbbbbb"),
                new XElement(Svg + "title", s.Described ? $"segment {s.Id}: {s.Size} members" : $"segment {s.Id}: {s.Size} members, below the privacy floor")));
            svg.Add(Text(LabelWidth + length + 6, y + 15, Format.Count(s.Size)));
        }

        if (rows.Count == 0)
        {
            svg.Add(Text(10, 52, segments.Status ?? "no segments"));
        }

        return new XDocument(svg);
    }

    /// <summary>
    /// A heat strip per described segment: one cell per feature, coloured by how far the segment's typical member is from
    /// the population (the centroid in population standard deviations; white is the average customer, red above, blue below).
    /// </summary>
    public static XDocument SegmentFeatures(SegmentsFigures segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var rows = segments.Segments.Where(s => s.Described && s.Centroid.Count == FeatureSpace.Dimension).ToList();
        var names = FeatureSpace.Names;
        const int header = 150;
        // Room on the right for the last rotated feature names.
        var width = LabelWidth + names.Count * CellWidth + 90;
        var height = header + Math.Max(1, rows.Count) * RowHeight + 60;
        var svg = Root(width, height, "Segments against the population, per feature");
        svg.Add(Text(10, 22, "Typical member vs the average customer (standard deviations)", "font-weight:bold"));
        for (var j = 0; j < names.Count; j++)
        {
            var x = LabelWidth + j * CellWidth + CellWidth / 2;
            svg.Add(new XElement(Svg + "text",
                new XAttribute("x", x), new XAttribute("y", header - 6),
                new XAttribute("transform", $"rotate(-60 {x} {header - 6})"),
                new XAttribute("style", Font), names[j]));
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var s = rows[i];
            var y = header + i * RowHeight;
            svg.Add(Text(10, y + 17, $"segment {s.Id}"));
            for (var j = 0; j < names.Count; j++)
            {
                var z = s.Centroid[j];
                svg.Add(new XElement(Svg + "rect",
                    new XAttribute("class", "cell"),
                    new XAttribute("data-segment", s.Id), new XAttribute("data-feature", names[j]),
                    new XAttribute("data-z", z.ToString("0.####", CultureInfo.InvariantCulture)),
                    new XAttribute("x", LabelWidth + j * CellWidth), new XAttribute("y", y),
                    new XAttribute("width", CellWidth - 1), new XAttribute("height", RowHeight - 1),
                    new XAttribute("fill", Diverging(z)),
                    new XElement(Svg + "title", $"segment {s.Id}, {names[j]}: {Format.Z(z)} sd")));
                if (Math.Abs(z) >= 0.5)
                {
                    // The number too, where it matters: colour alone is hard to read exactly.
                    svg.Add(new XElement(Svg + "text",
                        new XAttribute("x", LabelWidth + j * CellWidth + CellWidth / 2), new XAttribute("y", y + 16),
                        new XAttribute("text-anchor", "middle"),
                        new XAttribute("style", "font-family:sans-serif;font-size:9px;fill:" + (Math.Abs(z) >= 1.2 ? "white" : "black")),
                        z.ToString("0.0;−0.0", CultureInfo.InvariantCulture)));
                }
            }
        }

        if (rows.Count == 0)
        {
            svg.Add(Text(10, header + 17, segments.Status ?? "no segment is large enough to be described"));
        }

        // Legend: −2 … +2 standard deviations.
        var legendY = header + Math.Max(1, rows.Count) * RowHeight + 20;
        for (var k = 0; k <= 8; k++)
        {
            var z = -2 + k * 0.5;
            svg.Add(new XElement(Svg + "rect", new XAttribute("x", LabelWidth + k * CellWidth), new XAttribute("y", legendY),
                new XAttribute("width", CellWidth - 1), new XAttribute("height", 12), new XAttribute("fill", Diverging(z))));
        }

        svg.Add(Text(10, legendY + 11, "−2 sd … +2 sd"));
        return new XDocument(svg);
    }

    /// <summary>Writes <paramref name="chart"/> as UTF-8 without a byte order mark.</summary>
    public static void Save(XDocument chart, string path)
    {
        ArgumentNullException.ThrowIfNull(chart);
        using var writer = System.Xml.XmlWriter.Create(path, new System.Xml.XmlWriterSettings { Encoding = new System.Text.UTF8Encoding(false), Indent = true });
        chart.Save(writer);
    }

    /// <summary>Blue below the average, white at it, red above; saturated at ±2 standard deviations.</summary>
    internal static string Diverging(double z)
    {
        var t = double.IsFinite(z) ? Math.Clamp(z / 2, -1, 1) : 0;
        var (r, g, b) = t >= 0
            ? (Mix(255, 178, t), Mix(255, 24, t), Mix(255, 43, t))
            : (Mix(255, 33, -t), Mix(255, 102, -t), Mix(255, 172, -t));
        return $"#{r:x2}{g:x2}{b:x2}";

        static int Mix(int from, int to, double t) => (int)Math.Round(from + (to - from) * t);
    }

    private static XElement Root(int width, int height, string title) => new(Svg + "svg",
        new XAttribute("width", width), new XAttribute("height", height),
        new XAttribute("viewBox", $"0 0 {width} {height}"),
        new XAttribute("role", "img"),
        new XElement(Svg + "title", title),
        new XElement(Svg + "rect", new XAttribute("width", width), new XAttribute("height", height), new XAttribute("fill", "white")));

    private static XElement Text(double x, double y, string text, string? style = null) => new(Svg + "text",
        new XAttribute("x", Px(x)), new XAttribute("y", Px(y)), new XAttribute("style", style is null ? Font : Font + ";" + style), text);

    private static string Px(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
