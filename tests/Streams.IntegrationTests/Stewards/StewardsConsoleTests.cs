using System.Net;
using System.Text.Json;
using Streams.IntegrationTests.Fixtures;
using Streams.Stewards;
using Streams.Stewards.Security;

namespace Streams.IntegrationTests.Stewards;

/// <summary>The console over HTTP (Kestrel on a free port): sign-in, roles, antiforgery, what a page may show, the headers.</summary>
public sealed class StewardsConsoleTests(ConsoleServerFixture fixture) : IClassFixture<ConsoleServerFixture>
{
    private ConsoleServer Server => fixture.Server;

    [Fact]
    public async Task Pages_WithoutSignIn_LeadToTheSignInForm_AndFormsAreRefused()
    {
        using var client = Server.Client();
        foreach (var page in new[] { "/", "/quarantine", "/records/store/0/0", "/alerts", "/audit" })
        {
            using var response = await client.GetAsync(new Uri(page, UriKind.Relative));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/signin", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        }

        var token = await ConsoleServer.TokenAsync(client, "/signin");
        using var replay = await client.PostAsync(new Uri("/records/store/0/2/replay", UriKind.Relative), ConsoleServer.Form(token, ("mode", "unchanged")));
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        using var wrong = await client.PostAsync(new Uri("/signin", UriKind.Relative),
            ConsoleServer.Form(token, ("name", ConsoleServer.StewardName), ("password", "not the password")));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.DoesNotContain(Server.Stewardship.Replays, r => r.Source.Offset == 2);
    }

    [Fact]
    public async Task Viewer_SeesNoPersonalValueOnAnyPage_AndCannotReadOriginalsOrReplay()
    {
        using var viewer = await Server.SignedInAsync(ConsoleServer.ViewerName);
        var pages = new[] { "/", "/quarantine", "/quarantine?topic=store&reason=invalid_currency", "/records/store/0/4", "/alerts", "/audit" };
        foreach (var page in pages)
        {
            var html = await viewer.GetStringAsync(new Uri(page, UriKind.Relative));
            foreach (var value in FakeStewardship.PersonalValues)
            {
                Assert.DoesNotContain(value, html, StringComparison.OrdinalIgnoreCase);
            }
        }

        var record = await viewer.GetStringAsync(new Uri("/records/store/0/4", UriKind.Relative));
        Assert.Contains("a***@e***.org", record, StringComparison.Ordinal);
        Assert.DoesNotContain("show-original", record, StringComparison.Ordinal);
        var token = await ConsoleServer.TokenAsync(viewer, "/records/store/0/4");
        foreach (var action in new[] { "/records/store/0/4/original", "/records/store/0/4/replay", "/quarantine/replay" })
        {
            using var response = await viewer.PostAsync(new Uri(action, UriKind.Relative), ConsoleServer.Form(token, ("mode", "unchanged"),
                ("topic", "store"), ("reason", "invalid_currency"), ("from", "2000-01-01T00:00"), ("to", "2100-01-01T00:00")));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.DoesNotContain(Server.Stewardship.Audited, a => a.Steward == ConsoleServer.ViewerName);
        Assert.DoesNotContain(Server.Stewardship.Replays, r => r.Source.Offset == 4);
    }

    [Fact]
    public async Task Forms_WithoutTheAntiforgeryToken_AreRefused()
    {
        using var steward = await Server.SignedInAsync(ConsoleServer.StewardName);
        using var noToken = await steward.PostAsync(new Uri("/records/store/0/6/replay", UriKind.Relative), ConsoleServer.Form(null, ("mode", "unchanged")));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        using var original = await steward.PostAsync(new Uri("/records/store/0/6/original", UriKind.Relative), ConsoleServer.Form(null));
        Assert.Equal(HttpStatusCode.BadRequest, original.StatusCode);
        // A token from another session (another user's page) does not do either.
        using var viewer = await Server.SignedInAsync(ConsoleServer.ViewerName);
        var viewersToken = await ConsoleServer.TokenAsync(viewer, "/quarantine");
        using var foreign = await steward.PostAsync(new Uri("/records/store/0/6/replay", UriKind.Relative),
            ConsoleServer.Form(viewersToken, ("mode", "unchanged")));
        Assert.Equal(HttpStatusCode.BadRequest, foreign.StatusCode);

        using var anonymous = Server.Client();
        using var signIn = await anonymous.PostAsync(new Uri("/signin", UriKind.Relative),
            ConsoleServer.Form(null, ("name", ConsoleServer.StewardName), ("password", ConsoleServer.Password)));
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.DoesNotContain(Server.Stewardship.Replays, r => r.Source.Offset == 6);
        Assert.DoesNotContain(Server.Stewardship.Audited, a => a.Source?.Offset == 6);
    }

    [Fact]
    public async Task Steward_ReadsTheOriginal_Audited_AndReplaysItCorrected_NeverCachedNorLogged()
    {
        using var steward = await Server.SignedInAsync(ConsoleServer.StewardName);
        var token = await ConsoleServer.TokenAsync(steward, "/records/store/0/8");
        using var shown = await steward.PostAsync(new Uri("/records/store/0/8/original", UriKind.Relative), ConsoleServer.Form(token));
        var html = await shown.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.Contains(FakeStewardship.Email, html, StringComparison.Ordinal);
        Assert.Contains("no-store", shown.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        var csp = string.Join(' ', shown.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.Contains(Server.Stewardship.Audited, a => a is { Steward: ConsoleServer.StewardName, Action: "view_original", Source.Offset: 8 });

        using var replay = await steward.PostAsync(new Uri("/records/store/0/8/replay", UriKind.Relative),
            ConsoleServer.Form(token, ("mode", "edited"), ("field:currency", "EUR"), ("field:amount", "13.5")));
        Assert.Contains("Replay: replayed as store/0/1008", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var (_, edits) = Assert.Single(Server.Stewardship.Replays, r => r.Source.Offset == 8);
        Assert.Equal("\"EUR\"", edits!["currency"]);
        Assert.Equal(13.5, JsonDocument.Parse(edits["amount"]).RootElement.GetDouble());
        var audit = await steward.GetStringAsync(new Uri("/audit?steward=sam", UriKind.Relative));
        Assert.Contains("store/0/8", audit, StringComparison.Ordinal);

        using var failed = await steward.GetAsync(new Uri($"/records/{FakeStewardship.FailingTopic}/0/1", UriKind.Relative));
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.DoesNotContain(FakeStewardship.Email, await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("InvalidOperationException", StringComparison.Ordinal));
        foreach (var value in FakeStewardship.PersonalValues.Append(ConsoleServer.Password))
        {
            Assert.DoesNotContain(value, Server.Logs.Text, StringComparison.OrdinalIgnoreCase);
        }

        // Nothing for an operator to chase: no warning from the web stack (cache headers overridden, keys, lifetime).
        Assert.DoesNotContain(Server.Logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal));
        // Without a keys directory the sign-in keys stay in memory: none is read from or written to the user's home.
        Assert.DoesNotContain(Server.Logs.Lines, line => line.Contains("FileSystemXmlRepository", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Overview_DrawsEachTopicsWindowsAsInlineSvg_AndAlertsAreListed()
    {
        using var viewer = await Server.SignedInAsync(ConsoleServer.ViewerName);
        var overview = await viewer.GetStringAsync(new Uri("/", UriKind.Relative));
        Assert.Contains("<svg", overview, StringComparison.Ordinal);
        Assert.Contains("data-topic=\"store\"", overview, StringComparison.Ordinal);
        Assert.Equal(60, System.Text.RegularExpressions.Regex.Matches(overview, "<rect class=\"inputs\"").Count);
        Assert.Contains("<td class=\"n\">6000</td><td class=\"n\">158</td>", overview, StringComparison.Ordinal);
        var alerts = await viewer.GetStringAsync(new Uri("/alerts", UriKind.Relative));
        Assert.Contains("quarantined_share", alerts, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStewardMadeViewer_IsSignedOutAtTheNextRequest()
    {
        const string name = "tom";
        Server.Options.Users[name] = new StewardUser { PasswordHash = PasswordHashing.Hash("tom's password"), Role = StewardRoles.Steward };
        using var tom = await Server.SignedInAsync(name, "tom's password");
        Assert.Contains("show-original", await tom.GetStringAsync(new Uri("/records/store/0/0", UriKind.Relative)), StringComparison.Ordinal);

        Server.Options.Users[name] = new StewardUser { PasswordHash = Server.Options.Users[name].PasswordHash, Role = StewardRoles.Viewer };
        using var response = await tom.GetAsync(new Uri("/records/store/0/0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MarkupInARecord_IsShownAsText_AndSignInGoesBackOnlyToThisConsole()
    {
        using var steward = await Server.SignedInAsync(ConsoleServer.StewardName);
        var record = await steward.GetStringAsync(new Uri("/records/callcenter/1/8", UriKind.Relative));
        Assert.DoesNotContain(FakeStewardship.Markup, record, StringComparison.Ordinal);
        Assert.Contains("&lt;b id=&quot;injected&quot;&gt;x&lt;/b&gt;", record, StringComparison.Ordinal);

        foreach (var (returnUrl, expected) in new[] { ("//elsewhere.example/", "/"), ("/\\elsewhere.example/", "/"), ("/audit", "/audit") })
        {
            using var client = Server.Client();
            var token = await ConsoleServer.TokenAsync(client, "/signin");
            using var response = await client.PostAsync(new Uri("/signin", UriKind.Relative), ConsoleServer.Form(token,
                ("name", ConsoleServer.ViewerName), ("password", ConsoleServer.Password), ("returnUrl", returnUrl)));
            Assert.Equal(expected, response.Headers.Location!.OriginalString);
        }
    }

    [Fact]
    public async Task Steward_ReplaysEveryRecordOfAReasonInAWindow_FromTheFilteredBrowser()
    {
        using var steward = await Server.SignedInAsync(ConsoleServer.StewardName);
        var filtered = "/quarantine?topic=store&reason=missing_field&from=2000-01-01T00:00&to=2100-01-01T00:00";
        var page = await steward.GetStringAsync(new Uri(filtered, UriKind.Relative));
        Assert.Contains("action=\"/quarantine/replay\"", page, StringComparison.Ordinal);
        var token = await ConsoleServer.TokenAsync(steward, filtered);
        using var response = await steward.PostAsync(new Uri("/quarantine/replay", UriKind.Relative), ConsoleServer.Form(token,
            ("topic", "store"), ("reason", "missing_field"), ("from", "2000-01-01T00:00"), ("to", "2100-01-01T00:00")));
        Assert.Contains("Bulk replay: 6 matched, 6 replayed, 0 skipped.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(Server.Stewardship.Audited, a => a is { Steward: ConsoleServer.StewardName, Action: "bulk_replay", Outcome: "6 of 6" });
    }

    [Fact]
    public async Task SignIn_BeyondTheAttemptsPerMinute_IsRefusedWithoutCheckingThePassword()
    {
        await using var server = await ConsoleServer.StartAsync();
        using var client = server.Client();
        var token = await ConsoleServer.TokenAsync(client, "/signin");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i <= StewardsSecurity.SignInAttemptsPerMinute; i++)
        {
            using var response = await client.PostAsync(new Uri("/signin", UriKind.Relative),
                ConsoleServer.Form(token, ("name", ConsoleServer.StewardName), ("password", $"guess {i}")));
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses[..^1], s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        using var right = await client.PostAsync(new Uri("/signin", UriKind.Relative),
            ConsoleServer.Form(token, ("name", ConsoleServer.StewardName), ("password", ConsoleServer.Password)));
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
    }

    [Fact]
    public async Task QuarantineBrowser_PagesThroughAFilteredTopic_NewestFirst()
    {
        using var viewer = await Server.SignedInAsync(ConsoleServer.ViewerName);
        var pageSize = Server.Options.PageSize;
        Server.Options.PageSize = 5;
        try
        {
            var first = await viewer.GetStringAsync(new Uri("/quarantine?topic=store", UriKind.Relative));
            Assert.Contains("12 record(s), 1–5 shown", first, StringComparison.Ordinal);
            Assert.Contains("href=\"/quarantine?topic=store&amp;page=1\"", first, StringComparison.Ordinal);
            Assert.True(first.IndexOf("store/0/11<", StringComparison.Ordinal) < first.IndexOf("store/0/10<", StringComparison.Ordinal));
            var last = await viewer.GetStringAsync(new Uri("/quarantine?topic=store&page=2", UriKind.Relative));
            Assert.Contains("12 record(s), 11–12 shown", last, StringComparison.Ordinal);
            Assert.Contains("store/0/0<", last, StringComparison.Ordinal);
            Assert.DoesNotContain("rel=\"next\"", last, StringComparison.Ordinal);
            Assert.Contains("href=\"/quarantine?topic=store&amp;page=1\"", last, StringComparison.Ordinal);
        }
        finally
        {
            Server.Options.PageSize = pageSize;
        }
    }

    [Fact]
    public void Users_WithAPasswordInClear_AreRefusedAtStart_AndHashesVerify()
    {
        var clear = new StewardsOptions { Port = 8080, Users = new() { ["sam"] = new StewardUser { PasswordHash = ConsoleServer.Password, Role = "steward" } } };
        var problems = clear.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(clear)).ToList();
        Assert.Contains(problems, p => p.ErrorMessage!.Contains("Stewards:Users:sam:PasswordHash is not a password hash", StringComparison.Ordinal));

        var hash = PasswordHashing.Hash(ConsoleServer.Password);
        Assert.DoesNotContain(ConsoleServer.Password, hash, StringComparison.Ordinal);
        Assert.True(PasswordHashing.IsHash(hash));
        Assert.True(PasswordHashing.Verify(hash, ConsoleServer.Password));
        Assert.False(PasswordHashing.Verify(hash, ConsoleServer.Password + "!"));
        Assert.False(PasswordHashing.Verify(null, ConsoleServer.Password));
    }

    [Fact]
    public async Task HashPasswordCommand_ReadsThePasswordFromStandardInput_AndPrintsAHashThatVerifies()
    {
        var (exitCode, output, _) = await HostCommand.RunWithInputAsync(ConsoleServer.Password + "\n", "stewards", "hash-password");
        Assert.Equal(0, exitCode);
        Assert.True(PasswordHashing.Verify(output.Trim(), ConsoleServer.Password));
        Assert.DoesNotContain(ConsoleServer.Password, output, StringComparison.Ordinal);
    }
}
