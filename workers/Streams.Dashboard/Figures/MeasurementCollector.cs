using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Streams.Dashboard.Figures;

/// <summary>
/// One series of an instrument: its topic tag and the rest of its tags (outcome, reason, injected) as one label.
/// </summary>
public readonly record struct SeriesKey(string Instrument, string? Topic, string? Label);

/// <summary>Every series' value at one moment: counters as totals since start, gauges as their last value.</summary>
public sealed record MeasurementSnapshot(DateTimeOffset At, IReadOnlyDictionary<SeriesKey, double> Values)
{
    public static MeasurementSnapshot Empty(DateTimeOffset at) => new(at, new Dictionary<SeriesKey, double>());

    /// <summary>Sum of the series of <paramref name="instrument"/> that match the filters (null matches anything).</summary>
    public double Sum(string instrument, string? topic = null, string? label = null) => Values
        .Where(kv => kv.Key.Instrument == instrument && (topic is null || kv.Key.Topic == topic) && (label is null || kv.Key.Label == label))
        .Sum(kv => kv.Value);

    /// <summary>The series of <paramref name="instrument"/>.</summary>
    public IEnumerable<KeyValuePair<SeriesKey, double>> Series(string instrument) => Values.Where(kv => kv.Key.Instrument == instrument);
}

/// <summary>
/// Listens to the Streams meters with a <see cref="MeterListener"/> and keeps, per series, the total of a counter or the
/// last value of a gauge. Only meters of this host's <see cref="IMeterFactory"/> (or unscoped ones) are heard, so two hosts
/// in one process (tests) do not see each other's figures. A measurement costs one dictionary update on the worker's
/// thread; reading happens on the sampler's thread.
/// </summary>
public sealed class MeasurementCollector : IDisposable
{
    /// <summary>The meters the view and the report read.</summary>
    public static readonly IReadOnlyList<string> Meters =
        ["Streams.Ingest", "Streams.Profiles", "Streams.Segmentation", "Streams.Simulator"];

    private readonly ConcurrentDictionary<SeriesKey, double> values = new();
    private readonly MeterListener listener = new();
    private readonly TimeProvider time;

    public MeasurementCollector(IMeterFactory? meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        this.time = time;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (Meters.Contains(instrument.Meter.Name, StringComparer.Ordinal)
                && (instrument.Meter.Scope is null || meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, m, tags, _) => Record(i, m, tags));
        listener.SetMeasurementEventCallback<int>((i, m, tags, _) => Record(i, m, tags));
        listener.SetMeasurementEventCallback<double>((i, m, tags, _) => Record(i, m, tags));
        listener.Start();
    }

    /// <summary>The instruments that are gauges: their value replaces, a counter's adds.</summary>
    private static bool IsLastValue(Instrument instrument) =>
        instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() is var t
        && (t == typeof(ObservableGauge<>) || t == typeof(Gauge<>) || t == typeof(ObservableUpDownCounter<>));

    private void Record(Instrument instrument, double measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument.GetType().IsGenericType && instrument.GetType().GetGenericTypeDefinition() == typeof(Histogram<>))
        {
            // Durations are not totals; the view shows none of them.
            return;
        }

        var key = Key(instrument.Name, tags);
        if (IsLastValue(instrument))
        {
            values[key] = measurement;
        }
        else
        {
            values.AddOrUpdate(key, measurement, (_, total) => total + measurement);
        }
    }

    /// <summary>The series a measurement belongs to: the <c>topic</c> tag, and the other tag values joined in key order.</summary>
    internal static SeriesKey Key(string instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? topic = null;
        string? label = null;
        if (tags.Length > 0)
        {
            var rest = new List<KeyValuePair<string, object?>>(tags.Length);
            foreach (var tag in tags)
            {
                if (tag.Key == "topic")
                {
                    topic = Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
                }
                else
                {
                    rest.Add(tag);
                }
            }

            if (rest.Count > 0)
            {
                label = string.Join('|', rest.OrderBy(t => t.Key, StringComparer.Ordinal)
                    .Select(t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)?.ToLowerInvariant()));
            }
        }

        return new SeriesKey(instrument, topic, label);
    }

    /// <summary>Every series now (observable instruments are polled first).</summary>
    public MeasurementSnapshot Snapshot()
    {
        listener.RecordObservableInstruments();
        return new MeasurementSnapshot(time.GetUtcNow(), new Dictionary<SeriesKey, double>(values));
    }

    public void Dispose() => listener.Dispose();
}
