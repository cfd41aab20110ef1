using Streams.Dashboard.Figures;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Dashboard;

/// <summary>Figures as the sampler would assemble them, for the renderer and the report.</summary>
internal static class DashboardTestKit
{
    public static readonly DateTimeOffset Start = new(2026, 11, 29, 6, 0, 0, TimeSpan.Zero);

    public static MeasurementSnapshot Snapshot(double seconds, params (string Instrument, string? Topic, string? Label, double Value)[] series) =>
        new(Start.AddSeconds(seconds), series.ToDictionary(s => new SeriesKey(s.Instrument, s.Topic, s.Label), s => s.Value));

    /// <summary>A centroid that is <paramref name="z"/> on the named features and average elsewhere.</summary>
    public static double[] Centroid(params (string Feature, double Z)[] z)
    {
        var centroid = new double[FeatureSpace.Dimension];
        foreach (var (feature, value) in z)
        {
            centroid[FeatureSpace.IndexOf(feature)] = value;
        }

        return centroid;
    }

    /// <summary>A fitted scaler: every dimension has mean 1 and standard deviation 1 in raw (transformed) units.</summary>
    public static RunningScaler Scaler()
    {
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        scaler.Observe(Enumerable.Repeat(0.0, FeatureSpace.Dimension).ToArray());
        scaler.Observe(Enumerable.Repeat(2.0, FeatureSpace.Dimension).ToArray());
        return scaler;
    }

    /// <summary>A model of the given centroids (segment ids 10, 11, …) and the segments read from it.</summary>
    public static SegmentsFigures Segments(IReadOnlyList<double[]> centroids, IReadOnlyList<long> sizes, int minSegmentSize = 50)
    {
        var k = centroids.Count;
        var ids = Enumerable.Range(10, k).ToArray();
        var model = new KMeansState(k, FeatureSpace.Dimension, [.. centroids.SelectMany(c => c)], [.. sizes.Select(s => (double)s)], ids, 10 + k, 3);
        return SegmentReader.Figures(model, Scaler(), ids.Zip(sizes).ToDictionary(p => p.First, p => p.Second), minSegmentSize);
    }

    public static DashboardFigures Figures(SegmentsFigures? segments = null, IReadOnlyList<string>? statuses = null, string? logFile = "/var/streams/streams.log")
    {
        var previous = Snapshot(0,
            ("streams.ingest.records", "store", "accepted", 100),
            ("streams.ingest.records", "clickstream", "accepted", 40));
        var current = Snapshot(2,
            ("streams.ingest.records", "store", "accepted", 130),
            ("streams.ingest.records", "store", "flagged", 4),
            ("streams.ingest.records", "store", "quarantined", 6),
            ("streams.ingest.records", "clickstream", "accepted", 40),
            ("streams.ingest.reasons", "store", "total_mismatch", 4),
            ("streams.ingest.reasons", "store", "malformed_json", 6),
            ("streams.profiles.records", null, null, 170),
            ("streams.profiles.merges", null, null, 7),
            ("streams.profiles.identity_conflicts", null, null, 2),
            ("streams.segmentation.profiles", null, null, 150),
            ("streams.segmentation.reseeds", null, null, 1),
            ("streams.segmentation.model_version", null, null, 3));
        string[] inputs = ["clickstream", "store", "callcenter", "social", "consent"];
        return new DashboardFigures(
            current.At, TimeSpan.FromSeconds(3723), "127.0.0.1:9092", "127.0.0.1:5432/streams",
            FigureBuilder.Topics(previous, current, inputs),
            FigureBuilder.Reasons(current, "canonical"),
            FigureBuilder.Pipeline(current),
            [new LagFigures("ingest", "streams-ingest", 12, null), new LagFigures("profiles", "streams-profiles", null, "Local: Timed out")],
            segments ?? Segments([Centroid(("avg_basket", 1.5), ("max_followers", -0.8)), Centroid(("max_followers", 2.5))], [300, 120]),
            statuses ?? [],
            logFile);
    }
}
