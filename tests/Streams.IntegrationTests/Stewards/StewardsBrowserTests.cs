using Microsoft.Playwright;

namespace Streams.IntegrationTests.Stewards;

/// <summary>
/// The console in a real browser: Debian's Chromium driven by Playwright (nothing downloaded; <c>.ci/run</c> installs
/// the browser). Skipped, with the reason, only where that browser is not installed.
/// </summary>
public sealed class StewardsBrowserTests(ConsoleServerFixture fixture) : IClassFixture<ConsoleServerFixture>
{
    internal const string Chromium = "/usr/bin/chromium";

    private ConsoleServer Server => fixture.Server;

    [SkippableFact]
    public async Task Steward_FiltersByReason_OpensARecord_SeesTheOriginal_AndReplaysIt()
    {
        await using var browser = await LaunchAsync();
        var page = await SignInAsync(browser, ConsoleServer.StewardName);
        await page.GotoAsync(Server.Address.ToString());
        await ScreenshotAsync(page, "overview");

        await page.GotoAsync(new Uri(Server.Address, "/quarantine").ToString());
        await page.SelectOptionAsync("select[name=topic]", "store");
        await page.FillAsync("input[name=reason]", "invalid_currency");
        await page.ClickAsync("form.filters button[type=submit]");
        var rows = page.Locator("table.quarantine tbody tr");
        Assert.Equal(6, await rows.CountAsync());
        Assert.Equal(6, await page.Locator("table.quarantine tbody tr", new() { HasText = "invalid_currency" }).CountAsync());
        await ScreenshotAsync(page, "quarantine");

        await page.ClickAsync("a[href='/records/store/0/2']");
        Assert.DoesNotContain(FakeStewardship.Email, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ClickAsync("#show-original");
        Assert.Contains(FakeStewardship.Email, await page.Locator("pre.original-value").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains(Server.Stewardship.Audited, a => a is { Steward: ConsoleServer.StewardName, Action: "view_original", Source.Offset: 2 });
        await ScreenshotAsync(page, "record-original");

        await page.FillAsync("input[name='field:currency']", "EUR");
        await page.ClickAsync("#replay-edited");
        Assert.Contains("replayed as store/0/1002", await page.Locator("#replay-result").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("accepted", await page.Locator("#last-replay").InnerTextAsync());
        // The original is not on the page the replay answers with, and the address bar holds only the position.
        Assert.DoesNotContain(FakeStewardship.Email, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.EndsWith("/records/store/0/2/replay", page.Url, StringComparison.Ordinal);

        await page.GotoAsync(new Uri(Server.Address, "/audit").ToString());
        Assert.Equal(2, await page.Locator("table.audit tbody tr", new() { HasText = "store/0/2" }).CountAsync());
        await ScreenshotAsync(page, "audit");
    }

    [SkippableFact]
    public async Task Viewer_SeesMaskedRecordsOnly_WithNoOriginalNorReplay()
    {
        await using var browser = await LaunchAsync();
        var page = await SignInAsync(browser, ConsoleServer.ViewerName);
        await page.GotoAsync(new Uri(Server.Address, "/quarantine?topic=callcenter").ToString());
        await page.ClickAsync("a[href='/records/callcenter/1/7']");
        Assert.Contains("a***@e***.org", await page.Locator("pre.masked").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#show-original, #replay-unchanged, #replay-edited").CountAsync());
        await ScreenshotAsync(page, "record-viewer");
        var content = await page.ContentAsync();
        foreach (var value in FakeStewardship.PersonalValues)
        {
            Assert.DoesNotContain(value, content, StringComparison.OrdinalIgnoreCase);
        }

        // Whatever the browser sends by hand, the console refuses a viewer's request for the original.
        var response = await page.APIRequest.PostAsync(new Uri(Server.Address, "/records/callcenter/1/7/original").ToString());
        Assert.Equal(403, response.Status);
    }

    internal static async Task<Browser> LaunchAsync()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is not installed (apt-get install chromium; .ci/run does it)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
        return new Browser(playwright, browser);
    }

    /// <summary>With <c>STEWARDS_SCREENSHOTS</c> set to a folder, saves the page there (how the README's pictures are made).</summary>
    private static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("STEWARDS_SCREENSHOTS") is { Length: > 0 } folder)
        {
            await page.SetViewportSizeAsync(1100, 800);
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, $"stewards-{name}.png"), FullPage = true });
        }
    }

    private Task<IPage> SignInAsync(Browser browser, string name) => SignInAsync(browser.Instance, Server.Address, name);

    /// <summary>A new page of <paramref name="browser"/> signed in to the console at <paramref name="address"/> as <paramref name="name"/>.</summary>
    internal static async Task<IPage> SignInAsync(IBrowser browser, Uri address, string name)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(address, "/quarantine").ToString());
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=name]", name);
        await page.FillAsync("input[name=password]", ConsoleServer.Password);
        await page.ClickAsync("form.signin button[type=submit]");
        Assert.EndsWith("/quarantine", page.Url, StringComparison.Ordinal);
        return page;
    }

    internal sealed record Browser(IPlaywright Playwright, IBrowser Instance) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Instance.DisposeAsync();
            Playwright.Dispose();
        }
    }
}
