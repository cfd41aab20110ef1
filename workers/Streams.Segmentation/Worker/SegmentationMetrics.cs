using System.Diagnostics.Metrics;

namespace Streams.Segmentation.Worker;

/// <summary>Segmentation counters on the <c>Streams.Segmentation</c> meter, with totals for the console view.</summary>
public sealed class SegmentationMetrics
{
    public const string MeterName = "Streams.Segmentation";

    private readonly Counter<long> profiles;
    private readonly Counter<long> reseeds;
    private long totalProfiles;
    private long totalReseeds;
    private long modelVersion;

    public SegmentationMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        profiles = meter.CreateCounter<long>("streams.segmentation.profiles", "{profile}", "Profile updates committed.");
        reseeds = meter.CreateCounter<long>("streams.segmentation.reseeds", "{seed}", "Models seeded with ML.NET k-means++.");
        meter.CreateObservableGauge("streams.segmentation.model_version", () => Interlocked.Read(ref modelVersion), description: "Current model version.");
    }

    public long Profiles => Interlocked.Read(ref totalProfiles);

    public long Reseeds => Interlocked.Read(ref totalReseeds);

    public long ModelVersion => Interlocked.Read(ref modelVersion);

    public void Record(int batch, bool reseeded, long version)
    {
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
