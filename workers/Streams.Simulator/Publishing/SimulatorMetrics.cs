using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Streams.Simulator.Publishing;

/// <summary>
/// Records the broker acknowledged, on the <c>Streams.Simulator</c> meter: <c>streams.simulator.records</c> tagged with
/// <c>topic</c> and <c>injected</c> (the reason code the record was made to carry, or <c>clean</c>). The console view
/// reads these names.
/// </summary>
public sealed class SimulatorMetrics
{
    public const string MeterName = "Streams.Simulator";
    public const string RecordsInstrument = "streams.simulator.records";
    public const string Clean = "clean";

    private readonly Counter<long> records;
    private readonly ConcurrentDictionary<(string Topic, string Injected), long> totals = new();

    public SimulatorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        records = meterFactory.Create(MeterName).CreateCounter<long>(RecordsInstrument, "{record}",
            "Simulated records written to the input topics, by topic and injected reason code (or clean).");
    }

    /// <summary>The <c>injected</c> tag of a record.</summary>
    public static string InjectedTag(SimulatedRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.IsClean ? Clean : record.InjectedCodes[0];
    }

    /// <summary>Records written so far, by topic and injected tag.</summary>
    public IReadOnlyDictionary<(string Topic, string Injected), long> Totals => totals;

    public void Record(string topic, string injected)
    {
        records.Add(1, new KeyValuePair<string, object?>("topic", topic), new KeyValuePair<string, object?>("injected", injected));
        totals.AddOrUpdate((topic, injected), 1, (_, n) => n + 1);
    }
}
