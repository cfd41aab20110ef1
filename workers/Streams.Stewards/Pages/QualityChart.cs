using System.Globalization;
using System.Xml.Linq;
using Streams.Quality.Figures;

namespace Streams.Stewards.Pages;

/// <summary>
/// One input topic's windows as an inline SVG, drawn on the server: inputs per window as bars, the quarantined ones over
/// them, and the quarantined share as a line against the right axis. Presentation attributes only (no style attributes),
/// so the page's Content-Security-Policy needs no inline styles; XLinq escapes every text.
/// </summary>
internal static class QualityChart
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private const double Width = 720, Height = 190, Left = 56, Right = 664, Top = 16, Bottom = 160;

    public static Markup Render(string topic, IReadOnlyList<QualityMinute> windows, DateTimeOffset from, DateTimeOffset to)
    {
        var span = Math.Max(1, (to - from).TotalMilliseconds);
        var maxInputs = Math.Max(1, windows.Count == 0 ? 1 : windows.Max(w => w.Inputs));
        double X(DateTimeOffset at) => Left + (Right - Left) * Math.Clamp((at - from).TotalMilliseconds / span, 0, 1);
        double Y(double count) => Bottom - (Bottom - Top) * count / maxInputs;
        double YShare(double share) => Bottom - (Bottom - Top) * Math.Clamp(share, 0, 1);

        var svg = new XElement(Svg + "svg",
            new XAttribute("xmlns", Svg.NamespaceName),
            new XAttribute("class", "chart"), new XAttribute("role", "img"),
            new XAttribute("width", N(Width)), new XAttribute("height", N(Height)),
            new XAttribute("viewBox", $"0 0 {N(Width)} {N(Height)}"),
            new XAttribute("data-topic", topic),
            new XElement(Svg + "title", $"{topic}: inputs and quarantined records per window, quarantined share"),
            Line(Left, Bottom, Right, Bottom, "#888"), Line(Left, Top, Left, Bottom, "#888"), Line(Right, Top, Right, Bottom, "#888"),
            Text(Left - 6, Top + 4, Count(maxInputs), "end"), Text(Left - 6, Bottom, "0", "end"),
            Text(Right + 6, Top + 4, "100%", "start", "#c0392b"), Text(Right + 6, Bottom, "0%", "start", "#c0392b"),
            Text(Left, Bottom + 16, Clock(from), "start"), Text(Right, Bottom + 16, Clock(to), "end"),
            Text((Left + Right) / 2, Bottom + 28, "inputs (blue), quarantined (red) per window; red line: quarantined share", "middle"));

        var shares = new List<string>();
        foreach (var w in windows)
        {
            var x0 = X(w.WindowStart);
            var barWidth = Math.Max(1, X(w.WindowEnd) - x0 - 1);
            svg.Add(Bar(x0, Y(w.Inputs), barWidth, Bottom - Y(w.Inputs), "#9db4d0", "inputs",
                $"{Clock(w.WindowStart)}: {w.Inputs} inputs, {w.Quarantined} quarantined, {w.Flagged} flagged"));
            svg.Add(Bar(x0, Y(w.Quarantined), barWidth, Bottom - Y(w.Quarantined), "#c0392b", "quarantined", null));
            if (w.QuarantinedShare is { } share)
            {
                shares.Add($"{N(x0 + barWidth / 2)},{N(YShare(share))}");
            }
        }

        if (shares.Count > 0)
        {
            svg.Add(new XElement(Svg + "polyline", new XAttribute("class", "share"), new XAttribute("points", string.Join(' ', shares)),
                new XAttribute("fill", "none"), new XAttribute("stroke", "#c0392b"), new XAttribute("stroke-width", "1.5")));
        }

        if (windows.Count == 0)
        {
            svg.Add(Text((Left + Right) / 2, (Top + Bottom) / 2, "no records in this period", "middle"));
        }

        return new Markup(svg.ToString(SaveOptions.DisableFormatting));
    }

    private static XElement Bar(double x, double y, double width, double height, string fill, string kind, string? title)
    {
        var bar = new XElement(Svg + "rect", new XAttribute("class", kind),
            new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("width", N(width)), new XAttribute("height", N(height)),
            new XAttribute("fill", fill));
        if (title is not null)
        {
            bar.Add(new XElement(Svg + "title", title));
        }

        return bar;
    }

    private static XElement Line(double x1, double y1, double x2, double y2, string stroke) =>
        new(Svg + "line", new XAttribute("x1", N(x1)), new XAttribute("y1", N(y1)), new XAttribute("x2", N(x2)), new XAttribute("y2", N(y2)),
            new XAttribute("stroke", stroke));

    private static XElement Text(double x, double y, string text, string anchor, string fill = "#444") =>
        new(Svg + "text", new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("text-anchor", anchor),
            new XAttribute("font-family", "sans-serif"), new XAttribute("font-size", "11"), new XAttribute("fill", fill), text);

    private static string Clock(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm'Z'", CultureInfo.InvariantCulture);

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string N(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
}
