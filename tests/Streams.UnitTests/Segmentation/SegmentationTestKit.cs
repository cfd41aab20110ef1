using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

/// <summary>Planted data, the adjusted Rand index and brute-force references for the segmentation maths.</summary>
internal static class SegmentationTestKit
{
    public static double Normal(Random rng)
    {
        // Box–Muller; 1 − u keeps the logarithm away from 0.
        var u1 = 1 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static double[] RandomVector(Random rng, int d, double scale = 1) =>
        [.. Enumerable.Range(0, d).Select(_ => scale * Normal(rng))];

    public static double[][] RandomMeans(Random rng, int k, int d, double scale) =>
        [.. Enumerable.Range(0, k).Select(_ => RandomVector(rng, d, scale))];

    /// <summary>n points of a Gaussian mixture (isotropic, group g with spread <paramref name="spreads"/>[g]), in random
    /// order, with the group each came from.</summary>
    public static (List<double[]> Points, List<int> Groups) Mixture(
        Random rng, double[][] means, double[] weights, double[] spreads, int n)
    {
        var total = weights.Sum();
        var points = new List<double[]>(n);
        var groups = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            var u = rng.NextDouble() * total;
            var g = 0;
            while (g < weights.Length - 1 && u >= weights[g])
            {
                u -= weights[g];
                g++;
            }

            points.Add([.. means[g].Select(m => m + spreads[g] * Normal(rng))]);
            groups.Add(g);
        }

        return (points, groups);
    }

    /// <summary>Hubert and Arabie's adjusted Rand index: 1 for identical partitions (up to relabelling), about 0 for
    /// independent ones.</summary>
    public static double AdjustedRandIndex(IReadOnlyList<int> a, IReadOnlyList<int> b) => ClusterAgreement.AdjustedRandIndex(a, b);

    public static double SquaredDistance(double[] a, double[] b) => a.Zip(b, (x, y) => (x - y) * (x - y)).Sum();

    public static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 0)
        {
            yield return [];
            yield break;
        }

        foreach (var rest in Permutations(n - 1))
        {
            for (var position = 0; position <= rest.Length; position++)
            {
                yield return [.. rest[..position], n - 1, .. rest[position..]];
            }
        }
    }

    public static MiniBatchKMeans Model(double[][] centroids, double[] counts, double? halfLife = null) =>
        new(new KMeansState(centroids.Length, centroids[0].Length, [.. centroids.SelectMany(c => c)], counts,
            [.. Enumerable.Range(0, centroids.Length)], centroids.Length, 1), halfLife);

    /// <summary>Streams the points after the seed sample through the model in mini-batches; returns each point's
    /// assignment as it arrived (the one that would be published).</summary>
    public static int[] Stream(MiniBatchKMeans model, IReadOnlyList<double[]> points, int batchSize)
    {
        var d = model.Dimension;
        var assignments = new int[points.Count];
        var flat = new double[batchSize * d];
        for (var start = 0; start < points.Count; start += batchSize)
        {
            var n = Math.Min(batchSize, points.Count - start);
            for (var i = 0; i < n; i++)
            {
                points[start + i].CopyTo(flat, i * d);
            }

            model.Update(flat.AsSpan(0, n * d), assignments.AsSpan(start, n));
        }

        return assignments;
    }
}
