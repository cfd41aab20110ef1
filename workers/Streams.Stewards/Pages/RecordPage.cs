using System.Text.Json;
using Streams.Quality.Stewardship;

namespace Streams.Stewards.Pages;

/// <summary>
/// One quarantine record: its reasons and masked copy for everyone; for stewards the button that reads the original
/// (audited) and, once read, the original with the replay actions.
/// </summary>
internal static class RecordPage
{
    /// <summary>Form fields of the edit form are this prefix and the field's name.</summary>
    public const string FieldPrefix = "field:";

    public static Markup Body(QuarantineEntry entry, bool steward, Markup antiforgery, OriginalRecord? original, ReplayResult? replay, string? problem)
    {
        var html = new Html();
        var path = Layout.RecordPath(entry.Source);
        if (replay is not null)
        {
            var where = replay.ReplayedAs is { } r ? $" as {r.Topic}/{r.Partition}/{r.Offset}" : string.Empty;
            html.Add($"<p class=\"result\" id=\"replay-result\">Replay: {Status(replay.Status)}{where}. {replay.Detail}</p>");
        }

        if (problem is not null)
        {
            html.Add($"<p class=\"error\">{problem}</p>");
        }

        html.Add($"<table><tbody><tr><th>Position</th><td>{entry.Source.Topic}/{entry.Source.Partition}/{entry.Source.Offset}</td></tr>");
        html.Add($"<tr><th>Event id</th><td>{entry.EventId}</td></tr><tr><th>Disposition</th><td>{entry.Disposition}</td></tr>");
        html.Add($"<tr><th>Quarantined</th><td>{Layout.Time(entry.QuarantinedAt)}</td></tr>");
        html.Add($"<tr><th>Last replay</th><td id=\"last-replay\">{entry.LastReplayOutcome}</td></tr></tbody></table>");
        html.Add($"<h2>Reasons</h2><table class=\"reasons\"><thead><tr><th>Code</th><th>Field</th><th>Detail</th></tr></thead><tbody>");
        foreach (var reason in entry.Reasons)
        {
            html.Add($"<tr><td>{reason.Code}</td><td>{reason.Field}</td><td>{reason.Detail}</td></tr>");
        }

        html.Add($"</tbody></table><h2>Masked copy</h2>");
        if (entry.MaskedRecordJson is null)
        {
            html.Add($"<p>The quarantine record holds no masked copy.</p>");
        }
        else
        {
            html.Add($"<pre class=\"masked\">{Indented(entry.MaskedRecordJson)}</pre>");
        }

        if (!steward)
        {
            return html.ToMarkup();
        }

        if (original is null)
        {
            html.Add($"<form method=\"post\" action=\"{path}/original\" class=\"inline\">{antiforgery}");
            html.Add($"<button type=\"submit\" id=\"show-original\">Show the original (your reading is audited)</button></form>");
            return html.ToMarkup();
        }

        html.Add($"<section class=\"original\"><h2>Original</h2>");
        if (original.PastRetention || original.ValueJson is null)
        {
            html.Add($"<p class=\"notice\">The input topic no longer holds this record (past its retention): it cannot be replayed.</p></section>");
            return html.ToMarkup();
        }

        html.Add($"<pre class=\"original-value\">{Indented(original.ValueJson)}</pre>");
        html.Add($"<form method=\"post\" action=\"{path}/replay\" class=\"inline\">{antiforgery}<input type=\"hidden\" name=\"mode\" value=\"unchanged\">");
        html.Add($"<button type=\"submit\" id=\"replay-unchanged\">Replay unchanged (after an upstream fix)</button></form>");
        if (original.EditableFields.Count > 0)
        {
            html.Add($"<h3>Correct and replay</h3><p>Values are JSON: text in quotes, numbers without; text without quotes is taken as text. A field left empty is kept as it is; <code>null</code> removes it.</p>");
            html.Add($"<form method=\"post\" action=\"{path}/replay\" class=\"inline edit\">{antiforgery}<input type=\"hidden\" name=\"mode\" value=\"edited\">");
            using var document = JsonDocument.Parse(original.ValueJson);
            foreach (var field in original.EditableFields)
            {
                html.Add($"<label>{field}<input name=\"{FieldPrefix}{field}\" value=\"{ValueOf(document.RootElement, field)}\"></label>");
            }

            html.Add($"<button type=\"submit\" id=\"replay-edited\">Replay with these values</button></form>");
        }

        html.Add($"</section>");
        return html.ToMarkup();
    }

    /// <summary>A form value as the JSON text of an edit: valid JSON as it is, anything else as a JSON string.</summary>
    public static string EditJson(string value)
    {
        try
        {
            using var parsed = JsonDocument.Parse(value);
            return parsed.RootElement.GetRawText();
        }
        catch (JsonException)
        {
            return JsonSerializer.Serialize(value, StewardsJsonContext.Default.String);
        }
    }

    private static string Status(ReplayStatus status) => status switch
    {
        ReplayStatus.Replayed => "replayed",
        ReplayStatus.AlreadyReplayed => "already replayed",
        ReplayStatus.PastRetention => "past retention",
        ReplayStatus.NotQuarantined => "not quarantined",
        _ => "refused",
    };

    // A field named with dots ("order.currency") is looked up below its parents.
    private static string ValueOf(JsonElement root, string field)
    {
        var element = root;
        foreach (var part in field.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(part, out element))
            {
                return string.Empty;
            }
        }

        return element.GetRawText();
    }

    private static string Indented(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(document.RootElement, StewardsJsonContext.Indented.JsonElement);
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
