using Streams.Profiles.Lineage;

namespace Streams.Stewards.Pages;

/// <summary>
/// The recent merges of profiles (opaque ids and times, never an identifier) and, for stewards, the button that undoes
/// one: the same split as the <c>unmerge</c> command (CONTRACT §5.4).
/// </summary>
internal static class MergesPage
{
    public static Markup Body(IReadOnlyList<MergeSummary>? merges, bool steward, Markup antiforgery, SplitResult? undone, string? problem)
    {
        var html = new Html();
        if (merges is null)
        {
            html.Add($"<p class=\"notice\">This host does not run the profiles worker: serve the console from a host that does to see and undo merges.</p>");
            return html.ToMarkup();
        }

        if (undone is not null)
        {
            html.Add($"<p class=\"result\" id=\"undo-result\">Undone: profile {undone.From} is split into {string.Join(", ", undone.Profiles.Select(p => p.ProfileId))}.</p>");
        }

        if (problem is not null)
        {
            html.Add($"<p class=\"error\" id=\"undo-result\">Not undone, nothing changed: {problem}</p>");
        }

        if (merges.Count == 0)
        {
            html.Add($"<p>No merge recorded.</p>");
            return html.ToMarkup();
        }

        html.Add($"<table class=\"merges\"><thead><tr><th>Merged at</th><th>Merge</th><th>Absorbed</th><th>Into</th><th>Bridging event</th><th>Undone</th></tr></thead><tbody>");
        foreach (var m in merges)
        {
            var state = m.UnmergedAt is { } at
                ? new Html().Add($"{Layout.Time(at)}").ToMarkup()
                : steward
                    ? new Html().Add($"<form method=\"post\" action=\"/merges/undo\" class=\"inline\">{antiforgery}<input type=\"hidden\" name=\"merge_id\" value=\"{m.MergeId}\"><button type=\"submit\" class=\"undo\">Undo this merge</button></form>").ToMarkup()
                    : Markup.Empty;
            html.Add($"<tr><td>{Layout.Time(m.MergedAt)}</td><td>{m.MergeId}</td><td>{m.Absorbed}</td><td>{m.Survivor}</td><td>{m.EventId}</td><td>{state}</td></tr>");
        }

        html.Add($"</tbody></table>");
        return html.ToMarkup();
    }
}
