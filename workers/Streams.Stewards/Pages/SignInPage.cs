namespace Streams.Stewards.Pages;

internal static class SignInPage
{
    public static Markup Body(Markup antiforgery, string? returnUrl, string? name, bool failed)
    {
        var html = new Html();
        if (failed)
        {
            html.Add($"<p class=\"error\">That name and password do not match a user of this console.</p>");
        }

        html.Add($"<form method=\"post\" action=\"/signin\" class=\"signin\">{antiforgery}<input type=\"hidden\" name=\"returnUrl\" value=\"{returnUrl}\">");
        html.Add($"<label>Name<input name=\"name\" autocomplete=\"username\" required value=\"{name}\"></label>");
        html.Add($"<label>Password<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>");
        html.Add($"<button type=\"submit\">Sign in</button></form>");
        return html.ToMarkup();
    }
}
