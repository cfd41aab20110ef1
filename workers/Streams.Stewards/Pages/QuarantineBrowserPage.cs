using System.Globalization;
using Streams.Quality.Stewardship;

namespace Streams.Stewards.Pages;

/// <summary>The quarantine browser: filters (topic, reason code, time), a page of records, paging, and for stewards the bulk replay.</summary>
internal static class QuarantineBrowserPage
{
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm";

    public static Markup Body(
        QuarantineQuery query, QuarantinePage page, IReadOnlyList<string> topics, bool steward, Markup antiforgery, BulkReplayResult? bulk)
    {
        var html = new Html();
        html.Add($"<form method=\"get\" action=\"/quarantine\" class=\"filters\"><label>Topic<select name=\"topic\"><option value=\"\">any</option>");
        foreach (var topic in topics)
        {
            html.Add($"<option value=\"{topic}\"{Selected(topic == query.Topic)}>{topic}</option>");
        }

        html.Add($"</select></label><label>Reason code<input name=\"reason\" value=\"{query.ReasonCode}\"></label>");
        html.Add($"<label>From (UTC)<input type=\"datetime-local\" name=\"from\" value=\"{Local(query.From)}\"></label>");
        html.Add($"<label>To (UTC)<input type=\"datetime-local\" name=\"to\" value=\"{Local(query.To)}\"></label>");
        html.Add($"<button type=\"submit\">Filter</button></form>");

        if (bulk is not null)
        {
            html.Add($"<p class=\"result\">Bulk replay: {bulk.Matched} matched, {bulk.Replayed} replayed, {bulk.Skipped} skipped.</p>");
        }

        var first = (long)query.Page * query.PageSize;
        html.Add($"<p>{page.Total} record(s)");
        if (page.Entries.Count > 0)
        {
            html.Add($", {first + 1}–{first + page.Entries.Count} shown");
        }

        html.Add($".</p><table class=\"quarantine\"><thead><tr><th>Position</th><th>Quarantined</th><th>Disposition</th><th>Reasons</th><th>Last replay</th></tr></thead><tbody>");
        foreach (var e in page.Entries)
        {
            var reasons = string.Join(", ", e.Reasons.Select(r => r.Field is null ? r.Code : $"{r.Code} ({r.Field})"));
            html.Add($"<tr><td><a href=\"{Layout.RecordPath(e.Source)}\">{e.Source.Topic}/{e.Source.Partition}/{e.Source.Offset}</a></td>");
            html.Add($"<td>{Layout.Time(e.QuarantinedAt)}</td><td>{e.Disposition}</td><td>{reasons}</td><td>{e.LastReplayOutcome}</td></tr>");
        }

        html.Add($"</tbody></table><p class=\"paging\">");
        if (query.Page > 0)
        {
            html.Add($"<a rel=\"prev\" href=\"{Link(query, query.Page - 1)}\">← newer</a> ");
        }

        if (first + page.Entries.Count < page.Total)
        {
            html.Add($"<a rel=\"next\" href=\"{Link(query, query.Page + 1)}\">older →</a>");
        }

        html.Add($"</p>");
        if (steward && query is { Topic: { } t, ReasonCode: { } code, From: { } from, To: { } to })
        {
            html.Add($"<form method=\"post\" action=\"/quarantine/replay\" class=\"inline\">{antiforgery}");
            html.Add($"<input type=\"hidden\" name=\"topic\" value=\"{t}\"><input type=\"hidden\" name=\"reason\" value=\"{code}\">");
            html.Add($"<input type=\"hidden\" name=\"from\" value=\"{Local(from)}\"><input type=\"hidden\" name=\"to\" value=\"{Local(to)}\">");
            html.Add($"<button type=\"submit\">Replay every {code} record of {t} in this window, unchanged</button></form>");
        }

        return html.ToMarkup();
    }

    /// <summary>A browser's datetime-local value, read as UTC; null when empty or not a time.</summary>
    public static DateTimeOffset? ParseTime(string? value) =>
        DateTime.TryParseExact(value, [TimeFormat, TimeFormat + ":ss"], CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero)
            : null;

    private static string Local(DateTimeOffset? at) => at?.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) ?? string.Empty;

    private static Markup Selected(bool selected) => selected ? new(" selected") : Markup.Empty;

    private static string Link(QuarantineQuery query, int page)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("topic", query.Topic);
        Add("reason", query.ReasonCode);
        Add("from", query.From is null ? null : Local(query.From));
        Add("to", query.To is null ? null : Local(query.To));
        Add("page", page.ToString(CultureInfo.InvariantCulture));
        return "/quarantine?" + string.Join('&', parts);
    }
}
