using Streams.Segmentation.Model;
using Xunit.Abstractions;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

/// <summary>
/// The acceptance figures of the segmentation issue on planted data: a seeded Gaussian mixture in the full feature space,
/// streamed in random order through mini-batches after an ML.NET k-means++ seed on the first sample.
/// </summary>
public sealed class PlantedMixtureTests(ITestOutputHelper output)
{
    private static readonly int D = FeatureSpace.Dimension;
    private const int SampleSize = 1000;
    private const int BatchSize = 100;

    // Group means ~ N(0, 1) per dimension: about 7.7 standard deviations apart, so an oracle that knows the means reaches an
    // ARI of 0.98–1.0; the groups differ in size (5–30 %) and spread (0.8–1.2).
    private const double MeanScale = 1.0;

    private const double Shift = 4.0;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Stream_EightPlantedGroups_RecoversThemAndMatchesBatchInertia(int seed)
    {
        const int k = 8;
        var rng = new Random(seed);
        var means = RandomMeans(rng, k, D, MeanScale);
        double[] weights = [0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05, 0.05];
        double[] spreads = [1, 0.8, 1.2, 0.9, 1.1, 1, 0.8, 1.2];
        var (points, groups) = Mixture(rng, means, weights, spreads, 12_000);

        var model = MiniBatchKMeans.FromSeed(KMeansSeeder.Seed(points[..SampleSize], k, seed: 1));
        var online = Stream(model, points[SampleSize..], BatchSize);

        var ari = AdjustedRandIndex(groups[SampleSize..], online);
        // The reference is ML.NET's batch k-means on all the data, best of as many runs as the seeder makes (one run alone
        // often ends a few per cent worse, in a local optimum).
        var batchInertia = Enumerable.Range(1, KMeansSeeder.DefaultRestarts)
            .Min(run => KMeansSeeder.Inertia(points, KMeansSeeder.Train(points, k, run)));
        var ratio = model.Inertia(points) / batchInertia;
        output.WriteLine($"seed {seed}: ARI of the online assignments {ari:F4}; online / ML.NET batch inertia {ratio:F4}");

        Assert.True(ari >= 0.9, $"ARI {ari}");
        Assert.InRange(ratio, 0.95, 1.05);
    }

    [Fact]
    public void Stream_GroupsMoveHalfwayThrough_TheDecayedModelFollows()
    {
        const int k = 6;
        const int half = 12_000;
        var rng = new Random(99);
        var before = RandomMeans(rng, k, D, MeanScale);
        // Every group's mean jumps by Shift standard deviations in a random direction: about half the distance between groups.
        var after = before.Select(m =>
        {
            var direction = RandomVector(rng, D);
            var norm = Math.Sqrt(direction.Sum(x => x * x));
            return m.Zip(direction, (x, u) => x + Shift * u / norm).ToArray();
        }).ToArray();
        double[] weights = [0.3, 0.2, 0.15, 0.15, 0.1, 0.1];
        double[] spreads = [.. Enumerable.Repeat(1.0, k)];
        var (first, firstGroups) = Mixture(rng, before, weights, spreads, half);
        var (second, secondGroups) = Mixture(rng, after, weights, spreads, half);
        var stream = first[SampleSize..].Concat(second).ToList();
        var seedCentroids = KMeansSeeder.Seed(first[..SampleSize], k, seed: 1);

        var decayed = MiniBatchKMeans.FromSeed(seedCentroids, halfLife: 2000);
        var decayedAssignments = Stream(decayed, stream, BatchSize);
        var undecayed = MiniBatchKMeans.FromSeed(seedCentroids);
        var undecayedAssignments = Stream(undecayed, stream, BatchSize);

        var ariFirst = AdjustedRandIndex(firstGroups[SampleSize..], decayedAssignments[..(half - SampleSize)]);
        var ariSecond = AdjustedRandIndex(secondGroups, decayedAssignments[(half - SampleSize)..]);
        var undecayedAriSecond = AdjustedRandIndex(secondGroups, undecayedAssignments[(half - SampleSize)..]);
        var decayedError = CentroidError(decayed, after);
        var undecayedError = CentroidError(undecayed, after);
        output.WriteLine($"ARI first half {ariFirst:F4}, second half {ariSecond:F4} (without decay {undecayedAriSecond:F4}); " +
            "mean distance of the final centroids " +
            $"to the moved means: decayed {decayedError:F3}, without decay {undecayedError:F3}");

        Assert.True(ariSecond >= 0.85, $"ARI {ariSecond}");
        Assert.InRange(decayedError, 0, 0.6);
        Assert.True(decayedError < undecayedError / 2, $"{decayedError} vs {undecayedError}");
    }

    private static double CentroidError(MiniBatchKMeans model, double[][] means)
    {
        var centroids = Enumerable.Range(0, model.K).Select(c => model.Centroid(c).ToArray()).ToList();
        var match = CentroidMatcher.Match(means, centroids);
        return Enumerable.Range(0, model.K).Average(c => Math.Sqrt(SquaredDistance(centroids[c], means[match[c]])));
    }
}
