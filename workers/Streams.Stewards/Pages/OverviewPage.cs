using Streams.Quality.Figures;

namespace Streams.Stewards.Pages;

/// <summary>Per input topic: the period's totals, its top reason codes and the chart of its windows.</summary>
internal static class OverviewPage
{
    public static Markup Body(IQualityReader? quality, IReadOnlyList<string> topics, DateTimeOffset from, DateTimeOffset to)
    {
        var html = new Html();
        if (quality is null)
        {
            html.Add($"<p class=\"notice\">This host does not run the data-quality worker (Streams:Only without quality), so there are no figures to show.</p>");
            return html.ToMarkup();
        }

        html.Add($"<p>From {Layout.Time(from)} to {Layout.Time(to)} (UTC).</p>");
        html.Add($"<table><thead><tr><th>Topic</th><th>Inputs</th><th>Quarantined</th><th>Share</th><th>Flagged</th><th>Top reasons</th></tr></thead><tbody>");
        var charts = new Html();
        foreach (var topic in topics)
        {
            var windows = quality.Windows(topic, from, to);
            var total = windows.Select(w => w.ToFigures()).Aggregate(QualityFigures.Empty, QualityFigures.Add);
            var top = string.Join(", ", total.Reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Take(3)
                .Select(r => $"{r.Key} {r.Value}"));
            var browse = $"/quarantine?topic={Uri.EscapeDataString(topic)}";
            html.Add($"<tr><td><a href=\"{browse}\">{topic}</a></td><td class=\"n\">{total.Inputs}</td><td class=\"n\">{total.Quarantined}</td>");
            html.Add($"<td class=\"n\">{Layout.Share(total.QuarantinedShare)}</td><td class=\"n\">{total.Flagged}</td><td>{top}</td></tr>");
            charts.Add($"<h2>{topic}</h2>{QualityChart.Render(topic, windows, from, to)}");
        }

        html.Add($"</tbody></table>{charts.ToMarkup()}");
        return html.ToMarkup();
    }
}
