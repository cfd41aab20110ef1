using Streams.Segmentation.Model;
using Xunit.Abstractions;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class TmpProbeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    public void Probe(int seed)
    {
        const int k = 8;
        var D = FeatureSpace.Dimension;
        var rng = new Random(seed);
        var means = RandomMeans(rng, k, D, 1.0);
        double[] weights = [0.25, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05, 0.05];
        double[] spreads = [1, 0.8, 1.2, 0.9, 1.1, 1, 0.8, 1.2];
        var (points, groups) = Mixture(rng, means, weights, spreads, 16_000);
        var sample = points[..1000];
        for (var rep = 0; rep < 3; rep++)
        {
            var s = KMeansSeeder.Seed(sample, k, 1, 10);
            var m = Model([.. s.Centroids], new double[k]);
            output.WriteLine($"seed {seed} rep {rep}: sample inertia {KMeansSeeder.Inertia(sample, s.Centroids):F3} ARI {AdjustedRandIndex(groups, points.Select(p => m.Assign(p, out _)).ToList()):F4}");
        }
        for (var rep = 0; rep < 3; rep++)
        {
            var c = KMeansSeeder.Train(sample, k, 3);
            output.WriteLine($"seed {seed} train r3 rep {rep}: {KMeansSeeder.Inertia(sample, c):F3}");
        }
    }
}
