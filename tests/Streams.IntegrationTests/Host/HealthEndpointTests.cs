using System.Net;
using System.Text.Json;
using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Host;

/// <summary>The real host with <c>Health:Port</c> set, probed over HTTP as an orchestrator would.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class HealthEndpointTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public async Task RunningHost_IsLiveAndReady_ReadyFollowsPostgresDownAndBack_LiveStaysUp()
    {
        Skip.If(postgres.Local is null, "needs the local PostgreSQL cluster, which this test stops and starts");
        var topics = await TestTopics.CreateAsync(kafka);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, InProcessHost.FreeHealthPort(),
            // Quick retries, so the workers are back soon after the database is.
            "--Ingest:RetryDelay=00:00:00.200", "--Ingest:MaxRetryDelay=00:00:01", "--Profiles:RetryDelay=00:00:00.200",
            "--Profiles:MaxRetryDelay=00:00:01", "--Segmentation:RetryDelay=00:00:00.200", "--Segmentation:MaxRetryDelay=00:00:01");
        using var http = new HttpClient { BaseAddress = host.HealthAddress, Timeout = TimeSpan.FromSeconds(30) };

        var ready = await WaitForAsync(http, "/health/ready", HttpStatusCode.OK);
        Assert.Equal(["kafka", "postgres", "workers", "workers-started"], Checks(ready).Keys.Order(StringComparer.Ordinal));
        Assert.All(Checks(ready).Values, check => Assert.Equal("Healthy", check.GetProperty("status").GetString()));
        var reporting = Checks(ready)["workers-started"].GetProperty("data").EnumerateObject().Select(p => p.Name).ToList();
        Assert.All([WorkerSelection.Ingest, WorkerSelection.Profiles, WorkerSelection.Segmentation, WorkerSelection.Activation], worker => Assert.Contains(worker, reporting));
        var (liveStatus, live) = await GetAsync(http, "/health/live");
        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal(["workers"], Checks(live).Keys);

        await postgres.Local!.StopAsync();
        try
        {
            var down = await WaitForAsync(http, "/health/ready", HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", Checks(down)["postgres"].GetProperty("status").GetString());
            Assert.Equal("Healthy", Checks(down)["kafka"].GetProperty("status").GetString());
            // The workers wait for the database and retry: not stuck, so nothing should restart the process.
            var (stillLive, body) = await GetAsync(http, "/health/live");
            Assert.True(stillLive == HttpStatusCode.OK, body.RootElement.ToString());
        }
        finally
        {
            await postgres.Local.RestartAsync();
        }

        var back = await WaitForAsync(http, "/health/ready", HttpStatusCode.OK);
        Assert.Equal("Healthy", Checks(back)["postgres"].GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(http, "/health")).Status);
    }

    [Fact]
    public async Task ABatchThatFailsEverySession_MakesTheLoopNotLive_WhileBrokerAndDatabaseStayReady()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, InProcessHost.FreeHealthPort(),
            "--Health:MaxBatchRetries=2", "--Streams:Workers=profiles", "--Profiles:RetryDelay=00:00:00.050", "--Profiles:MaxRetryDelay=00:00:00.100");
        using var http = new HttpClient { BaseAddress = host.HealthAddress, Timeout = TimeSpan.FromSeconds(30) };
        await WaitForAsync(http, "/health/ready", HttpStatusCode.OK);

        // A serialization failure (40001) is transient by its class, so each session retries; this one comes back for
        // the same record every time, and the loop only ever replays that batch.
        var stuck = CanonicalFeed.Id(Streams.Contracts.Identifiers.IdentifierType.Loyalty, "stuck");
        await Database.RefuseIdentifierAsync(host.ConnectionString, stuck.Pseudonym, "40001");
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            feed.Send(CanonicalFeed.StoreEvent("stuck-1", DateTimeOffset.UtcNow.AddDays(-1), 10, "shoes", stuck));
        }

        var notLive = await WaitForAsync(http, "/health/live", HttpStatusCode.ServiceUnavailable);
        var detail = Checks(notLive)["workers"].GetProperty("data").GetProperty(WorkerSelection.Profiles).GetString();
        Assert.Matches(@"^stuck: the same batch failed [3-9] sessions in a row \(limit 2\)", detail);
        var (_, ready) = await GetAsync(http, "/health/ready");
        Assert.Equal("Healthy", Checks(ready)["kafka"].GetProperty("status").GetString());
        Assert.Equal("Healthy", Checks(ready)["postgres"].GetProperty("status").GetString());
    }

    private static Dictionary<string, JsonElement> Checks(JsonDocument body) =>
        body.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());

    private static async Task<(HttpStatusCode Status, JsonDocument Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }

    /// <summary>Probes <paramref name="path"/> until it answers <paramref name="wanted"/>; the last body is the failure message.</summary>
    private static async Task<JsonDocument> WaitForAsync(HttpClient http, string path, HttpStatusCode wanted)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (status, body) = await GetAsync(http, path);
            if (status == wanted)
            {
                return body;
            }

            Assert.True(clock.Elapsed < Patience, $"{path} still answers {(int)status}, not {(int)wanted}: {body.RootElement}");
            await Task.Delay(250);
        }
    }
}
