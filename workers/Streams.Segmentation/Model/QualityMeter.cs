using Microsoft.ML;
using Microsoft.ML.Data;

namespace Streams.Segmentation.Model;

/// <summary>Quality of a clustering on a sample.</summary>
/// <param name="DaviesBouldinIndex">Lower is better; 0 for perfectly compact, well separated segments.</param>
/// <param name="AverageDistance">Mean squared Euclidean distance from a point to its nearest centroid (inertia / n).</param>
/// <param name="Points">Sample size.</param>
public sealed record ClusterQuality(double DaviesBouldinIndex, double AverageDistance, int Points);

/// <summary>
/// Davies–Bouldin index and average distance of our centroids on a (reservoir) sample, computed by ML.NET's clustering
/// evaluator. The evaluator needs no ML.NET model: it reads a <c>Score</c> column (one value per cluster, the lowest
/// wins) next to the <c>Features</c>, so we write the squared distances to our own centroids there, exactly what ML.NET's
/// k-means scorer writes. As in ML.NET, the Davies–Bouldin index measures the partition: each cluster's centre is the mean
/// of the sample points assigned to it, its scatter their mean Euclidean distance to that centre, and the sum of the
/// per-cluster worst ratios is divided by k, empty clusters included.
/// </summary>
public static class QualityMeter
{
    internal const string ScoreColumn = "Score";

    /// <summary>Quality of <paramref name="model"/>'s centroids on <paramref name="points"/> (standardized).</summary>
    public static ClusterQuality Measure(IReadOnlyList<double[]> points, MiniBatchKMeans model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Measure(points, model.Centroids, model.K);
    }

    /// <summary>Quality of the row-major <paramref name="centroids"/> (k × d) on <paramref name="points"/>, via ML.NET.</summary>
    public static ClusterQuality Measure(IReadOnlyList<double[]> points, ReadOnlySpan<double> centroids, int k)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            return new ClusterQuality(double.NaN, double.NaN, 0);
        }

        var d = Dimension(points, centroids, k);
        var rows = new List<ScoredRow>(points.Count);
        foreach (var point in points)
        {
            var score = new float[k];
            for (var c = 0; c < k; c++)
            {
                score[c] = (float)VectorMath.SquaredDistance(point, centroids.Slice(c * d, d));
            }

            rows.Add(new ScoredRow { Features = KMeansSeeder.ToFloats(point, d), Score = score });
        }

        var ml = new MLContext(0);
        var schema = SchemaDefinition.Create(typeof(ScoredRow));
        schema[nameof(ScoredRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        schema[nameof(ScoredRow.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, k);
        var metrics = ml.Clustering.Evaluate(
            ml.Data.LoadFromEnumerable(rows, schema), scoreColumnName: ScoreColumn, featureColumnName: KMeansSeeder.FeaturesColumn);
        return new ClusterQuality(metrics.DaviesBouldinIndex, metrics.AverageDistance, points.Count);
    }

    /// <summary>The same figures in double precision without ML.NET; the tests hold the two against each other.</summary>
    internal static ClusterQuality Compute(IReadOnlyList<double[]> points, ReadOnlySpan<double> centroids, int k)
    {
        if (points.Count == 0)
        {
            return new ClusterQuality(double.NaN, double.NaN, 0);
        }

        var d = Dimension(points, centroids, k);
        var labels = new int[points.Count];
        var counts = new int[k];
        var means = new double[k * d];
        var sumMin = 0.0;
        for (var i = 0; i < points.Count; i++)
        {
            var best = 0;
            var bestSquared = double.PositiveInfinity;
            for (var c = 0; c < k; c++)
            {
                var squared = VectorMath.SquaredDistance(points[i], centroids.Slice(c * d, d));
                if (squared < bestSquared)
                {
                    best = c;
                    bestSquared = squared;
                }
            }

            labels[i] = best;
            counts[best]++;
            sumMin += bestSquared;
            for (var j = 0; j < d; j++)
            {
                means[best * d + j] += points[i][j];
            }
        }

        for (var c = 0; c < k; c++)
        {
            for (var j = 0; j < d && counts[c] > 0; j++)
            {
                means[c * d + j] /= counts[c];
            }
        }

        var scatter = new double[k];
        for (var i = 0; i < points.Count; i++)
        {
            scatter[labels[i]] += Math.Sqrt(VectorMath.SquaredDistance(points[i], means.AsSpan(labels[i] * d, d)));
        }

        var dbi = 0.0;
        for (var a = 0; a < k; a++)
        {
            if (counts[a] == 0)
            {
                continue;
            }

            var worst = 0.0;
            for (var b = 0; b < k; b++)
            {
                if (b == a || counts[b] == 0)
                {
                    continue;
                }

                var separation = Math.Sqrt(VectorMath.SquaredDistance(means.AsSpan(a * d, d), means.AsSpan(b * d, d)));
                worst = Math.Max(worst, (scatter[a] / counts[a] + scatter[b] / counts[b]) / separation);
            }

            dbi += worst;
        }

        return new ClusterQuality(dbi / k, sumMin / points.Count, points.Count);
    }

    private static int Dimension(IReadOnlyList<double[]> points, ReadOnlySpan<double> centroids, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var d = points[0].Length;
        if (centroids.Length != k * d || points.Any(p => p.Length != d))
        {
            throw new ArgumentException($"Points need {centroids.Length / k} dimensions, like the centroids.", nameof(points));
        }

        return d;
    }

    internal sealed class ScoredRow
    {
        public float[] Features { get; set; } = [];

        public float[] Score { get; set; } = [];
    }
}
