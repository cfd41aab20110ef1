using System.ComponentModel.DataAnnotations;

namespace Streams.Infrastructure.Telemetry;

/// <summary>Telemetry settings (section <c>Telemetry</c>). Exporters follow the standard <c>OTEL_*</c> variables.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>How often consumer-group lag and outbox depth are read for the meters (default 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);
}
