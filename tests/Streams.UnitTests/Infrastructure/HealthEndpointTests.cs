using System.Collections.Specialized;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Health;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

/// <summary>The health endpoint's server on a real port: its request rules, its addresses and its start-up under probing.</summary>
public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Start_WhileProbersConnectAllTheTime_AlwaysSucceeds_AndAnswers()
    {
        using var services = Checks(_ => HealthCheckResult.Healthy());
        var port = FreePort();
        using var stop = new CancellationTokenSource();
        // Bare connections from the first moment, as an orchestrator's probe: the runtime's HttpListener, which served
        // this endpoint before, threw from its accept loop on a pool thread when one arrived while it bound the port.
        var probers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Probe(port, stop.Token))).ToList();
        try
        {
            for (var i = 0; i < 25; i++)
            {
                await using var endpoint = Endpoint(services, "127.0.0.1", port);
                await endpoint.StartAsync(CancellationToken.None);
                using var http = new HttpClient();
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(endpoint.Address, HealthResponse.LivePath))).StatusCode);
                await endpoint.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(probers);
        }
    }

    [Fact]
    public async Task Requests_FollowTheRules_NotFoundBeforeMethod_OnlyGetAndHead_NoStore()
    {
        using var services = Checks(_ => HealthCheckResult.Unhealthy("select 1 failed"));
        await using var endpoint = Endpoint(services, "127.0.0.1", 0, new EchoRoute());
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = endpoint.Address };

        using var live = await http.GetAsync(new Uri(HealthResponse.LivePath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, live.StatusCode);
        Assert.Equal("application/json; charset=utf-8", live.Content.Headers.ContentType?.ToString());
        Assert.True(live.Headers.CacheControl?.NoStore);
        Assert.Contains("select 1 failed", await live.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(live.Headers, h => h.Key == "Server");

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health/ready/"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.True(head.Content.Headers.ContentLength > 0); // the length a GET would have

        using var post = await http.PostAsync(new Uri(HealthResponse.LivePath, UriKind.Relative), new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync(new Uri("/nowhere", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/health", UriKind.Relative))).StatusCode);
        // No meter provider in this host: the scrape is not served.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(HealthResponse.MetricsPath, UriKind.Relative))).StatusCode);

        using var routed = await http.GetAsync(new Uri("/echo?topic=store&minutes=5&topic=web%20shop", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        Assert.Equal("minutes=5;topic=store,web shop", await routed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AFloodOfSlowProbes_GetsBusyAnswers_BeyondTheSlots_AndTheSlotsComeBack()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;
        using var services = Checks(_ =>
        {
            Interlocked.Increment(ref entered);
            release.Task.Wait();
            return HealthCheckResult.Healthy();
        });
        await using var endpoint = Endpoint(services, "127.0.0.1", 0);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = endpoint.Address };

        var held = Enumerable.Range(0, HealthEndpoint.MaxConcurrentRequests)
            .Select(_ => http.GetAsync(new Uri(HealthResponse.LivePath, UriKind.Relative))).ToList();
        while (Volatile.Read(ref entered) < HealthEndpoint.MaxConcurrentRequests)
        {
            await Task.Delay(10);
        }

        using var busy = await http.GetAsync(new Uri(HealthResponse.LivePath, UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.Contains("too many health requests", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        release.SetResult();
        Assert.All(await Task.WhenAll(held), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(HealthResponse.LivePath, UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("localhost", "127.0.0.1")]
    [InlineData("localhost", "[::1]")]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("*", "[::1]")]
    [InlineData("::1", "[::1]")]
    public async Task Address_IsWhereItAnswers(string address, string askedAt)
    {
        using var services = Checks(_ => HealthCheckResult.Healthy());
        var port = FreePort();
        await using var endpoint = Endpoint(services, address, port);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://{askedAt}:{port}{HealthResponse.LivePath}"))).StatusCode);
    }

    [Fact]
    public async Task APortInUse_OrAnAddressNotOnThisMachine_IsAConfigurationError()
    {
        using var services = Checks(_ => HealthCheckResult.Healthy());
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var inUse = Endpoint(services, "127.0.0.1", port);
        var error = await Assert.ThrowsAsync<StreamsConfigurationException>(() => inUse.StartAsync(CancellationToken.None));
        Assert.StartsWith($"Health:Port {port} on 127.0.0.1 cannot be served", error.Message, StringComparison.Ordinal);

        // TEST-NET-3 (RFC 5737): never an address of this machine.
        await using var elsewhere = Endpoint(services, "203.0.113.7", FreePort());
        await Assert.ThrowsAsync<StreamsConfigurationException>(() => elsewhere.StartAsync(CancellationToken.None));
    }

    private static HealthEndpoint Endpoint(ServiceProvider services, string address, int port, params IEndpointRoute[] routes) =>
        new(Options.Create(new HealthOptions { Port = port, Address = address }), services.GetRequiredService<HealthCheckService>(),
            NullLoggerFactory.Instance, routes: routes);

    private static ServiceProvider Checks(Func<HealthCheckContext, HealthCheckResult> check) =>
        new ServiceCollection().AddLogging().AddHealthChecks()
            .AddCheck("postgres", new DelegateCheck(check), tags: [HealthResponse.LiveTag, HealthResponse.ReadyTag]).Services
            .BuildServiceProvider();

    private static void Probe(int port, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                client.Connect(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private sealed class DelegateCheck(Func<HealthCheckContext, HealthCheckResult> check) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.Run(() => check(context), cancellationToken);
    }

    /// <summary>Answers its query back, keys in order, to show what a route is handed.</summary>
    private sealed class EchoRoute : IEndpointRoute
    {
        public string Path => "/echo";

        public (HttpStatusCode Status, byte[] Body) Answer(NameValueCollection query) =>
            (HttpStatusCode.OK, Encoding.UTF8.GetBytes(string.Join(';', query.AllKeys.Order(StringComparer.Ordinal).Select(k => $"{k}={query[k]}"))));
    }
}
