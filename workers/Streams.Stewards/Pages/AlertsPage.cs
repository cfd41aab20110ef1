using Streams.Quality.Figures;

namespace Streams.Stewards.Pages;

/// <summary>The data-quality alerts in force (the same ones the worker writes to <c>data-quality-alerts</c>).</summary>
internal static class AlertsPage
{
    public static Markup Body(IQualityReader? quality)
    {
        var html = new Html();
        if (quality is null)
        {
            html.Add($"<p class=\"notice\">This host does not run the data-quality worker, so it raises no alerts.</p>");
            return html.ToMarkup();
        }

        var alerts = quality.ActiveAlerts.OrderByDescending(a => a.RaisedAt).ToList();
        if (alerts.Count == 0)
        {
            html.Add($"<p class=\"result\">No alert is in force.</p>");
            return html.ToMarkup();
        }

        html.Add($"<table><thead><tr><th>Raised</th><th>Rule</th><th>Topic</th><th>Reason code</th><th>Value</th><th>Threshold</th><th>Message</th></tr></thead><tbody>");
        foreach (var a in alerts)
        {
            html.Add($"<tr><td>{Layout.Time(a.RaisedAt)}</td><td>{a.Rule}</td><td>{a.Topic}</td><td>{a.ReasonCode}</td>");
            html.Add($"<td class=\"n\">{a.Value:0.###}</td><td class=\"n\">{a.Threshold:0.###}</td><td>{a.Message}</td></tr>");
        }

        html.Add($"</tbody></table>");
        return html.ToMarkup();
    }
}
