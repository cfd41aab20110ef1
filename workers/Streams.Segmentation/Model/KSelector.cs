namespace Streams.Segmentation.Model;

/// <summary>A k-means fit chosen among several k, with the criterion of each k tried.</summary>
/// <param name="K">The chosen k.</param>
/// <param name="Seed">Its centroids (ML.NET, best of the restarts, refined in double precision).</param>
/// <param name="Silhouettes">Mean silhouette per k tried, in order of k.</param>
public sealed record KSelection(int K, KMeansSeed Seed, IReadOnlyList<(int K, double Silhouette)> Silhouettes);

/// <summary>
/// Chooses k from the data: for every k in [minK, maxK] a batch k-means fit (<see cref="KMeansSeeder.Seed"/>) on the
/// sample, scored by the mean silhouette (Rousseeuw 1987) on an evenly spaced subsample of at most
/// <see cref="SilhouettePoints"/> points; the smallest k whose mean silhouette is within <see cref="Tolerance"/> of the
/// highest wins. The silhouette
/// of a point is (b − a) / max(a, b), a its mean distance to the rest of its own segment and b the smallest mean distance to
/// another segment: near 1 when segments are compact and apart, near 0 when a point sits between two. Unlike the
/// inertia it does not improve just because k grows, so it can say how many groups there are.
/// </summary>
public static class KSelector
{
    /// <summary>Most points the silhouette is computed on: O(n²) distances, about 2 million at this size.</summary>
    public const int SilhouettePoints = 1500;

    /// <summary>
    /// How much a larger k's mean silhouette must exceed a smaller one's to be chosen over it. On a few hundred profiles
    /// the silhouettes of neighbouring k lie within a few thousandths of each other when one of them splits a customer
    /// type in two (0.282 against 0.285 for 5 and 6 segments of 5 personas, while 4 scored 0.257): which wins then
    /// depends on the sample's moment, and a segment more is not evidence of a type more.
    /// </summary>
    public const double Tolerance = 0.01;

    /// <param name="trainPoints">
    /// Most points ML.NET trains on while k is being chosen (<see cref="KMeansSeeder.Seed"/>'s <c>trainPoints</c>); the
    /// chosen k is then fitted again on all of <paramref name="points"/>, so the seed is the one a fit at that k alone
    /// would give, and only the choice of k rests on the smaller fits.
    /// </param>
    public static KSelection Choose(IReadOnlyList<double[]> points, int minK, int maxK, int seed, int restarts = KMeansSeeder.DefaultRestarts,
        int trainPoints = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(minK, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxK, minK);
        var subsample = KMeansSeeder.EvenlySpaced(points, SilhouettePoints);
        var distances = Distances(subsample);
        var scores = new List<(int K, double Silhouette)>();
        var fits = new List<KMeansSeed>();
        for (var k = minK; k <= maxK && KMeansSeeder.HasDistinctPoints(points, k); k++)
        {
            var fit = KMeansSeeder.Seed(points, k, seed, restarts, trainPoints);
            var model = MiniBatchKMeans.FromSeed(fit);
            var labels = subsample.Select(p => model.Assign(p, out _)).ToArray();
            scores.Add((k, MeanSilhouette(distances, labels, k)));
            fits.Add(fit);
        }

        if (scores.Count == 0)
        {
            throw new ArgumentException($"The sample has fewer than {minK} distinct points.", nameof(points));
        }

        var chosen = Chosen(scores);
        var chosenK = scores[chosen].K;
        return new KSelection(chosenK, points.Count > trainPoints ? KMeansSeeder.Seed(points, chosenK, seed, restarts) : fits[chosen], scores);
    }

    /// <summary>
    /// The index of the smallest k whose silhouette is within <see cref="Tolerance"/> of the highest (k in increasing
    /// order). NaN (no point scored) never wins; when every k scores NaN the smallest is taken.
    /// </summary>
    internal static int Chosen(IReadOnlyList<(int K, double Silhouette)> scores)
    {
        var best = scores.Max(s => double.IsNaN(s.Silhouette) ? double.NegativeInfinity : s.Silhouette);
        for (var i = 0; i < scores.Count; i++)
        {
            if (scores[i].Silhouette >= best - Tolerance)
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>Mean silhouette of a labelling, from the pairwise distances (a point alone in its segment scores 0).</summary>
    internal static double MeanSilhouette(double[,] distances, IReadOnlyList<int> labels, int k)
    {
        var n = labels.Count;
        if (n == 0)
        {
            return double.NaN;
        }

        var sizes = new int[k];
        foreach (var label in labels)
        {
            sizes[label]++;
        }

        var total = 0.0;
        var sums = new double[k];
        for (var i = 0; i < n; i++)
        {
            Array.Clear(sums);
            for (var j = 0; j < n; j++)
            {
                sums[labels[j]] += distances[i, j];
            }

            var own = labels[i];
            if (sizes[own] <= 1)
            {
                continue;
            }

            var a = sums[own] / (sizes[own] - 1);
            var b = double.PositiveInfinity;
            for (var c = 0; c < k; c++)
            {
                if (c != own && sizes[c] > 0)
                {
                    b = Math.Min(b, sums[c] / sizes[c]);
                }
            }

            total += double.IsPositiveInfinity(b) ? 0 : (b - a) / Math.Max(Math.Max(a, b), double.Epsilon);
        }

        return total / n;
    }

    internal static double[,] Distances(IReadOnlyList<double[]> points)
    {
        var n = points.Count;
        var distances = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                distances[i, j] = distances[j, i] = Math.Sqrt(VectorMath.SquaredDistance(points[i], points[j]));
            }
        }

        return distances;
    }
}
