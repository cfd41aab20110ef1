using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Streams.Infrastructure.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>The standard variable that turns the OTLP exporter on (with <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> and the rest).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Registers OpenTelemetry: every <c>Streams.*</c> meter (the workers' and <see cref="RuntimeMetrics"/>), .NET's own
    /// and Npgsql's, read by the Prometheus scrape (<c>GET /metrics</c> on the health port); and, when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, the same metrics, the records' traces (<see cref="RecordTracing"/>) with Npgsql's spans inside them, and the logs over OTLP.
    /// </summary>
    public static IHostApplicationBuilder AddStreamsTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<RuntimeMetrics>();
        builder.Services.AddSingleton<PrometheusScrape>();
        builder.Services.AddHostedService<RuntimeSampler>();
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service; this is only the default.
                if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService("streams");
                }
            })
            .WithMetrics(metrics => metrics
                .AddMeter("Streams.*", "System.Runtime")
                .AddNpgsqlInstrumentation()
                .AddReader(sp => sp.GetRequiredService<PrometheusScrape>().Reader));
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]))
        {
            // Traces and logs have no reader but OTLP: without it they would only cost.
            telemetry.WithTracing(tracing => tracing.AddSource(RecordTracing.SourceName).AddNpgsql()).WithLogging().UseOtlpExporter();
        }

        return builder;
    }
}
