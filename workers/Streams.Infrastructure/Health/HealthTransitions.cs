using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Streams.Infrastructure.Health;

/// <summary>
/// Logs each health check when its status changes, not on every probe: an orchestrator probes every few seconds, and a
/// host that is still starting (readiness 503 until its workers have joined) is not an error.
/// </summary>
/// <remarks>
/// The checks' own service logs every unhealthy result at error level, once per probe; its category is filtered out in
/// <see cref="HealthExtensions.AddStreamsHealth"/> and this log takes its place. A check's first result is information
/// (start-up), a change to unhealthy or degraded a warning with the check's exception, a recovery information.
/// </remarks>
internal sealed class HealthTransitions(ILogger logger)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, HealthStatus> last = new(StringComparer.Ordinal);

    public void Observe(HealthReport report)
    {
        foreach (var (name, entry) in report.Entries)
        {
            HealthStatus? before;
            lock (gate)
            {
                before = last.TryGetValue(name, out var status) ? status : null;
                if (before == entry.Status)
                {
                    continue;
                }

                last[name] = entry.Status;
            }

            var level = before is null || entry.Status == HealthStatus.Healthy ? LogLevel.Information : LogLevel.Warning;
            logger.Log(level, entry.Exception, "Health check {Check}: {Before} → {Status} ({Description})",
                name, before?.ToString() ?? "first result", entry.Status, entry.Description);
        }
    }
}
