using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Streams.Infrastructure.Health;

namespace Streams.UnitTests.Infrastructure;

/// <summary>What the host logs about its health: each check's changes, once, at a level that says what they mean.</summary>
public sealed class HealthTransitionsTests
{
    [Fact]
    public void Probes_LogEachCheckOnlyWhenItChanges_StartingIsInformation_FailingAWarning()
    {
        var logger = new FakeLogger();
        var transitions = new HealthTransitions(logger);
        var failure = new InvalidOperationException("select 1 failed");

        transitions.Observe(Report(("postgres", HealthStatus.Unhealthy, "the host is starting", null)));
        transitions.Observe(Report(("postgres", HealthStatus.Unhealthy, "the host is starting", null)));
        transitions.Observe(Report(("postgres", HealthStatus.Healthy, "select 1 answered", null), ("kafka", HealthStatus.Healthy, "1 broker(s)", null)));
        transitions.Observe(Report(("postgres", HealthStatus.Unhealthy, "select 1 failed", failure)));
        transitions.Observe(Report(("postgres", HealthStatus.Unhealthy, "select 1 failed", failure), ("kafka", HealthStatus.Healthy, "1 broker(s)", null)));
        transitions.Observe(Report(("kafka", HealthStatus.Degraded, "slow", null)));
        transitions.Observe(Report(("postgres", HealthStatus.Healthy, "select 1 answered", null)));

        var records = logger.Collector.GetSnapshot();
        Assert.Equal(
            [
                (LogLevel.Information, "Health check postgres: first result → Unhealthy (the host is starting)"),
                (LogLevel.Information, "Health check postgres: Unhealthy → Healthy (select 1 answered)"),
                (LogLevel.Information, "Health check kafka: first result → Healthy (1 broker(s))"),
                (LogLevel.Warning, "Health check postgres: Healthy → Unhealthy (select 1 failed)"),
                (LogLevel.Warning, "Health check kafka: Healthy → Degraded (slow)"),
                (LogLevel.Information, "Health check postgres: Unhealthy → Healthy (select 1 answered)"),
            ],
            records.Select(r => (r.Level, r.Message)));
        Assert.Same(failure, records[3].Exception);
    }

    [Fact]
    public async Task TheChecksOwnService_DoesNotLogAnErrorPerProbe_OfAHostThatIsStarting()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        using var logs = new FakeLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.AddStreamsHealth();
        builder.Services.AddHealthChecks().AddCheck("starting", () => HealthCheckResult.Unhealthy("the host is starting"), tags: ["probe"]);
        using var host = builder.Build();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("probe"));

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Category == HealthExtensions.HealthCheckServiceCategory);
    }

    private static HealthReport Report(params (string Name, HealthStatus Status, string Description, Exception? Exception)[] entries) =>
        new(entries.ToDictionary(e => e.Name, e => new HealthReportEntry(e.Status, e.Description, TimeSpan.Zero, e.Exception, null), StringComparer.Ordinal),
            TimeSpan.Zero);
}
