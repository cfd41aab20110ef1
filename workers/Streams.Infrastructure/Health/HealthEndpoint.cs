using System.Collections.Specialized;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Health;

/// <summary>
/// Serves <c>GET /health/live</c>, <c>GET /health/ready</c>, the Prometheus scrape <c>GET /metrics</c> and the
/// capabilities' <see cref="IEndpointRoute"/>s on a Kestrel server of its own inside the host.
/// </summary>
/// <remarks>
/// Kestrel rather than the runtime's HttpListener: the managed HttpListener on Linux has a start-up race (a connection
/// arriving while it binds throws from its accept loop on a thread-pool thread), which ends the process, and an
/// orchestrator probes from the first moment.
/// </remarks>
internal sealed class HealthEndpoint(
    IOptions<HealthOptions> options, HealthCheckService checks, ILoggerFactory loggerFactory, PrometheusScrape? metrics = null,
    IEnumerable<IEndpointRoute>? routes = null)
    : IHostedService, IAsyncDisposable
{
    // Probes answer concurrently (a slow database check must not hold up liveness), but a flood does not pile up checks.
    internal const int MaxConcurrentRequests = 8;
    private const string Json = "application/json; charset=utf-8";
    private readonly SemaphoreSlim slots = new(MaxConcurrentRequests, MaxConcurrentRequests);
    private readonly ILogger logger = loggerFactory.CreateLogger<HealthEndpoint>();
    private readonly HealthTransitions transitions = new(loggerFactory.CreateLogger<HealthTransitions>());
    private readonly IReadOnlyList<IEndpointRoute> routes = routes?.ToList() ?? [];
    private WebApplication? app;

    /// <summary>Where the started endpoint answers.</summary>
    internal Uri Address => EmbeddedWeb.Address(app ?? throw new InvalidOperationException("the health endpoint has not started"));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var web = EmbeddedWeb.CreateBuilder(typeof(HealthEndpoint), loggerFactory);
        web.WebHost.ConfigureKestrel(kestrel =>
        {
            settings.Listen(kestrel);
            // Probes send no body and few headers; a connection flood is refused rather than queued.
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.MaxConcurrentConnections = 64;
        });
        app = web.Build();
        app.Run(AnswerAsync);
        await EmbeddedWeb.StartAsync(app, $"{HealthOptions.Section}:Port {settings.Port} on {settings.Address}", cancellationToken)
            .ConfigureAwait(false);

        // Printed like the broker and database addresses: a person or a script starting the host reads it.
        var address = Address;
        Console.WriteLine($"Health: {new Uri(address, HealthResponse.LivePath)}, {new Uri(address, HealthResponse.ReadyPath)}" +
                          (metrics is null ? string.Empty : $"; metrics: {new Uri(address, HealthResponse.MetricsPath)}"));
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var slot = slots.Wait(0);
        try
        {
            var (status, body, contentType) = slot
                ? await AnswerAsync(context.Request).ConfigureAwait(false)
                : (HttpStatusCode.ServiceUnavailable, HealthResponse.Busy, Json);
            if (status == HttpStatusCode.MethodNotAllowed)
            {
                context.Response.Headers.Allow = "GET, HEAD";
            }

            await RespondAsync(context, status, body, contentType).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A client that went away, or a bug: a probe gets no answer rather than the server's error page and log.
            logger.LogDebug(e, "A health request failed");
            context.Abort();
        }
        finally
        {
            if (slot)
            {
                slots.Release();
            }
        }
    }

    private async Task<(HttpStatusCode Status, byte[] Body, string ContentType)> AnswerAsync(HttpRequest request)
    {
        var path = request.Path.Value;
        var scrape = metrics is not null && HealthResponse.IsMetrics(path);
        var tag = HealthResponse.TagOf(path);
        var route = routes.FirstOrDefault(r => r.Path == path);
        if (tag is null && !scrape && route is null)
        {
            return (HttpStatusCode.NotFound, HealthResponse.NotFound, Json);
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return (HttpStatusCode.MethodNotAllowed, HealthResponse.MethodNotAllowed, Json);
        }

        if (route is not null)
        {
            var (status, body) = route.Answer(Query(request));
            return (status, body, Json);
        }

        if (scrape)
        {
            // Collecting runs the observable instruments' callbacks: cheap, they read figures sampled elsewhere.
            return metrics!.Collect() is { } text
                ? (HttpStatusCode.OK, text, PrometheusText.ContentType)
                : (HttpStatusCode.ServiceUnavailable, HealthResponse.MetricsUnavailable, Json);
        }

        var report = await checks.CheckHealthAsync(r => r.Tags.Contains(tag!), CancellationToken.None).ConfigureAwait(false);
        transitions.Observe(report);
        return (HealthResponse.StatusCodeOf(report), HealthResponse.Json(report), Json);
    }

    private static NameValueCollection Query(HttpRequest request)
    {
        var query = new NameValueCollection();
        foreach (var (key, values) in request.Query)
        {
            foreach (var value in values)
            {
                query.Add(key, value);
            }
        }

        return query;
    }

    // A HEAD answer carries the length and headers a GET would, without the body.
    private static Task RespondAsync(HttpContext context, HttpStatusCode status, byte[] body, string contentType)
    {
        var response = context.Response;
        response.StatusCode = (int)status;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-store";
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // The semaphore is left to the collector: an answer still running after Stop releases it afterwards.
    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
