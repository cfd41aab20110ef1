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

    /// <summary>Segment → size last published in the catalog, for the current model version.</summary>
    public Dictionary<int, long> CatalogSizes { get; set; } = [];

    public static SegmentationCheckpoint Empty() => new()
    {
        Scaler = new RunningScaler(FeatureSpace.Dimension).ToState(),
    };
}

/// <summary>NaN marks a missing feature in raw vectors, so it must survive the checkpoint.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(SegmentationCheckpoint))]
public sealed partial class SegmentationJsonContext : JsonSerializerContext;
