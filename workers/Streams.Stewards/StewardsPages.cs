using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Profiles.Lineage;
using Streams.Quality.Stewardship;
using Streams.Stewards.Pages;
using Streams.Stewards.Security;

namespace Streams.Stewards;

/// <summary>The console's routes. Pages are GETs; every action is a POST with an antiforgery token; positions are the only record data in a URL.</summary>
internal static class StewardsPages
{
    private const string RecordRoute = "/records/{topic}/{partition:int}/{offset:long}";

    public static void MapStewardsPages(this WebApplication app)
    {
        app.MapGet(Layout.StylesheetPath, () => Results.Text(Layout.Stylesheet, "text/css")).AllowAnonymous();
        app.MapGet("/signin", (HttpContext context, string? returnUrl) =>
            Page(context, "Sign in", SignInPage.Body(Antiforgery(context), returnUrl, null, failed: false))).AllowAnonymous();
        var forms = app.MapGroup(string.Empty).AddEndpointFilter(StewardsSecurity.RequireAntiforgery);
        forms.MapPost("/signin", SignInAsync).AllowAnonymous().RequireRateLimiting(StewardsSecurity.SignInLimit);
        forms.MapPost("/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            return Results.Redirect("/signin");
        });

        app.MapGet("/", (HttpContext context, StewardsServices services, IOptions<StewardsOptions> options) =>
        {
            var to = services.Time.GetUtcNow();
            return Page(context, "Data quality", OverviewPage.Body(services.Quality, services.Topics, to - options.Value.OverviewSpan, to));
        });
        app.MapGet("/alerts", (HttpContext context, StewardsServices services) => Page(context, "Alerts", AlertsPage.Body(services.Quality)));
        app.MapGet("/audit", async (HttpContext context, StewardsServices services, string? steward) =>
        {
            var filter = string.IsNullOrWhiteSpace(steward) ? null : steward.Trim();
            var entries = await services.Stewardship.AuditAsync(new StewardAuditQuery(200, filter), context.RequestAborted).ConfigureAwait(false);
            return Page(context, "Replay audit", AuditPage.Body(entries, filter));
        });

        app.MapGet("/merges", async (HttpContext context, StewardsServices services) =>
            await MergesAsync(context, services, undone: null, problem: null).ConfigureAwait(false));
        forms.MapPost("/merges/undo", async (HttpContext context, StewardsServices services, ILogger<StewardsServices> logger) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            var mergeId = form["merge_id"].ToString().Trim();
            if (services.Merges is null || mergeId.Length is 0 or > 256)
            {
                return Results.Text("An undo needs the id of a recorded merge, on a host that runs the profiles worker.", "text/plain",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            try
            {
                // The split takes the profiles worker's locks and publishes before it returns: off the request thread pool's hot path.
                var undone = await Task.Run(() => services.Merges.Unmerge(mergeId), context.RequestAborted).ConfigureAwait(false);
                logger.LogInformation("Steward {Steward} undid merge {MergeId}", Steward(context), mergeId);
                return await MergesAsync(context, services, undone, problem: null).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SplitRefusedException or LineageIncompleteException)
            {
                // The refusal names merge and profile ids only (opaque), never an identifier.
                return await MergesAsync(context, services, undone: null, e.Message).ConfigureAwait(false);
            }
        }).RequireAuthorization(StewardsSecurity.StewardPolicy);

        app.MapGet("/quarantine", async (HttpContext context, StewardsServices services, IOptions<StewardsOptions> options) =>
        {
            var query = Query(context.Request.Query["topic"], context.Request.Query["reason"], context.Request.Query["from"],
                context.Request.Query["to"], options.Value.PageSize) with { Page = PageNumber(context.Request.Query["page"]) };
            return await BrowseAsync(context, services, query, bulk: null).ConfigureAwait(false);
        });
        forms.MapPost("/quarantine/replay", async (HttpContext context, StewardsServices services, IOptions<StewardsOptions> options) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            var query = Query(form["topic"], form["reason"], form["from"], form["to"], options.Value.PageSize);
            if (query is not { Topic: { } topic, ReasonCode: { } code, From: { } from, To: { } to } || from >= to)
            {
                return Results.Text("A bulk replay needs a topic, a reason code and a time window.", "text/plain", statusCode: StatusCodes.Status400BadRequest);
            }

            var bulk = await services.Stewardship.ReplayReasonAsync(topic, code, from, to, Steward(context), context.RequestAborted).ConfigureAwait(false);
            return await BrowseAsync(context, services, query, bulk).ConfigureAwait(false);
        }).RequireAuthorization(StewardsSecurity.StewardPolicy);

