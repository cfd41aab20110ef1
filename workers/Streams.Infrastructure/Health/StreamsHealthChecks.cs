using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;

namespace Streams.Infrastructure.Health;

/// <summary>Liveness of every worker loop of this host (<see cref="WorkerHealth.Live"/>), one data entry per worker.</summary>
internal sealed class WorkersLiveCheck(WorkerHeartbeats heartbeats, IOptions<HealthOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        var (stallAfter, maxBatchRetries) = (options.Value.StallAfter, options.Value.MaxBatchRetries);
        return Task.FromResult(WorkerChecks.Summarize(heartbeats, status => WorkerHealth.Live(status, now, stallAfter, maxBatchRetries),
            "every worker loop is making progress"));
    }
}

/// <summary>Whether every worker has started: a running session whose consumer joined its group; not while the host is stopping.</summary>
internal sealed class WorkersStartedCheck(WorkerHeartbeats heartbeats, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("the host is stopping")
            : WorkerChecks.Summarize(heartbeats, WorkerHealth.Started, "every worker has joined its consumer group"));
}

internal static class WorkerChecks
{
    public static HealthCheckResult Summarize(WorkerHeartbeats heartbeats, Func<WorkerStatus, WorkerVerdict> judge, string healthy)
    {
        var verdicts = heartbeats.Statuses().Select(s => (s.Worker, Verdict: judge(s))).ToList();
        var data = verdicts.ToDictionary(v => v.Worker, v => (object)v.Verdict.Detail, StringComparer.Ordinal);
        var failing = verdicts.Where(v => !v.Verdict.Healthy).Select(v => v.Worker).ToList();
        return verdicts.Count == 0 ? HealthCheckResult.Healthy("this host runs no worker")
            : failing.Count == 0 ? HealthCheckResult.Healthy(healthy, data)
            : HealthCheckResult.Unhealthy($"not healthy: {string.Join(", ", failing)}", data: data);
    }
}

/// <summary>The broker answers a metadata request (for the internal canonical topic, to keep the answer small).</summary>
internal sealed class KafkaHealthCheck(
    StreamsEnvironment environment, TopicCatalog catalog, IOptions<HealthOptions> options, ILogger<KafkaHealthCheck> logger)
    : IHealthCheck, IDisposable
{
    private readonly Lock gate = new();
    private IAdminClient? admin;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        // GetMetadata blocks until the broker answers or the timeout passes: off the caller's thread.
        Task.Run(Check, cancellationToken);

    private HealthCheckResult Check()
    {
        if (!environment.IsReady)
        {
            return HealthCheckResult.Unhealthy("the host is starting");
        }

        try
        {
            var metadata = Admin().GetMetadata(catalog.Names.Canonical, options.Value.CheckTimeout);
            return metadata.Brokers.Count == 0
                ? HealthCheckResult.Unhealthy("metadata named no broker")
                : HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s) answered metadata");
        }
        catch (KafkaException e)
        {
            return HealthCheckResult.Unhealthy($"no metadata from {environment.BootstrapServers}: {e.Error.Reason}");
        }
    }

    private IAdminClient Admin()
    {
        lock (gate)
        {
            // One client for the host's life: a probe every few seconds should not build a client (and its threads) each time.
            return admin ??= new AdminClientBuilder(new AdminClientConfig { BootstrapServers = environment.BootstrapServers, ClientId = "streams-health" })
                .SetLogHandler((_, m) => logger.LogDebug("health admin client: {Message}", m.Message))
                .Build();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            admin?.Dispose();
            admin = null;
        }
    }
}

/// <summary>PostgreSQL answers <c>select 1</c> through the host's data source.</summary>
internal sealed class PostgresHealthCheck(StreamsEnvironment environment, IOptions<HealthOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!environment.IsReady)
        {
            return HealthCheckResult.Unhealthy("the host is starting");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.CheckTimeout);
        try
        {
            await using var connection = await environment.DataSource.OpenConnectionAsync(timeout.Token).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("select 1", connection);
            return await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false) is 1
                ? HealthCheckResult.Healthy("select 1 answered")
                : HealthCheckResult.Unhealthy("select 1 gave an unexpected answer");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Unhealthy(e is OperationCanceledException
                ? $"no answer to select 1 within {options.Value.CheckTimeout}"
                : $"select 1 failed: {e.Message}");
        }
    }
}
