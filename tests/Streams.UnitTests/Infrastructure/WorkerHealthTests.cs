using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Health;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class WorkerHealthTests
{
    private static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(60);
    private readonly ManualClock clock = new(new DateTimeOffset(2026, 11, 29, 6, 0, 0, TimeSpan.Zero));
    private readonly WorkerHeartbeats heartbeats;

    public WorkerHealthTests() => heartbeats = new WorkerHeartbeats(clock);

    [Fact]
    public void NotStarted_IsLive_ButNotStarted()
    {
        var status = heartbeats.For("ingest").Status();
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(WorkerLoopState.NotStarted, status.State);
        Assert.True(Live(status).Healthy);
        Assert.Equal(new WorkerVerdict(false, "not started yet"), WorkerHealth.Started(status));
    }

    [Fact]
    public void RunningAndBeating_IsLive_AndStartedOnceJoined()
    {
        var heartbeat = heartbeats.For("profiles");
        heartbeat.SessionStarting();
        clock.Advance(TimeSpan.FromSeconds(5));
        heartbeat.Beat();
        heartbeat.SetJoined(false);
        Assert.True(Live(heartbeat.Status()).Healthy);
        Assert.Equal(new WorkerVerdict(false, "running, not yet a member of its consumer group"), WorkerHealth.Started(heartbeat.Status()));

        heartbeat.SetJoined(true);
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(new WorkerVerdict(true, "running, last poll 59.0 s ago"), Live(heartbeat.Status()));
        Assert.True(WorkerHealth.Started(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void SameBatchFailingPastMaxBatchRetries_IsNotLive_UntilABatchIsDone()
    {
        var heartbeat = heartbeats.For("profiles");
        heartbeat.SessionStarting();
        for (var retry = 1; retry <= 6; retry++)
        {
            heartbeat.BatchFilled(100);
            heartbeat.Retrying(new TimeoutException("the same batch again"), TimeSpan.FromSeconds(1));
            Assert.Equal(retry, heartbeat.Status().BatchRetries);
            Assert.Equal(retry <= 5, WorkerHealth.Live(heartbeat.Status(), clock.GetUtcNow(), StallAfter, maxBatchRetries: 5).Healthy);
            heartbeat.SessionStarting();
        }

        var verdict = WorkerHealth.Live(heartbeat.Status(), clock.GetUtcNow(), StallAfter, maxBatchRetries: 5);
        Assert.Equal("stuck: the same batch failed 6 sessions in a row (limit 5): ", verdict.Detail);

        // The batch goes through at last: the count starts over.
        heartbeat.BatchFilled(100);
        heartbeat.BatchDone();
        Assert.Equal(0, heartbeat.Status().BatchRetries);
        Assert.True(WorkerHealth.Live(heartbeat.Status(), clock.GetUtcNow(), StallAfter, maxBatchRetries: 5).Healthy);
    }

    [Fact]
    public void SessionsFailingBeforeTheyHoldABatch_AnOutage_StayLive_ButNotStarted()
    {
        var heartbeat = heartbeats.For("profiles");
        for (var retry = 0; retry < 50; retry++)
        {
            heartbeat.SessionStarting();
            heartbeat.Retrying(new TimeoutException("PostgreSQL away"), TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, heartbeat.Status().BatchRetries);
        Assert.True(WorkerHealth.Live(heartbeat.Status(), clock.GetUtcNow(), StallAfter, maxBatchRetries: 5).Healthy);
        Assert.False(WorkerHealth.Started(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void NoBeatPastStallAfter_IsStalled()
    {
        var heartbeat = heartbeats.For("ingest");
        heartbeat.SessionStarting();
        heartbeat.SetJoined(true);
        clock.Advance(TimeSpan.FromSeconds(61));
        var verdict = Live(heartbeat.Status());
        Assert.False(verdict.Healthy);
        Assert.Equal("stalled: no progress for 61.0 s (limit 60.0 s)", verdict.Detail);

        heartbeat.Beat();
        Assert.True(Live(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void SessionStartedButNeverBeat_StallsFromItsStart()
    {
        var heartbeat = heartbeats.For("segmentation");
        clock.Advance(TimeSpan.FromMinutes(5));
        heartbeat.SessionStarting();
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(Live(heartbeat.Status()).Healthy);
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.False(Live(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void Retrying_IsLiveThroughItsBackoff_ButNotStarted()
    {
        var heartbeat = heartbeats.For("profiles");
        heartbeat.SessionStarting();
        heartbeat.SetJoined(true);
        heartbeat.Retrying(new TimeoutException("database away"), TimeSpan.FromSeconds(90));
        clock.Advance(TimeSpan.FromSeconds(140));
        var status = heartbeat.Status();
        Assert.False(status.Joined);
        Assert.Equal(new WorkerVerdict(true, "retrying after: TimeoutException: database away"), Live(status));
        Assert.Equal(new WorkerVerdict(false, "waiting to retry after: TimeoutException: database away"), WorkerHealth.Started(status));

        // A backoff that ended without a new session is a stall like any other.
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.False(Live(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void Failed_IsNotLive_AndStoppingAfterwardsKeepsTheError()
    {
        var heartbeat = heartbeats.For("ingest");
        heartbeat.SessionStarting();
        heartbeat.Beat();
        heartbeat.Failed(new InvalidDataException("bug"));
        heartbeat.Stopped();
        var status = heartbeat.Status();
        Assert.Equal(WorkerLoopState.Failed, status.State);
        Assert.Equal(new WorkerVerdict(false, "loop ended with an error: InvalidDataException: bug"), Live(status));
        Assert.False(WorkerHealth.Started(status).Healthy);
    }

    [Fact]
    public void Stopped_IsNeitherLiveNorStarted()
    {
        var heartbeat = heartbeats.For("ingest");
        heartbeat.SessionStarting();
        heartbeat.SetJoined(true);
        heartbeat.Stopped();
        Assert.Equal(new WorkerVerdict(false, "loop stopped"), Live(heartbeat.Status()));
        Assert.False(WorkerHealth.Started(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void LoopWithoutAGroup_IsStartedByItsFirstBeat()
    {
        var heartbeat = heartbeats.For("producer");
        heartbeat.SessionStarting();
        Assert.False(WorkerHealth.Started(heartbeat.Status()).Healthy);
        heartbeat.Beat();
        Assert.True(WorkerHealth.Started(heartbeat.Status()).Healthy);
    }

    [Fact]
    public void NewSession_ForgetsTheMembershipOfTheLastOne()
    {
        var heartbeat = heartbeats.For("ingest");
        heartbeat.SessionStarting();
        heartbeat.SetJoined(true);
        heartbeat.SessionStarting();
        Assert.False(heartbeat.Status().Joined);
    }

    [Fact]
    public async Task LiveCheck_IsUnhealthyWhenAnyWorkerIs_AndNamesIt()
    {
        var check = new WorkersLiveCheck(heartbeats, Options.Create(new HealthOptions()), clock);
        var (ingest, profiles) = (heartbeats.For("ingest"), heartbeats.For("profiles"));
        ingest.SessionStarting();
        profiles.SessionStarting();
        var healthy = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(["ingest", "profiles"], healthy.Data.Keys.Order(StringComparer.Ordinal));

        clock.Advance(TimeSpan.FromSeconds(45));
        ingest.Beat();
        clock.Advance(TimeSpan.FromSeconds(45));
        var stalled = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, stalled.Status);
        Assert.Equal("not healthy: profiles", stalled.Description);
        Assert.StartsWith("stalled", (string)stalled.Data["profiles"], StringComparison.Ordinal);
        Assert.StartsWith("running", (string)stalled.Data["ingest"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveCheck_UsesTheConfiguredStallAfter()
    {
        var check = new WorkersLiveCheck(heartbeats, Options.Create(new HealthOptions { StallAfter = TimeSpan.FromSeconds(5) }), clock);
        heartbeats.For("ingest").SessionStarting();
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
    }

    [Theory]
    [InlineData("/health/live", "live")]
    [InlineData("/health/ready/", "ready")]
    [InlineData("/health", null)]
    [InlineData("/health/LIVE", null)]
    [InlineData(null, null)]
    public void TagOf_MapsOnlyTheTwoPaths(string? path, string? tag) => Assert.Equal(tag, HealthResponse.TagOf(path));

    [Fact]
    public void Response_Is200WhenHealthy_503WhenAnyCheckIsNot_WithEachCheckInTheBody()
    {
        var healthy = Report(("kafka", HealthStatus.Healthy, "1 broker(s) answered metadata"), ("postgres", HealthStatus.Healthy, "select 1 answered"));
        Assert.Equal(HttpStatusCode.OK, HealthResponse.StatusCodeOf(healthy));

        var down = Report(("kafka", HealthStatus.Healthy, "ok"), ("postgres", HealthStatus.Unhealthy, "select 1 failed: refused"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, HealthResponse.StatusCodeOf(down));
        using var json = JsonDocument.Parse(HealthResponse.Json(down));
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("status").GetString());
        var postgres = json.RootElement.GetProperty("checks").GetProperty("postgres");
        Assert.Equal("Unhealthy", postgres.GetProperty("status").GetString());
        Assert.Equal("select 1 failed: refused", postgres.GetProperty("description").GetString());
        Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("kafka").GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("+", "127.0.0.1")]
    [InlineData("::", "[::1]")]
    [InlineData("::1", "[::1]")]
    [InlineData("[fe80::1]", "[fe80::1]")]
    [InlineData("localhost", "localhost")]
    public void ClientHost_IsAnAddressAUrlCanHold(string address, string expected)
    {
        var host = new HealthOptions { Address = address, Port = 8081 }.ClientHost;
        Assert.Equal(expected, host);
        Assert.Equal(8081, new Uri($"http://{host}:8081/quality").Port);
    }

    [Theory]
    [InlineData("db.internal", false)]
    [InlineData("127.0.0.1", true)]
    [InlineData("localhost", true)]
    [InlineData("*", true)]
    public void Validate_AcceptsAddressesOnly(string address, bool valid) =>
        Assert.Equal(valid, !new HealthOptions { Address = address }.Validate(new(new object())).Any());

    private WorkerVerdict Live(WorkerStatus status) => WorkerHealth.Live(status, clock.GetUtcNow(), StallAfter);

    private static HealthReport Report(params (string Name, HealthStatus Status, string Description)[] entries) =>
        new(entries.ToDictionary(e => e.Name, e => new HealthReportEntry(e.Status, e.Description, TimeSpan.FromMilliseconds(3), null, null)),
            TimeSpan.FromMilliseconds(5));

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset now = start;

        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }
}
