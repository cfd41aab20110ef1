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
        ["Streams.Ingest", "Streams.Profiles", "Streams.Segmentation", "Streams.Activation", "Streams.Simulator"];

    private readonly ConcurrentDictionary<SeriesKey, double> values = new();
    private readonly MeterListener listener = new();
    private readonly TimeProvider time;

    public MeasurementCollector(IMeterFactory? meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        this.time = time;
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Durations (histograms) are not totals; the view shows none of them, so they are not even listened to.
            if (Meters.Contains(instrument.Meter.Name, StringComparer.Ordinal) && Kind(instrument) is { } kind
                && (instrument.Meter.Scope is null || meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
            {
                l.EnableMeasurementEvents(instrument, kind);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, m, tags, state) => Record(i, m, tags, state));
        listener.SetMeasurementEventCallback<int>((i, m, tags, state) => Record(i, m, tags, state));
        listener.SetMeasurementEventCallback<double>((i, m, tags, state) => Record(i, m, tags, state));
        listener.Start();
    }

    /// <summary>How an instrument's measurements combine: a gauge's value replaces, a counter's adds; null for the rest.</summary>
    private static Aggregation? Kind(Instrument instrument)
    {
        if (!instrument.GetType().IsGenericType)
        {
            return null;
        }

        var type = instrument.GetType().GetGenericTypeDefinition();
        return type == typeof(Counter<>) || type == typeof(ObservableCounter<>) || type == typeof(UpDownCounter<>) ? Aggregation.Sum
            : type == typeof(ObservableGauge<>) || type == typeof(Gauge<>) || type == typeof(ObservableUpDownCounter<>) ? Aggregation.LastValue
            : null;
    }

    // Runs on the worker's thread for every measurement: no reflection, no LINQ, one dictionary update.
    private void Record(Instrument instrument, double measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var key = Key(instrument.Name, tags);
        if (state is Aggregation.LastValue)
        {
            values[key] = measurement;
        }
        else
        {
            values.AddOrUpdate(key, static (_, added) => added, static (_, total, added) => total + added, measurement);
        }
    }

    /// <summary>The series a measurement belongs to: the <c>topic</c> tag, and the other tag values joined in key order.</summary>
    internal static SeriesKey Key(string instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? topic = null;
        string? label = null;
        var others = 0;
        foreach (var tag in tags)
        {
            if (tag.Key == "topic")
            {
                topic = Label(tag.Value);
            }
            else if (++others == 1)
            {
                label = Label(tag.Value);
            }
        }

        if (others > 1)
        {
            // Not a shape the Streams meters use today; kept exact rather than fast.
            var rest = new List<KeyValuePair<string, object?>>(others);
            foreach (var tag in tags)
            {
                if (tag.Key != "topic")
                {
                    rest.Add(tag);
                }
            }

            label = string.Join('|', rest.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => Label(t.Value)));
        }

        return new SeriesKey(instrument, topic, label);
    }

    private static string? Label(object? value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)?.ToLowerInvariant(),
    };

    private enum Aggregation
    {
        Sum,
        LastValue,
    }

    /// <summary>Every series now (observable instruments are polled first).</summary>
    public MeasurementSnapshot Snapshot()
    {
        listener.RecordObservableInstruments();
        return new MeasurementSnapshot(time.GetUtcNow(), new Dictionary<SeriesKey, double>(values));
    }

    public void Dispose() => listener.Dispose();
}
