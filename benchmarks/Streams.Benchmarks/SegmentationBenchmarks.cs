using BenchmarkDotNet.Attributes;
using Streams.Segmentation.Model;

namespace Streams.Benchmarks;

/// <summary>
/// The segmentation hot paths for k = 8: assigning a standardized profile to its nearest centroid (with the runner-up,
/// as the worker does for explanations) and a mini-batch update (Sculley's rule, with decay). 24 dimensions is the
/// issue's yardstick; 30 is the feature space the worker actually uses. Results are per profile.
/// </summary>
[MemoryDiagnoser]
public class SegmentationBenchmarks
{
    private const int Points = 4096;
    private const int BatchSize = 512;
    private double[] points = [];
    private MiniBatchKMeans model = null!;
    private int[] assignments = [];

    [Params(24, 30)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(8);
        points = new double[Points * Dimension];
        for (var i = 0; i < points.Length; i++)
        {
            points[i] = (random.NextDouble() - 0.5) * 4 + (i / Dimension % 8);
        }

        var centroids = new double[8 * Dimension];
        for (var i = 0; i < centroids.Length; i++)
        {
            centroids[i] = random.NextDouble() * 8;
        }

        model = new MiniBatchKMeans(new KMeansState(8, Dimension, centroids, Enumerable.Repeat(100.0, 8).ToArray(), [.. Enumerable.Range(0, 8)], 8, 1),
            halfLife: 50_000);
        assignments = new int[BatchSize];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Points, Description = "nearest centroid")]
    public int Assign()
    {
        var sum = 0;
        for (var i = 0; i < Points; i++)
        {
            sum += model.Assign(points.AsSpan(i * Dimension, Dimension), out _);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Points, Description = "nearest + runner-up")]
    public int AssignWithRunnerUp()
    {
        var sum = 0;
        for (var i = 0; i < Points; i++)
        {
            sum += model.Assign(points.AsSpan(i * Dimension, Dimension), out _, out var runnerUp, out _) + runnerUp;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Points, Description = "mini-batch update (512 per batch)")]
    public void Update()
    {
        for (var start = 0; start < Points; start += BatchSize)
        {
            model.Update(points.AsSpan(start * Dimension, BatchSize * Dimension), assignments);
        }
    }
}
