using System.Globalization;
using System.Security.Claims;

namespace Streams.Stewards.Pages;

/// <summary>The frame every page shares: navigation, who is signed in, the sign-out form.</summary>
internal static class Layout
{
    public const string StylesheetPath = "/console.css";

    public static string Page(string title, ClaimsPrincipal user, Markup antiforgery, Markup body)
    {
        var html = new Html();
        html.Add($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Streams stewards</title>");
        html.Add($"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"stylesheet\" href=\"{StylesheetPath}\"></head><body>");
        if (user.Identity?.IsAuthenticated == true)
        {
            html.Add($"<header><nav><a href=\"/\">Overview</a><a href=\"/quarantine\">Quarantine</a><a href=\"/alerts\">Alerts</a><a href=\"/audit\">Audit</a><a href=\"/merges\">Merges</a></nav>");
            html.Add($"<form method=\"post\" action=\"/signout\" class=\"who\"><span>{user.Identity.Name} ({RoleOf(user)})</span>{antiforgery}");
            html.Add($"<button type=\"submit\">Sign out</button></form></header>");
        }

        html.Add($"<main><h1>{title}</h1>{body}</main></body></html>");
        return html.ToString();
    }

    public static string RoleOf(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Role) ?? StewardRoles.Viewer;

    public static bool IsSteward(ClaimsPrincipal user) => user.IsInRole(StewardRoles.Steward);

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Share(double? share) => share is { } s ? s.ToString("P1", CultureInfo.InvariantCulture) : "–";

    /// <summary>A record page's path: the position only, which names no person.</summary>
    public static string RecordPath(Streams.Contracts.SourcePosition source) =>
        string.Create(CultureInfo.InvariantCulture, $"/records/{Uri.EscapeDataString(source.Topic)}/{source.Partition}/{source.Offset}");

    public const string Stylesheet = """
        body { font-family: sans-serif; margin: 0; color: #222; }
        header { display: flex; justify-content: space-between; align-items: center; background: #24466e; padding: .4em 1em; }
        header a, header span { color: #fff; margin-right: 1.2em; text-decoration: none; }
        header form { margin: 0; }
        main { padding: 1em 1.5em; max-width: 1100px; }
        table { border-collapse: collapse; margin: .5em 0 1em; }
        th, td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
        th { background: #f2f4f7; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        pre { background: #f6f8fa; padding: .8em; overflow-x: auto; max-width: 100%; }
        form.filters, form.inline { display: flex; gap: .6em; align-items: end; flex-wrap: wrap; margin: .5em 0; }
        form label { display: flex; flex-direction: column; font-size: .9em; }
        .notice { background: #fff7d6; border: 1px solid #e6cf6a; padding: .5em .8em; }
        .result { background: #e5f4e8; border: 1px solid #7cbf88; padding: .5em .8em; }
        .error { background: #fbe4e4; border: 1px solid #d98c8c; padding: .5em .8em; }
        .original { border: 2px solid #c0392b; padding: .2em 1em 1em; }
        .signin { max-width: 22em; display: flex; flex-direction: column; gap: .6em; }
        .chart { margin: .3em 0 1.2em; }
        """;
}