        app.MapGet(RecordRoute, async (HttpContext context, StewardsServices services, string topic, int partition, long offset) =>
            await RecordAsync(context, services, new SourcePosition(topic, partition, offset), original: null, replay: null, problem: null).ConfigureAwait(false));
        forms.MapPost(RecordRoute + "/original", async (HttpContext context, StewardsServices services, string topic, int partition, long offset) =>
        {
            var source = new SourcePosition(topic, partition, offset);
            if (await services.Stewardship.FindAsync(source, context.RequestAborted).ConfigureAwait(false) is null)
            {
                return NotFound(context);
            }

            var original = await services.Stewardship.ReadOriginalAsync(source, Steward(context), context.RequestAborted).ConfigureAwait(false);
            return await RecordAsync(context, services, source, original, replay: null, problem: null).ConfigureAwait(false);
        }).RequireAuthorization(StewardsSecurity.StewardPolicy);
        forms.MapPost(RecordRoute + "/replay", ReplayAsync).RequireAuthorization(StewardsSecurity.StewardPolicy);
    }

    private static async Task<IResult> SignInAsync(HttpContext context, IOptions<StewardsOptions> options)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var name = form["name"].ToString().Trim();
        var returnUrl = form["returnUrl"].ToString();
        var user = options.Value.Users.GetValueOrDefault(name);
        if (!PasswordHashing.Verify(user?.PasswordHash, form["password"].ToString()) || user is null)
        {
            return Page(context, "Sign in", SignInPage.Body(Antiforgery(context), returnUrl, name, failed: true), StatusCodes.Status401Unauthorized);
        }

        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, StewardsSecurity.Principal(name, user)).ConfigureAwait(false);
        return Results.Redirect(IsLocal(returnUrl) ? returnUrl : "/");
    }

    private static async Task<IResult> ReplayAsync(HttpContext context, StewardsServices services, string topic, int partition, long offset)
    {
        var source = new SourcePosition(topic, partition, offset);
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        Dictionary<string, string>? edits = null;
        if (form["mode"] == "edited")
        {
            // The form shows every editable field; one left empty (one the original does not have, mostly) is not an
            // edit: sent as "", it would replace an absent number with text and ingest would refuse the replay.
            edits = form.Keys.Where(k => k.StartsWith(RecordPage.FieldPrefix, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(form[k]))
                .ToDictionary(k => k[RecordPage.FieldPrefix.Length..], k => RecordPage.EditJson(form[k].ToString()), StringComparer.Ordinal);
            if (edits.Count == 0)
            {
                return await RecordAsync(context, services, source, null, null, "The form named no field to change.").ConfigureAwait(false);
            }
        }

        var result = await services.Stewardship.ReplayAsync(source, Steward(context), edits, context.RequestAborted).ConfigureAwait(false);
        return await RecordAsync(context, services, source, original: null, result, problem: null).ConfigureAwait(false);
    }

    private static async Task<IResult> RecordAsync(
        HttpContext context, StewardsServices services, SourcePosition source, OriginalRecord? original, ReplayResult? replay, string? problem)
    {
        var entry = await services.Stewardship.FindAsync(source, context.RequestAborted).ConfigureAwait(false);
        if (entry is null)
        {
            return NotFound(context);
        }

        var title = string.Create(CultureInfo.InvariantCulture, $"Record {source.Topic}/{source.Partition}/{source.Offset}");
        return Page(context, title, RecordPage.Body(entry, Layout.IsSteward(context.User), Antiforgery(context), original, replay, problem));
    }

    private static async Task<IResult> MergesAsync(HttpContext context, StewardsServices services, SplitResult? undone, string? problem)
    {
        var merges = services.Merges is null ? null : await services.Merges.RecentAsync(200, context.RequestAborted).ConfigureAwait(false);
        return Page(context, "Merges", MergesPage.Body(merges, Layout.IsSteward(context.User), Antiforgery(context), undone, problem));
    }

    private static async Task<IResult> BrowseAsync(HttpContext context, StewardsServices services, QuarantineQuery query, BulkReplayResult? bulk)
    {
        var page = await services.Stewardship.BrowseAsync(query, context.RequestAborted).ConfigureAwait(false);
        return Page(context, "Quarantine", QuarantineBrowserPage.Body(query, page, services.Topics, Layout.IsSteward(context.User), Antiforgery(context), bulk));
    }

    private static QuarantineQuery Query(string? topic, string? reason, string? from, string? to, int pageSize) => new(
        string.IsNullOrWhiteSpace(topic) ? null : topic.Trim(),
        string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(),
        QuarantineBrowserPage.ParseTime(from), QuarantineBrowserPage.ParseTime(to), 0, pageSize);

    private static int PageNumber(string? page) =>
        int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? Math.Min(n, 1_000_000) : 0;

    private static string Steward(HttpContext context) =>
        context.User.Identity?.Name ?? throw new InvalidOperationException("an authorized request without a name");

    private static IResult NotFound(HttpContext context) =>
        Page(context, "Not found", new Html().Add($"<p>No quarantine record is known at that position.</p>").ToMarkup(), StatusCodes.Status404NotFound);

    private static Markup Antiforgery(HttpContext context)
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        return new Html().Add($"<input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{tokens.RequestToken}\">").ToMarkup();
    }

    private static IResult Page(HttpContext context, string title, Markup body, int status = StatusCodes.Status200OK) =>
        Results.Content(Layout.Page(title, context.User, Antiforgery(context), body), "text/html; charset=utf-8", statusCode: status);

    // Only a path on this console: never "//elsewhere" or "/\elsewhere", which browsers read as another host.
    private static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
