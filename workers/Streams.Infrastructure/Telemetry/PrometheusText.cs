using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Streams.Infrastructure.Telemetry;

/// <summary>
/// Writes OpenTelemetry metrics in the Prometheus text exposition format (version 0.0.4), named the way the
/// OpenTelemetry specification maps them: dots to underscores, the unit as a suffix (<c>{annotations}</c> dropped,
/// <c>s</c> → <c>seconds</c>), <c>_total</c> on counters; histograms as cumulative <c>_bucket</c>, <c>_sum</c> and
/// <c>_count</c>. No I/O.
/// </summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Appends <paramref name="metric"/>'s HELP, TYPE and every point to <paramref name="text"/>.</summary>
    public static void Append(StringBuilder text, Metric metric)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(metric);
        var type = metric.MetricType;
        var counter = type is MetricType.LongSum or MetricType.DoubleSum;
        var kind = counter ? "counter" : type.IsHistogram() ? "histogram" : "gauge";
        if (type == MetricType.ExponentialHistogram)
        {
            // Not in the text format; no reader of ours asks for it.
            return;
        }

        var name = Name(metric.Name, metric.Unit, counter);
        if (!string.IsNullOrEmpty(metric.Description))
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(metric.Description.Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        }

        text.Append("# TYPE ").Append(name).Append(' ').Append(kind).Append('\n');
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            var labels = Labels(point.Tags);
            if (type.IsHistogram())
            {
                long cumulative = 0;
                foreach (var bucket in point.GetHistogramBuckets())
                {
                    cumulative += bucket.BucketCount;
                    var bound = double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : Number(bucket.ExplicitBound);
                    Sample(text, name + "_bucket", WithLabel(labels, "le", bound), cumulative.ToString(CultureInfo.InvariantCulture));
                }

                Sample(text, name + "_sum", labels, Number(point.GetHistogramSum()));
                Sample(text, name + "_count", labels, point.GetHistogramCount().ToString(CultureInfo.InvariantCulture));
                continue;
            }

            var value = type switch
            {
                MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(CultureInfo.InvariantCulture),
                MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => Number(point.GetSumDouble()),
                MetricType.LongGauge => point.GetGaugeLastValueLong().ToString(CultureInfo.InvariantCulture),
                _ => Number(point.GetGaugeLastValueDouble()),
            };
            Sample(text, name, labels, value);
        }
    }

    /// <summary>The Prometheus name of an instrument: <c>streams.ingest.records</c>, <c>{record}</c>, counter → <c>streams_ingest_records_total</c>.</summary>
    public static string Name(string instrument, string? unit, bool counter)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var name = Sanitize(instrument);
        var suffix = Unit(unit);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }

        return counter && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string Unit(string? unit)
    {
        // Curly braces annotate a count ("{record}"): no unit for Prometheus.
        var bare = unit is null ? string.Empty : System.Text.RegularExpressions.Regex.Replace(unit, @"\{[^}]*\}", string.Empty);
        return bare switch
        {
            "" or "1" => string.Empty,
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "By" => "bytes",
            _ => Sanitize(bare),
        };
    }

    private static string Sanitize(string name)
    {
        var text = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or ':';
            var next = valid ? c : '_';
            if (next != '_' || text.Length == 0 || text[^1] != '_')
            {
                text.Append(next);
            }
        }

        var sanitized = text.ToString().Trim('_');
        return sanitized.Length > 0 && char.IsAsciiDigit(sanitized[0]) ? "_" + sanitized : sanitized;
    }

    private static List<(string Name, string Value)> Labels(ReadOnlyTagCollection tags)
    {
        var labels = new List<(string, string)>();
        foreach (var tag in tags)
        {
            labels.Add((Sanitize(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty));
        }

        return labels;
    }

    private static List<(string Name, string Value)> WithLabel(List<(string Name, string Value)> labels, string name, string value) =>
        [.. labels, (name, value)];

    private static void Sample(StringBuilder text, string name, List<(string Name, string Value)> labels, string value)
    {
        text.Append(name);
        if (labels.Count > 0)
        {
            text.Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                text.Append(i == 0 ? "" : ",").Append(labels[i].Name).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(value).Append('\n');
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
