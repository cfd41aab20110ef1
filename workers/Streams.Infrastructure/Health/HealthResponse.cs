using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Streams.Infrastructure.Health;

/// <summary>What the health endpoint answers: paths, status codes and the JSON body; no I/O.</summary>
public static class HealthResponse
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>The Prometheus scrape, served on the same port.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Tag of the checks <c>/health/live</c> runs.</summary>
    public const string LiveTag = "live";

    /// <summary>Tag of the checks <c>/health/ready</c> runs.</summary>
    public const string ReadyTag = "ready";

    internal static readonly byte[] NotFound = Message($"not found; try {LivePath}, {ReadyPath} or {MetricsPath}");
    internal static readonly byte[] MetricsUnavailable = Message("collecting the metrics timed out");
    internal static readonly byte[] MethodNotAllowed = Message("only GET and HEAD");
    internal static readonly byte[] Busy = Message("too many health requests at once");

    /// <summary>The tag of the checks a path runs, or null for any other path.</summary>
    public static string? TagOf(string? path) => path?.TrimEnd('/') switch
    {
        LivePath => LiveTag,
        ReadyPath => ReadyTag,
        _ => null,
    };

    /// <summary>Whether a path is the Prometheus scrape.</summary>
    public static bool IsMetrics(string? path) => path?.TrimEnd('/') == MetricsPath;

    /// <summary>200 when every check is healthy (or degraded), else 503.</summary>
    public static HttpStatusCode StatusCodeOf(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Status == HealthStatus.Unhealthy ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK;
    }

    /// <summary>
    /// <c>{"status", "duration_ms", "checks": {"&lt;name&gt;": {"status", "description", "data": {…}}}}</c>, statuses as
    /// <c>Healthy</c>/<c>Degraded</c>/<c>Unhealthy</c>.
    /// </summary>
    public static byte[] Json(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteNumber("duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description ?? entry.Exception?.Message);
                if (entry.Data.Count > 0)
                {
                    json.WriteStartObject("data");
                    foreach (var (key, value) in entry.Data.OrderBy(d => d.Key, StringComparer.Ordinal))
                    {
                        json.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                    }

                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static byte[] Message(string text)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("error", text);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
