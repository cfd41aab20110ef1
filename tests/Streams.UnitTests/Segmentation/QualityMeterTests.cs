using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class QualityMeterTests
{
    [Fact]
    public void Measure_HandComputedExample_GivesTheDaviesBouldinIndexAndAverageDistance()
    {
        // Cluster {0, 2}: centre 1, scatter 1. Cluster {10, 14}: centre 12, scatter 2. DBI = ((1 + 2) / 11 + (2 + 1) / 11) / 2.
        List<double[]> points = [[0], [2], [10], [14]];
        double[] centroids = [1, 12];

        var viaMlNet = QualityMeter.Measure(points, centroids, 2);
        var exact = QualityMeter.Compute(points, centroids, 2);

        Assert.Equal(3.0 / 11, exact.DaviesBouldinIndex, 12);
        Assert.Equal((1 + 1 + 4 + 4) / 4.0, exact.AverageDistance, 12);
        Assert.Equal(3.0 / 11, viaMlNet.DaviesBouldinIndex, 6);
        Assert.Equal(2.5, viaMlNet.AverageDistance, 6);
        Assert.Equal(4, viaMlNet.Points);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Measure_OurCentroids_AgreesWithTheExactComputation(int seed)
    {
        var rng = new Random(seed);
        var means = RandomMeans(rng, 5, 12, 2);
        var (points, _) = Mixture(rng, means, [1, 2, 3, 1, 1], [1, 1, 0.5, 1.5, 1], 800);
        // Noisy centroids, plus one far away that gets no point: ML.NET still divides by k, so must we.
        var centroids = means.Select(m => m.Select(x => x + 0.3 * Normal(rng)).ToArray()).Append(RandomVector(rng, 12, 100))
            .SelectMany(c => c).ToArray();

        var viaMlNet = QualityMeter.Measure(points, centroids, 6);
        var exact = QualityMeter.Compute(points, centroids, 6);

        Assert.Equal(exact.DaviesBouldinIndex, viaMlNet.DaviesBouldinIndex, exact.DaviesBouldinIndex * 1e-4);
        Assert.Equal(exact.AverageDistance, viaMlNet.AverageDistance, exact.AverageDistance * 1e-4);
    }

    [Fact]
    public void Measure_CentroidsOfAnMlNetModel_GivesWhatMlNetGivesForThatModel()
    {
        var rng = new Random(4);
        const int d = 10;
        var (points, _) = Mixture(rng, RandomMeans(rng, 4, d, 2), [1, 1, 1, 1], [1, 1, 1, 1], 1000);
        var ml = new MLContext(1);
        var data = KMeansSeeder.LoadVectors(ml, points, d);
        var trained = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = KMeansSeeder.FeaturesColumn,
            NumberOfClusters = 4,
            NumberOfThreads = 1,
        }).Fit(data);
        var reference = ml.Clustering.Evaluate(trained.Transform(data), featureColumnName: KMeansSeeder.FeaturesColumn);
        VBuffer<float>[] centroids = [];
        trained.Model.GetClusterCentroids(ref centroids, out var k);

        var ours = QualityMeter.Measure(points, [.. centroids.SelectMany(c => c.DenseValues()).Select(v => (double)v)], k);

        Assert.Equal(reference.DaviesBouldinIndex, ours.DaviesBouldinIndex, reference.DaviesBouldinIndex * 1e-4);
        Assert.Equal(reference.AverageDistance, ours.AverageDistance, reference.AverageDistance * 1e-4);
    }

    [Fact]
    public void Measure_NoPoints_IsNaN()
    {
        var quality = QualityMeter.Measure([], [0.0, 1.0], 2);

        Assert.True(double.IsNaN(quality.DaviesBouldinIndex));
        Assert.Equal(0, quality.Points);
    }
}
