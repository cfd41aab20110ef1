using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Streams.Segmentation.Model;

/// <summary>A seed for <see cref="MiniBatchKMeans.FromSeed"/>: k centroids and how many sample points each stands for.</summary>
public sealed record KMeansSeed(IReadOnlyList<double[]> Centroids, IReadOnlyList<double> Counts);

/// <summary>
/// The first centroids (and every re-seed) come from ML.NET's batch k-means with k-means++ initialization on a sample of
/// standardized profiles. ML.NET runs single-threaded from <c>MLContext(seed)</c>, so the same sample and seed give the same
/// centroids.
/// </summary>
public static class KMeansSeeder
{
    /// <summary>ML.NET runs per seed (seeds seed, seed + 1, …); the one with the lowest inertia on the sample wins.</summary>
    public const int DefaultRestarts = 10;

    internal const string FeaturesColumn = "Features";

    /// <summary>
    /// Trains ML.NET k-means on <paramref name="sample"/> (<paramref name="restarts"/> runs, the best kept) and returns its
    /// centroids with their sample counts. ML.NET trains in single precision; one final assignment step in double precision
    /// replaces each centroid by the exact mean of its sample points and counts them, so that from then on
    /// <see cref="MiniBatchKMeans"/>'s η = 1 / count keeps every centroid the exact mean of the points it stands for.
    /// </summary>
    /// <param name="trainPoints">
    /// Most points ML.NET trains on: a larger sample is trained on an evenly spaced subsample of this many (see
    /// <see cref="EvenlySpaced"/>), while the final assignment step and the choice of the best run still use every point
    /// of <paramref name="sample"/>. The training's cost grows with the points; the centroids' error shrinks with them only
    /// as 1 / points per segment, which at a thousand or more points is far below the inertia differences anything here
    /// decides on.
    /// </param>
    public static KMeansSeed Seed(IReadOnlyList<double[]> sample, int k, int seed, int restarts = DefaultRestarts,
        int trainPoints = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(restarts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trainPoints);
        if (!HasDistinctPoints(sample, k))
        {
            throw new ArgumentException($"A sample of {sample.Count} points with fewer than {k} distinct ones cannot seed {k} centroids.", nameof(sample));
        }

        // A subsample may hold fewer distinct points than the sample: then ML.NET trains on the whole sample.
        var training = EvenlySpaced(sample, trainPoints);
        if (training.Count < sample.Count && !HasDistinctPoints(training, k))
        {
            training = sample;
        }

        // ML.NET's k-means++ is plain D² sampling (no greedy candidate trials). In 30 dimensions the within-group noise
        // dominates the squared distances, so a run often puts two seeds in one group and none in a small one, and Lloyd's
        // iterations cannot repair that: on our planted 8-group mixtures most single runs missed a group. Keeping the best of
        // several runs (scikit-learn's n_init) fixes most of it and costs little on a sample.
        KMeansSeed? best = null;
        var bestInertia = double.PositiveInfinity;
        // The training vectors in single precision once for every run, not once per run.
        var rows = Rows(training, training[0].Length);
        for (var run = 0; run < restarts; run++)
        {
            var candidate = Refine(sample, Train(rows, k, seed + run));
            var inertia = Inertia(sample, candidate.Centroids);
            if (inertia < bestInertia)
            {
                best = candidate;
                bestInertia = inertia;
            }
        }

        return best!;
    }

