using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class CentroidMatcherTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 8)]
    [InlineData(4, 13)]
    [InlineData(5, 32)]
    public void Match_PermutedIdenticalCentroids_FindsThePermutation(int seed, int k)
    {
        var rng = new Random(seed);
        var old = RandomMeans(rng, k, 30, 1);
        var permutation = Enumerable.Range(0, k).OrderBy(_ => rng.Next()).ToArray();
        var fresh = permutation.Select(p => (double[])old[p].Clone()).ToList();

        Assert.Equal(permutation, CentroidMatcher.Match(old, fresh));
    }

    [Theory]
    [InlineData(1, 8, 0.05)]
    [InlineData(2, 8, 0.3)]
    [InlineData(3, 20, 0.2)]
    [InlineData(4, 32, 0.1)]
    public void Match_PermutedSlightlyPerturbedCentroids_FindsThePermutation(int seed, int k, double noise)
    {
        var rng = new Random(seed);
        var old = RandomMeans(rng, k, 30, 1);
        var permutation = Enumerable.Range(0, k).OrderBy(_ => rng.Next()).ToArray();
        var fresh = permutation.Select(p => old[p].Select(x => x + noise * Normal(rng)).ToArray()).ToList();

        Assert.Equal(permutation, CentroidMatcher.Match(old, fresh));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Hungarian_RandomCosts_IsAsGoodAsEveryPermutation(int seed)
    {
        var rng = new Random(seed);
        for (var trial = 0; trial < 40; trial++)
        {
            var n = rng.Next(1, 7);
            var cost = new double[n, n];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    cost[i, j] = trial % 2 == 0 ? rng.Next(0, 5) : rng.NextDouble() * 10;
                }
            }

            var assignment = CentroidMatcher.Hungarian(cost);

            Assert.Equal(Enumerable.Range(0, n), assignment.Order());
            var best = Permutations(n).Min(p => Enumerable.Range(0, n).Sum(i => cost[i, p[i]]));
            Assert.Equal(best, Enumerable.Range(0, n).Sum(i => cost[i, assignment[i]]), 9);
        }
    }

    [Fact]
    public void Match_GreedyWouldSteal_TakesTheMinimumTotal()
    {
        // Greedy gives new 0 the old 0 (distance 1) and leaves new 1 with old 1 (distance 9): total 10. The optimum is 2 + 2.
        double[][] old = [[0], [3]];
        double[][] fresh = [[1], [-2]];

        Assert.Equal([1, 0], CentroidMatcher.Match(old, fresh));
    }

    [Fact]
    public void Match_MoreNewThanOld_LeavesTheFarthestUnmatched()
    {
        double[][] old = [[0, 0], [10, 0]];
        double[][] fresh = [[10.2, 0], [50, 50], [0.1, 0]];

        Assert.Equal([1, -1, 0], CentroidMatcher.Match(old, fresh));
    }

    [Fact]
    public void Match_FewerNewThanOld_DropsTheOldOneLeftOver()
    {
        double[][] old = [[0, 0], [10, 0], [5, 5]];
        double[][] fresh = [[5.1, 5], [0, 0.2]];

        Assert.Equal([2, 0], CentroidMatcher.Match(old, fresh));
    }

    [Fact]
    public void Match_PartnerFartherThanTheLimit_IsUnmatched()
    {
        double[][] old = [[0, 0], [10, 0]];
        double[][] fresh = [[0.5, 0], [10, 6]];

        Assert.Equal([0, 1], CentroidMatcher.Match(old, fresh, maxDistance: 6));
        Assert.Equal([0, -1], CentroidMatcher.Match(old, fresh, maxDistance: 5.9));
    }

    [Fact]
    public void Match_NoOldCentroids_LeavesAllUnmatched() =>
        Assert.Equal([-1, -1], CentroidMatcher.Match([], [[1.0], [2.0]]));
}
