using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Streams.Infrastructure.Telemetry;

/// <summary>
/// The Prometheus side of the host's OpenTelemetry meter provider: a pull reader that collects cumulative figures
/// when scraped and renders them with <see cref="PrometheusText"/>. Served on the health port as <c>GET /metrics</c>.
/// </summary>
/// <remarks>
/// OpenTelemetry's own Prometheus exporters are prerelease (the HttpListener one says it is for development only). A
/// reader of our own keeps the SDK's aggregation and one port with the health checks, and needs no prerelease package.
/// </remarks>
public sealed class PrometheusScrape
{
    private readonly Lock gate = new();
    private readonly TextExporter exporter = new();

    public PrometheusScrape() => Reader = new BaseExportingMetricReader(exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };

    /// <summary>The reader to add to the meter provider; the provider owns (and disposes) it.</summary>
    public MetricReader Reader { get; }

    /// <summary>Every figure now in the text format (none before the meter provider starts), or null if collecting timed out.</summary>
    public byte[]? Collect()
    {
        lock (gate)
        {
            return Reader.Collect(5000) ? Encoding.UTF8.GetBytes(exporter.Last) : null;
        }
    }

    private sealed class TextExporter : BaseExporter<Metric>
    {
        private volatile string last = string.Empty;

        /// <summary>The text of the last collection (also one the meter provider ran itself, when flushing or stopping).</summary>
        public string Last => last;

        // The points are only valid during the export call: rendered right here.
        public override ExportResult Export(in Batch<Metric> batch)
        {
            var text = new StringBuilder();
            foreach (var metric in batch)
            {
                PrometheusText.Append(text, metric);
            }

            last = text.ToString();
            return ExportResult.Success;
        }
    }
}
