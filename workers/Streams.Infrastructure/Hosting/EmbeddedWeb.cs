using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// A Kestrel server that lives inside the worker host (the health endpoint, the stewards' console): its own small
/// web container, fed with the host's logging, taking no configuration of its own and started and stopped by the host.
/// </summary>
public static class EmbeddedWeb
{
    /// <summary>A slim web application builder named after <paramref name="application"/>'s assembly.</summary>
    public static WebApplicationBuilder CreateBuilder(Type application, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(application);
        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = application.Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        // The host's own configuration and logging apply; the server adds no configuration source of its own.
        web.Configuration.Sources.Clear();
        web.Logging.ClearProviders();
        web.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
        // The host owns the process: Ctrl-C and SIGTERM stop it, and it stops the server; the server listens for neither.
        web.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, HostedLifetime>());
        web.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        return web;
    }

    /// <summary>
    /// Starts <paramref name="app"/>; a port that cannot be bound (in use, an address this machine does not have) is a
    /// configuration error naming <paramref name="setting"/>, so the host exits 2 instead of crashing.
    /// </summary>
    public static async Task StartAsync(WebApplication app, string setting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw new StreamsConfigurationException($"{setting} cannot be served: {e.Message}", e);
        }
    }

    /// <summary>Where a started server answers, with an any-address shown as the loopback one (a URL a person can open).</summary>
    public static Uri Address(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "[::1]", StringComparison.Ordinal).Replace("0.0.0.0", IPAddress.Loopback.ToString(), StringComparison.Ordinal));
    }

    private sealed class HostedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