    /// <summary>
    /// Whether <paramref name="sample"/> holds at least <paramref name="k"/> points that differ in single precision, the
    /// precision ML.NET trains in: with fewer (early traffic of look-alike profiles) it cannot place k centroids and throws.
    /// </summary>
    public static bool HasDistinctPoints(IReadOnlyList<double[]> sample, int k)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var seen = new HashSet<float[]>(SinglePrecisionComparer.Instance);
        foreach (var point in sample)
        {
            if (seen.Add(Array.ConvertAll(point, v => (float)v)) && seen.Count >= k)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// At most <paramref name="most"/> of <paramref name="points"/>, evenly spaced (all of them when there are no more): the
    /// sample is already in random order, and this keeps the choice deterministic.
    /// </summary>
    internal static IReadOnlyList<double[]> EvenlySpaced(IReadOnlyList<double[]> points, int most) =>
        points.Count <= most ? points : [.. Enumerable.Range(0, most).Select(i => points[(int)((long)i * points.Count / most)])];

    /// <summary>Σ squared distance to the nearest centroid.</summary>
    internal static double Inertia(IReadOnlyList<double[]> points, IReadOnlyList<double[]> centroids) =>
        new MiniBatchKMeans(new KMeansState(centroids.Count, centroids[0].Length, [.. centroids.SelectMany(c => c)],
            new double[centroids.Count], [.. Enumerable.Range(0, centroids.Count)], centroids.Count, 0)).Inertia(points);

    /// <summary>ML.NET's k-means (k-means++ initialization) as it is, in single precision.</summary>
    internal static double[][] Train(IReadOnlyList<double[]> sample, int k, int seed) => Train(Rows(sample, sample[0].Length), k, seed);

    private static double[][] Train(List<VectorRow> rows, int k, int seed)
    {
        var d = rows[0].Features.Length;

        // Every ML.NET component draws its random seed from the context in the order it is created: keep this order, or
        // the same seed gives other centroids than the checkpointed model was built from.
        var ml = new MLContext(seed);
        var data = LoadRows(ml, rows, d);
        var trainer = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = FeaturesColumn,
            NumberOfClusters = k,
            InitializationAlgorithm = KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
            NumberOfThreads = 1,
        });
        var model = trainer.Fit(data);
        VBuffer<float>[] trained = [];
        model.Model.GetClusterCentroids(ref trained, out var trainedK);

        var centroids = new double[trainedK][];
        for (var c = 0; c < trainedK; c++)
        {
            centroids[c] = new double[d];
            var values = trained[c].DenseValues().ToArray();
            for (var j = 0; j < d; j++)
            {
                centroids[c][j] = values[j];
            }
        }

        return centroids;
    }

    /// <summary>One Lloyd step in double precision: assign the sample, then centroid = mean of its points (kept if none).</summary>
    internal static KMeansSeed Refine(IReadOnlyList<double[]> sample, double[][] centroids)
    {
        var k = centroids.Length;
        var d = centroids[0].Length;
        var model = new MiniBatchKMeans(new KMeansState(k, d, [.. centroids.SelectMany(c => c)], new double[k],
            [.. Enumerable.Range(0, k)], k, 0));
        var sums = new double[k, d];
        var counts = new double[k];
        foreach (var point in sample)
        {
            var c = model.Assign(point, out _);
            counts[c]++;
            for (var j = 0; j < d; j++)
            {
                sums[c, j] += point[j];
            }
        }

        var refined = new double[k][];
        for (var c = 0; c < k; c++)
        {
            refined[c] = counts[c] == 0 ? (double[])centroids[c].Clone() : [.. Enumerable.Range(0, d).Select(j => sums[c, j] / counts[c])];
        }

        return new KMeansSeed(refined, counts);
    }

    /// <summary>A data view with one fixed-size float vector column, <see cref="FeaturesColumn"/>.</summary>
    internal static IDataView LoadVectors(MLContext ml, IReadOnlyList<double[]> points, int d) => LoadRows(ml, Rows(points, d), d);

    private static List<VectorRow> Rows(IReadOnlyList<double[]> points, int d) => [.. points.Select(p => new VectorRow { Features = ToFloats(p, d) })];

    // ML.NET only reads the rows, so one list may back the data views of several runs.
    private static IDataView LoadRows(MLContext ml, List<VectorRow> rows, int d)
    {
        var schema = SchemaDefinition.Create(typeof(VectorRow));
        schema[nameof(VectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    internal static float[] ToFloats(double[] point, int d)
    {
        if (point.Length != d)
        {
            throw new ArgumentException($"Every point needs {d} dimensions.", nameof(point));
        }

        var floats = new float[d];
        for (var j = 0; j < d; j++)
        {
            floats[j] = (float)point[j];
        }

        return floats;
    }

    internal sealed class VectorRow
    {
        public float[] Features { get; set; } = [];
    }
}

/// <summary>Equality of vectors element by element, as ML.NET sees them.</summary>
internal sealed class SinglePrecisionComparer : IEqualityComparer<float[]>
{
    public static SinglePrecisionComparer Instance { get; } = new();

    public bool Equals(float[]? x, float[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(float[] obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var hash = new HashCode();
        foreach (var v in obj)
        {
            hash.Add(v);
        }

        return hash.ToHashCode();
    }
}
