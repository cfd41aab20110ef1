using System.Text.Json.Serialization;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Engine;

/// <summary>Everything the model needs to continue exactly where it stopped.</summary>
public sealed class SegmentationCheckpoint
{
    /// <summary>The k-means state; null until the first seed.</summary>
    public KMeansState? Model { get; set; }

    public required RunningScalerState Scaler { get; set; }

    /// <summary>Reservoir of raw vectors (not standardized: they are standardized with the scaler of the moment of use).</summary>
    public required ReservoirState<double[]> Sample { get; set; }

    /// <summary>Davies–Bouldin index right after the last seed: the bar for re-seeding.</summary>
    public double BaselineDbi { get; set; } = double.NaN;

    public long MiniBatches { get; set; }

    /// <summary>Segments described in the catalog for the current model version.</summary>
    public List<int> Catalogued { get; set; } = [];

    public static SegmentationCheckpoint Empty() => new()
    {
        Scaler = new RunningScaler(FeatureSpace.Dimension).ToState(),
        Sample = new ReservoirState<double[]>(0, []),
    };
}

/// <summary>NaN marks a missing feature in raw vectors, so it must survive the checkpoint.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(SegmentationCheckpoint))]
public sealed partial class SegmentationJsonContext : JsonSerializerContext;
