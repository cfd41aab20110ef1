using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class KMeansSeederTests
{
    private static (List<double[]> Points, List<int> Groups, double[][] Means) Planted(int seed, int k, int d, int n)
    {
        var rng = new Random(seed);
        var means = RandomMeans(rng, k, d, 4);
        var (points, groups) = Mixture(rng, means, [.. Enumerable.Repeat(1.0, k)], [.. Enumerable.Repeat(0.5, k)], n);
        return (points, groups, means);
    }

    [Fact]
    public void Seed_WellSeparatedGroups_PutsOneCentroidOnEachGroupMean()
    {
        var (points, _, means) = Planted(1, k: 4, d: 6, n: 400);

        var seed = KMeansSeeder.Seed(points, 4, seed: 1, restarts: 2);

        var match = CentroidMatcher.Match(means, seed.Centroids);
        Assert.Equal(Enumerable.Range(0, 4), match.Order());
        for (var c = 0; c < 4; c++)
        {
            Assert.InRange(Math.Sqrt(SquaredDistance(seed.Centroids[c], means[match[c]])), 0, 0.3);
        }

        Assert.Equal(400, seed.Counts.Sum());
    }

    [Fact]
    public void Seed_CentroidsAreTheExactMeansOfTheirSamplePoints()
    {
        var (points, _, _) = Planted(2, k: 3, d: 5, n: 300);

        var seed = KMeansSeeder.Seed(points, 3, seed: 4, restarts: 2);

        AssertExactMeans(points, seed);
    }

    // Each centroid is the mean of the points nearest to it, and its count is how many they are.
    private static void AssertExactMeans(List<double[]> points, KMeansSeed seed)
    {
        var model = Model([.. seed.Centroids], new double[seed.Centroids.Count]);
        for (var c = 0; c < seed.Centroids.Count; c++)
        {
            var members = points.Where(p => model.Assign(p, out _) == c).ToList();
            Assert.Equal(members.Count, seed.Counts[c]);
            for (var j = 0; j < points[0].Length; j++)
            {
                Assert.Equal(members.Average(p => p[j]), seed.Centroids[c][j], 12);
            }
        }
    }

    [Fact]
    public void Seed_TrainedOnASubsample_CentroidsAreTheExactMeansOfTheWholeSample()
    {
        var (points, _, means) = Planted(5, k: 4, d: 6, n: 1200);

        var seed = KMeansSeeder.Seed(points, 4, seed: 3, restarts: 2, trainPoints: 300);

        // The final assignment step runs on every point, not only on the 300 ML.NET trained on.
        Assert.Equal(1200, seed.Counts.Sum());
        AssertExactMeans(points, seed);
        Assert.Equal(Enumerable.Range(0, 4), CentroidMatcher.Match(means, seed.Centroids).Order());
    }

    [Fact]
    public void Seed_SameSampleAndSeed_SameCentroids()
    {
        var (points, _, _) = Planted(3, k: 5, d: 8, n: 500);

        var first = KMeansSeeder.Seed(points, 5, seed: 9, restarts: 2);
        var second = KMeansSeeder.Seed(points, 5, seed: 9, restarts: 2);

        Assert.Equal(first.Centroids, second.Centroids);
        Assert.Equal(first.Counts, second.Counts);
    }

    [Fact]
    public void Seed_SampleSmallerThanK_Throws() =>
        Assert.Throws<ArgumentException>(() => KMeansSeeder.Seed([[0.0], [1.0]], 3, seed: 1));
}
