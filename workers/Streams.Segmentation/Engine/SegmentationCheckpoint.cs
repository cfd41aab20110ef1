using System.Text.Json.Serialization;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Engine;

/// <summary>Everything the model needs to continue exactly where it stopped.</summary>
public sealed class SegmentationCheckpoint
{
    /// <summary>The k-means state; null until the first seed.</summary>
    public KMeansState? Model { get; set; }

    /// <summary>The scaling of the model's space, fitted on the sample at the last seed and fixed until the next one, so
    /// a centroid and a member's contribution to it are always in the same units.</summary>
    public required RunningScalerState Scaler { get; set; }

    /// <summary>The sample of profiles with their current raw vectors (not standardized).</summary>
    public ProfileSampleState Profiles { get; set; } = new(0, []);

    public long MiniBatches { get; set; }

    /// <summary>Distinct profiles the sample had seen at the last seed (0: unknown, a checkpoint of an older release).</summary>
    public long SeededAt { get; set; }

    /// <summary>Changes of the sample's vectors so far: a profile entering, or one in it whose vector changed (a profile
    /// record again with the same features is not one).</summary>
    public long SampleUpdates { get; set; }

    /// <summary><see cref="SampleUpdates"/> at the last seed (0: unknown, a checkpoint of an older release).</summary>
    public long SampleUpdatesAtSeed { get; set; }

    /// <summary>Segment → size last published in the catalog, for the current model version.</summary>
    public Dictionary<int, long> CatalogSizes { get; set; } = [];

    /// <summary>
    /// While a re-seed's model is re-assigning everyone (a chunk at a time), the sum and number of its members' vectors per
    /// centroid; null otherwise. The last chunk makes each centroid the exact mean of its members.
    /// </summary>
    public SettlingState? Settling { get; set; }

    public static SegmentationCheckpoint Empty() => new()
    {
        Scaler = new RunningScaler(FeatureSpace.Dimension).ToState(),
    };
}

/// <summary>Per-centroid sums (row-major, <c>K × Dimension</c>) and counts of the members assigned since a re-seed.</summary>
public sealed record SettlingState(double[] Sums, double[] Counts)
{
    /// <summary>Nothing assigned yet, for a model of <paramref name="k"/> centroids in <paramref name="dimension"/> dimensions.</summary>
    public static SettlingState Empty(int k, int dimension) => new(new double[k * dimension], new double[k]);

    /// <summary>Point <paramref name="x"/> is a member of centroid <paramref name="index"/>.</summary>
    public void Add(int index, ReadOnlySpan<double> x)
    {
        Counts[index]++;
        var sums = Sums.AsSpan(index * x.Length, x.Length);
        for (var j = 0; j < x.Length; j++)
        {
            sums[j] += x[j];
        }
    }
}

/// <summary>NaN marks a missing feature in raw vectors, so it must survive the checkpoint.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(SegmentationCheckpoint))]
public sealed partial class SegmentationJsonContext : JsonSerializerContext;
