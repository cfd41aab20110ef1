using Streams.Quality.Stewardship;

namespace Streams.Stewards.Pages;

/// <summary>Who read which original and who replayed what, newest first.</summary>
internal static class AuditPage
{
    public static Markup Body(IReadOnlyList<StewardAuditEntry> entries, string? steward)
    {
        var html = new Html();
        html.Add($"<form method=\"get\" action=\"/audit\" class=\"filters\"><label>Steward<input name=\"steward\" value=\"{steward}\"></label>");
        html.Add($"<button type=\"submit\">Filter</button></form>");
        if (entries.Count == 0)
        {
            html.Add($"<p>Nothing audited yet.</p>");
            return html.ToMarkup();
        }

        html.Add($"<table class=\"audit\"><thead><tr><th>At</th><th>Steward</th><th>Action</th><th>Record</th><th>Outcome</th></tr></thead><tbody>");
        foreach (var e in entries)
        {
            var record = e.Source is { } s
                ? new Html().Add($"<a href=\"{Layout.RecordPath(s)}\">{s.Topic}/{s.Partition}/{s.Offset}</a>").ToMarkup()
                : Markup.Empty;
            html.Add($"<tr><td>{Layout.Time(e.At)}</td><td>{e.Steward}</td><td>{e.Action}</td><td>{record}</td><td>{e.Outcome}</td></tr>");
        }

        html.Add($"</tbody></table>");
        return html.ToMarkup();
    }
}
