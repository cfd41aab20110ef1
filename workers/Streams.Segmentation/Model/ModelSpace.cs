namespace Streams.Segmentation.Model;

/// <summary>
/// The space the centroids live in: each dimension of <see cref="FeatureSpace"/> standardized with the mean and standard
/// deviation of the profile sample at the last seed (each profile counted once, its current vector), then clipped to
/// ±<see cref="ClipZ"/> so one extreme customer cannot pull a centroid far off. A missing value is the sample mean (0).
/// The scaling stays fixed until the next seed, so a member's contribution to a centroid and the centroid itself are
/// always in the same units. The axes stay the features themselves (no rotation), so explanations and descriptions are
/// in the customer's own feature terms.
/// </summary>
public sealed class ModelSpace
{
    /// <summary>Standardized values are clipped to this many standard deviations.</summary>
    public const double ClipZ = 4;

    public ModelSpace(RunningScalerState scaler) => Scaler = new RunningScaler(scaler);

    private ModelSpace(RunningScaler scaler) => Scaler = scaler;

    public RunningScaler Scaler { get; }

    /// <summary>A space fitted on raw vectors (NaN for missing values).</summary>
    public static ModelSpace Fit(IEnumerable<double[]> raws)
    {
        ArgumentNullException.ThrowIfNull(raws);
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        foreach (var raw in raws)
        {
            scaler.Observe(raw);
        }

        return new ModelSpace(scaler);
    }

    /// <summary>A raw vector in the model's space.</summary>
    public double[] Vector(double[] raw)
    {
        var x = new double[Scaler.Dimension];
        Scaler.Standardize(raw, x);
        for (var j = 0; j < x.Length; j++)
        {
            x[j] = Math.Clamp(x[j], -ClipZ, ClipZ);
        }

        return x;
    }

    /// <summary><paramref name="model"/>, whose centroids are in this space, with its centroids moved into
    /// <paramref name="target"/> (same ids, counts and version), so a re-seed in a refitted space can be matched to it.</summary>
    public MiniBatchKMeans MapInto(MiniBatchKMeans model, ModelSpace target)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        var d = model.Dimension;
        var centroids = new double[model.K * d];
        var raw = new double[d];
        var mapped = new double[d];
        for (var c = 0; c < model.K; c++)
        {
            Scaler.Unstandardize(model.Centroid(c), raw);
            target.Scaler.Standardize(raw, mapped);
            mapped.CopyTo(centroids, c * d);
        }

        return new MiniBatchKMeans(model.ToState() with { Centroids = centroids });
    }
}
