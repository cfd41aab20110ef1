using System.Diagnostics;
using Microsoft.Playwright;
using Streams.IntegrationTests.Chaos;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Stewardship;
using Streams.Stewards.Security;

namespace Streams.IntegrationTests.Stewards;

/// <summary>
/// The console over the real stewardship service, in a real browser: a record the real ingest worker quarantined is
/// found by its reason, corrected, replayed and seen accepted; a viewer's pages hold none of the values fed in.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StewardsEndToEndTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private const string Email = "grace.console@example.org";
    private const string Phone = "+44 20 7946 0321";
    private const string Name = "Grace Consolewoman";

    [SkippableFact]
    public async Task Steward_FindsAQuarantinedRecordByReason_ReplaysItCorrected_AndSeesItAccepted_ViewerSeesNoRawValue()
    {
        Skip.IfNot(File.Exists(StewardsBrowserTests.Chromium), $"{StewardsBrowserTests.Chromium} is not installed (apt-get install chromium; .ci/run does it)");
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var port = InProcessHost.FreePort();
        var hash = PasswordHashing.Hash(ConsoleServer.Password);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, builder => builder.AddStewardship(),
            "--only", "ingest", $"--Stewards:Port={port}",
            $"--Stewards:Users:{ConsoleServer.StewardName}:PasswordHash={hash}", $"--Stewards:Users:{ConsoleServer.StewardName}:Role=steward",
            $"--Stewards:Users:{ConsoleServer.ViewerName}:PasswordHash={hash}", $"--Stewards:Users:{ConsoleServer.ViewerName}:Role=viewer");
        var store = topics.Names.Store;
        using (var feed = new InputFeed(kafka.BootstrapServers))
        {
            feed.Send([(store, SampleEvents.Store("e2e-currency", loyaltyId: "LC-e2e", email: Email, phone: Phone, customerName: Name)
                .Replace("\"EUR\"", "\"ZZZ\"", StringComparison.Ordinal))]);
        }

        var stewardship = host.Get<IStewardship>();
        var entry = await EventuallyAsync(async () => (await stewardship.BrowseAsync(new QuarantineQuery(Topic: store), CancellationToken.None)).Entries.SingleOrDefault(),
            e => e is not null);
        var record = $"/records/{store}/{entry!.Source.Partition}/{entry.Source.Offset}";
        var address = new Uri($"http://127.0.0.1:{port}");

        await using var browser = await StewardsBrowserTests.LaunchAsync();
        var page = await StewardsBrowserTests.SignInAsync(browser.Instance, address, ConsoleServer.StewardName);
        await page.GotoAsync(new Uri(address, "/quarantine").ToString());
        await page.SelectOptionAsync("select[name=topic]", store);
        await page.FillAsync("input[name=reason]", "unknown_currency");
        await page.ClickAsync("form.filters button[type=submit]");
        Assert.Equal(1, await page.Locator("table.quarantine tbody tr", new() { HasText = "unknown_currency" }).CountAsync());

        await page.ClickAsync($"a[href='{record}']");
        Assert.DoesNotContain(Email, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ClickAsync("#show-original");
        Assert.Contains(Email, await page.Locator("pre.original-value").InnerTextAsync(), StringComparison.Ordinal);
        await page.FillAsync("input[name='field:currency']", "\"EUR\"");
        await page.ClickAsync("#replay-edited");
        Assert.Contains("replayed as", await page.Locator("#replay-result").InnerTextAsync(), StringComparison.Ordinal);

        // Ingest judges the replayed record like any other; the record's page learns it was accepted.
        var clock = Stopwatch.StartNew();
        string outcome;
        do
        {
            await page.GotoAsync(new Uri(address, record).ToString());
            outcome = await page.Locator("#last-replay").InnerTextAsync();
        }
        while (outcome != "accepted" && clock.Elapsed < Patience && await Delay());
        Assert.Equal("accepted", outcome);
        var canonical = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical], r => r.Count >= 1, Patience);
        Assert.Single(canonical);

        await page.GotoAsync(new Uri(address, "/audit").ToString());
        Assert.Equal(2, await page.Locator("table.audit tbody tr", new() { HasText = ConsoleServer.StewardName }).CountAsync());

        // A viewer: every page the console has, and none holds a value fed in.
        var viewer = await StewardsBrowserTests.SignInAsync(browser.Instance, address, ConsoleServer.ViewerName);
        foreach (var path in new[] { "/", "/quarantine", $"/quarantine?topic={store}", record, "/alerts", "/audit" })
        {
            await viewer.GotoAsync(new Uri(address, path).ToString());
            var content = await viewer.ContentAsync();
            foreach (var value in new[] { Email, Name, Phone, "7946 0321", "LC-e2e" })
            {
                Assert.DoesNotContain(value, content, StringComparison.OrdinalIgnoreCase);
            }
        }

        Assert.Equal(0, await viewer.Locator("#show-original, #replay-unchanged, #replay-edited").CountAsync());
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(300);
        return true;
    }

    private static Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.UntilAsync(read, done, Patience);
}
