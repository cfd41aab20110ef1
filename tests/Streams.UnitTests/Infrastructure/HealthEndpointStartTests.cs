using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Health;

namespace Streams.UnitTests.Infrastructure;

/// <summary>
/// A prober that connects from the first moment (an orchestrator, the chaos test) must never make the health endpoint
/// fail to start: the managed HttpListener has a race between binding the port and its first accept.
/// </summary>
public sealed class HealthEndpointStartTests
{
    [Fact]
    public async Task Start_WhileAProberConnectsAllTheTime_AlwaysSucceeds()
    {
        using var services = new ServiceCollection().AddLogging().AddHealthChecks().Services.BuildServiceProvider();
        var checks = services.GetRequiredService<HealthCheckService>();
        var port = FreePort();
        var options = Options.Create(new HealthOptions { Port = port, Address = "127.0.0.1" });
        using var stop = new CancellationTokenSource();
        var probers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Probe(port, stop.Token))).ToList();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                using var endpoint = new HealthEndpoint(options, checks, NullLogger<HealthEndpoint>.Instance);
                await endpoint.StartAsync(CancellationToken.None);
                await endpoint.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(probers);
        }
    }

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
}
