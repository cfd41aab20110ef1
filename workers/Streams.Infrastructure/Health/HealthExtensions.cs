using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Streams.Infrastructure.Health;

public static class HealthExtensions
{
    /// <summary>The log category of the checks' service (<see cref="HealthCheckService"/>'s implementation).</summary>
    internal const string HealthCheckServiceCategory = "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService";

    /// <summary>
    /// Registers the health checks (worker loops; broker and database for readiness) and, when <c>Health:Port</c> is
    /// set, the endpoint. Call it before the workers and the environment: the endpoint then answers while they start
    /// (ready is 503 until they have) and still answers while they stop.
    /// </summary>
    public static IHostApplicationBuilder AddStreamsHealth(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Singletons, so the checks keep what they hold (the broker check's admin client) between probes.
        builder.Services.AddSingleton<WorkersLiveCheck>();
        builder.Services.AddSingleton<WorkersStartedCheck>();
        builder.Services.AddSingleton<KafkaHealthCheck>();
        builder.Services.AddSingleton<PostgresHealthCheck>();
        builder.Services.AddHealthChecks()
            .AddCheck<WorkersLiveCheck>("workers", tags: [HealthResponse.LiveTag, HealthResponse.ReadyTag])
            .AddCheck<WorkersStartedCheck>("workers-started", tags: [HealthResponse.ReadyTag])
            .AddCheck<KafkaHealthCheck>("kafka", tags: [HealthResponse.ReadyTag])
            .AddCheck<PostgresHealthCheck>("postgres", tags: [HealthResponse.ReadyTag]);
        // It logs every unhealthy result at error level, probe after probe, a starting host's too; the endpoint logs
        // each check's changes instead (HealthTransitions).
        builder.Logging.AddFilter(HealthCheckServiceCategory, LogLevel.None);
        if (builder.Configuration.GetSection(HealthOptions.Section).Get<HealthOptions>() is { Enabled: true })
        {
            builder.Services.AddHostedService<HealthEndpoint>();
        }

        return builder;
    }
}
