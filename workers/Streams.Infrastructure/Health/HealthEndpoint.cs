using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Health;

/// <summary>
/// Serves <c>GET /health/live</c>, <c>GET /health/ready</c> and the Prometheus scrape <c>GET /metrics</c> with
/// <see cref="HttpListener"/>: part of the plain .NET runtime, so the host needs neither ASP.NET Core nor its larger
/// container image for three read-only endpoints.
/// </summary>
internal sealed class HealthEndpoint(
    IOptions<HealthOptions> options, HealthCheckService checks, ILogger<HealthEndpoint> logger, PrometheusScrape? metrics = null,
    IEnumerable<IEndpointRoute>? routes = null)
    : IHostedService, IDisposable
{
    // Probes answer concurrently (a slow database check must not hold up liveness), but a flood does not pile up checks.
    private const int MaxConcurrentRequests = 8;
    private readonly SemaphoreSlim slots = new(MaxConcurrentRequests, MaxConcurrentRequests);
    private HttpListener? listener;
    private Task? accepting;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        listener = Listen(settings);

        // Printed like the broker and database addresses: a person or a script starting the host reads it.
        Console.WriteLine($"Health: {settings.Prefixes[0]}health/live, {settings.Prefixes[0]}health/ready" +
                          (metrics is null ? string.Empty : $"; metrics: {settings.Prefixes[0]}metrics"));
        accepting = AcceptAsync(listener);
        return Task.CompletedTask;
    }

    // The managed HttpListener (Linux) has a start-up race: a probe that connects while Start() binds the port makes it
    // throw ArgumentNullException from its accept loop (dotnet/runtime, known since .NET Core 2.1), leaving the bound
    // socket to its finalizer. A prober that polls from the first moment (an orchestrator, the chaos test) hits it now and
    // then, and a host must not fail to start for that: the leaked socket is finalized and the start tried again.
    private HttpListener Listen(HealthOptions settings)
    {
        const int attempts = 10;
        for (var attempt = 1; ; attempt++)
        {
            var server = new HttpListener();
            foreach (var prefix in settings.Prefixes)
            {
                server.Prefixes.Add(prefix);
            }

            try
            {
                server.Start();
                return server;
            }
            catch (HttpListenerException e)
            {
                server.Close();
                throw new StreamsConfigurationException(
                    $"{HealthOptions.Section}:Port {settings.Port} on {settings.Address} cannot be served: {e.Message}", e);
            }
            catch (ArgumentNullException e) when (attempt < attempts)
            {
                server.Close();
                logger.LogWarning(e, "The health endpoint lost a start-up race with an early request; starting it again ({Attempt} of {Attempts})",
                    attempt + 1, attempts);
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Thread.Sleep(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }

    private async Task AcceptAsync(HttpListener server)
    {
        while (server.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await server.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // Stop() ends the wait this way.
                return;
            }

            if (!await slots.WaitAsync(0).ConfigureAwait(false))
            {
                Respond(context, HttpStatusCode.ServiceUnavailable, HealthResponse.Busy);
                continue;
            }

            _ = AnswerAsync(context);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            var request = context.Request;
            var path = request.Url?.AbsolutePath;
            var scrape = metrics is not null && HealthResponse.IsMetrics(path);
            var tag = HealthResponse.TagOf(path);
            var route = routes?.FirstOrDefault(r => r.Path == path);
            if (tag is null && !scrape && route is null)
            {
                Respond(context, HttpStatusCode.NotFound, HealthResponse.NotFound);
                return;
            }

            if (request.HttpMethod is not ("GET" or "HEAD"))
            {
                context.Response.Headers["Allow"] = "GET, HEAD";
                Respond(context, HttpStatusCode.MethodNotAllowed, HealthResponse.MethodNotAllowed);
                return;
            }

            if (route is not null)
            {
                var (status, body) = route.Answer(request.QueryString);
                Respond(context, status, request.HttpMethod == "HEAD" ? [] : body);
                return;
            }

            if (scrape)
            {
                // Collecting runs the observable instruments' callbacks: cheap, they read figures sampled elsewhere.
                var text = metrics!.Collect();
                if (text is null)
                {
                    Respond(context, HttpStatusCode.ServiceUnavailable, HealthResponse.MetricsUnavailable);
                }
                else
                {
                    Respond(context, HttpStatusCode.OK, request.HttpMethod == "HEAD" ? [] : text, PrometheusText.ContentType);
                }

                return;
            }

            var report = await checks.CheckHealthAsync(r => r.Tags.Contains(tag!), CancellationToken.None).ConfigureAwait(false);
            Respond(context, HealthResponse.StatusCodeOf(report), request.HttpMethod == "HEAD" ? [] : HealthResponse.Json(report));
        }
        catch (Exception e)
        {
            // A client that went away, or a bug: never take the host down for a probe.
            logger.LogDebug(e, "A health request failed");
            context.Response.Abort();
        }
        finally
        {
            slots.Release();
        }
    }

    private static void Respond(HttpListenerContext context, HttpStatusCode status, byte[] body, string contentType = "application/json; charset=utf-8")
    {
        var response = context.Response;
        try
        {
            response.StatusCode = (int)status;
            response.ContentType = contentType;
            response.Headers["Cache-Control"] = "no-store";
            response.ContentLength64 = body.Length;
            response.OutputStream.Write(body);
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            response.Abort();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Close, not Stop: closing a stopped managed HttpListener binds its port once more to unregister it, which runs
        // into the same race with a prober as Start does.
        listener?.Close();
        if (accepting is not null)
        {
            await accepting.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // The semaphore is left to the collector: an answer still running after Stop releases it afterwards.
    public void Dispose() => listener?.Close();
}
