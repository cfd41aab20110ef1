using Streams.Quality.Alerts;
using Streams.Quality.Worker;

namespace Streams.Quality.Figures;

/// <summary>
/// What the stewards' console reads of this worker: the figures of a topic's windows (from the state store) and the
/// alerts in force. Registered by <see cref="QualityExtensions.AddQuality"/>; absent when the host does not run it.
/// </summary>
public interface IQualityReader
{
    /// <summary>The topic's windows that start in [<paramref name="from"/>, <paramref name="to"/>], oldest first.</summary>
    IReadOnlyList<QualityMinute> Windows(string topic, DateTimeOffset from, DateTimeOffset to);

    /// <summary>The alerts in force now.</summary>
    IReadOnlyList<QualityAlert> ActiveAlerts { get; }
}

internal sealed class QualityReader(QualityWorker worker, QualityAlertService alerts) : IQualityReader
{
    public IReadOnlyList<QualityMinute> Windows(string topic, DateTimeOffset from, DateTimeOffset to) => worker.Query(topic, from, to);

    public IReadOnlyList<QualityAlert> ActiveAlerts => alerts.Active;
}
