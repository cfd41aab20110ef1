using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Streams.IntegrationTests.Chaos;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Profiles;
using Streams.Profiles.Worker;
using Streams.Quality.Stewardship;
using Streams.Stewards.Security;

namespace Streams.IntegrationTests.Stewards;

/// <summary>A wrong merge undone from the stewards' console of the host that runs the profiles worker (CONTRACT §5.4).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StewardsMergesTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Steward_UndoesAMergeFromTheConsole_ViewerMayNot_AndTheSplitIsPublished()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        var port = InProcessHost.FreePort();
        var hash = PasswordHashing.Hash(ConsoleServer.Password);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, builder => builder.AddStewardship(),
            "--Streams:Workers=profiles", "--Profiles:MaxBatchWait=00:00:00.050", $"--Stewards:Port={port}",
            $"--Stewards:Users:{ConsoleServer.StewardName}:PasswordHash={hash}", $"--Stewards:Users:{ConsoleServer.StewardName}:Role=steward",
            $"--Stewards:Users:{ConsoleServer.ViewerName}:PasswordHash={hash}", $"--Stewards:Users:{ConsoleServer.ViewerName}:Role=viewer");
        var lives = UnmergeTests.Lives("console", shareDevice: true);
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            lives.ForEach(feed.Send);
            feed.Flush();
        }

        var metrics = host.Get<ProfilesMetrics>();
        var clock = Stopwatch.StartNew();
        while (metrics.Records < lives.Count && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        var mergeId = (string)Assert.Single(await Database.RowsAsync(host.ConnectionString, "select merge_id from merge_lineage"))[0]!;
        Assert.Equal(1, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));

        // A viewer sees the merge but no button, and is refused the undo however it is asked.
        using var viewer = await SignInAsync(port, ConsoleServer.ViewerName);
        var page = await viewer.GetStringAsync(new Uri("/merges", UriKind.Relative));
        Assert.Contains(WebUtility.HtmlEncode(mergeId), page, StringComparison.Ordinal);
        Assert.DoesNotContain("Undo this merge", page, StringComparison.Ordinal);
        using (var refused = await viewer.PostAsync(new Uri("/merges/undo", UriKind.Relative),
                   ConsoleServer.Form(await ConsoleServer.TokenAsync(viewer, "/merges"), ("merge_id", mergeId))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var steward = await SignInAsync(port, ConsoleServer.StewardName);
        var token = await ConsoleServer.TokenAsync(steward, "/merges");
        using (var withoutToken = await steward.PostAsync(new Uri("/merges/undo", UriKind.Relative), ConsoleServer.Form(null, ("merge_id", mergeId))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        }

        using (var undo = await steward.PostAsync(new Uri("/merges/undo", UriKind.Relative), ConsoleServer.Form(token, ("merge_id", mergeId))))
        {
            Assert.Equal(HttpStatusCode.OK, undo.StatusCode);
            Assert.Contains("Undone: profile", await undo.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(2, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        var unmerge = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.ProfileMerges)
            .Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).Single(r => r.GetProperty("kind").GetString() == "unmerge");
        Assert.Equal(mergeId, unmerge.GetProperty("merge_id").GetString());

        // Asked again: refused with the reason, nothing changed.
        using (var again = await steward.PostAsync(new Uri("/merges/undo", UriKind.Relative),
                   ConsoleServer.Form(await ConsoleServer.TokenAsync(steward, "/merges"), ("merge_id", mergeId))))
        {
            Assert.Contains("undone already", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(2, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
    }

    private static async Task<HttpClient> SignInAsync(int port, string name)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
        var token = await ConsoleServer.TokenAsync(client, "/signin");
        using var signIn = await client.PostAsync(new Uri("/signin", UriKind.Relative),
            ConsoleServer.Form(token, ("name", name), ("password", ConsoleServer.Password)));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        return client;
    }
}
