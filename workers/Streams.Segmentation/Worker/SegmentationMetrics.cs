using System.Diagnostics.Metrics;

namespace Streams.Segmentation.Worker;

/// <summary>Segmentation counters on the <c>Streams.Segmentation</c> meter, with totals for the console view.</summary>
public sealed class SegmentationMetrics
{
    public const string MeterName = "Streams.Segmentation";

    private readonly Counter<long> profiles;
    private readonly Counter<long> reseeds;
    private readonly Counter<long> quarantined;
    private long totalProfiles;
    private long totalQuarantined;
    private long totalReseeds;
    private long modelVersion;

    public SegmentationMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        profiles = meter.CreateCounter<long>("streams.segmentation.profiles", "{profile}", "Profile updates committed.");
        reseeds = meter.CreateCounter<long>("streams.segmentation.reseeds", "{seed}", "Models seeded with ML.NET k-means++.");
        quarantined = meter.CreateCounter<long>("streams.segmentation.quarantined", "{record}",
            "Profile records that could not be used, sent to the profiles quarantine topic.");
        meter.CreateObservableGauge("streams.segmentation.model_version", () => Interlocked.Read(ref modelVersion), description: "Current model version.");
    }

    public long Profiles => Interlocked.Read(ref totalProfiles);

    /// <summary>Profile records quarantined (they count in <see cref="Profiles"/> too: they were consumed).</summary>
    public long Quarantined => Interlocked.Read(ref totalQuarantined);

    public long Reseeds => Interlocked.Read(ref totalReseeds);

    public long ModelVersion => Interlocked.Read(ref modelVersion);

    public void Record(int batch, bool reseeded, long version, int quarantinedRecords = 0)
    {
        quarantined.Add(quarantinedRecords);
        Interlocked.Add(ref totalQuarantined, quarantinedRecords);
        profiles.Add(batch);
        Interlocked.Add(ref totalProfiles, batch);
        if (reseeded)
        {
            reseeds.Add(1);
            Interlocked.Increment(ref totalReseeds);
        }

        Interlocked.Exchange(ref modelVersion, version);
    }
}
