using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class KSelectorTests
{
    [Theory]
    [InlineData(3, 1)]
    [InlineData(5, 2)]
    [InlineData(7, 3)]
    public void Choose_PlantedGroups_FindsTheirNumber(int groups, int seed)
    {
        var rng = new Random(seed);
        var means = RandomMeans(rng, groups, 12, 3);
        var (points, truth) = Mixture(rng, means, [.. Enumerable.Repeat(1.0, groups)], [.. Enumerable.Repeat(1.0, groups)], 2000);

        var selection = KSelector.Choose(points, 2, 10, seed, restarts: 3);

        Assert.Equal(groups, selection.K);
        Assert.Equal(9, selection.Silhouettes.Count);
        var model = MiniBatchKMeans.FromSeed(selection.Seed);
        Assert.True(AdjustedRandIndex(truth, [.. points.Select(p => model.Assign(p, out _))]) > 0.95);
    }

    [Fact]
    public void Choose_KChosenWithSmallerFits_SeedIsTheWholeSamplesFitAtThatK()
    {
        var rng = new Random(6);
        var means = RandomMeans(rng, 5, 12, 3);
        var (points, _) = Mixture(rng, means, [.. Enumerable.Repeat(1.0, 5)], [.. Enumerable.Repeat(1.0, 5)], 2000);

        var selection = KSelector.Choose(points, 2, 8, seed: 6, restarts: 3, trainPoints: 400);

        Assert.Equal(5, selection.K);
        var whole = KMeansSeeder.Seed(points, 5, seed: 6, restarts: 3);
        Assert.Equal(whole.Centroids, selection.Seed.Centroids);
        Assert.Equal(whole.Counts, selection.Seed.Counts);
    }

    [Fact]
    public void Chosen_ALargerKMustBeatTheSmallerByMoreThanTheTolerance()
    {
        // The silhouettes of a run that chose 6 segments for 5 personas: 6 is 0.003 above 5, so 5 is taken.
        Assert.Equal(2, KSelector.Chosen([(3, 0.227), (4, 0.257), (5, 0.282), (6, 0.285), (7, 0.273)]));
        // A clear step up still wins, and the highest wins when nothing smaller is near it.
        Assert.Equal(3, KSelector.Chosen([(3, 0.227), (4, 0.257), (5, 0.282), (6, 0.295), (7, 0.273)]));
        Assert.Equal(0, KSelector.Chosen([(3, 0.5), (4, 0.3)]));
        // Exact ties go to the smaller k; NaN never wins.
        Assert.Equal(0, KSelector.Chosen([(2, 0.4), (3, 0.4)]));
        Assert.Equal(1, KSelector.Chosen([(2, double.NaN), (3, 0.1), (4, 0.105)]));
        Assert.Equal(0, KSelector.Chosen([(2, double.NaN), (3, double.NaN)]));
    }

    [Fact]
    public void MeanSilhouette_TwoTightPairsFarApart_IsNearOne_AndWrongLabelsAreNegative()
    {
        double[][] points = [[0, 0], [0, 1], [100, 0], [100, 1]];
        var distances = KSelector.Distances(points);

        // a = 1, b ≈ 100: s = 1 − 1/100 for each point.
        Assert.Equal(0.99, KSelector.MeanSilhouette(distances, [0, 0, 1, 1], 2), 3);
        Assert.True(KSelector.MeanSilhouette(distances, [0, 1, 0, 1], 2) < 0);
    }

    [Fact]
    public void Choose_FewerDistinctPointsThanMinK_Throws() =>
        Assert.Throws<ArgumentException>(() => KSelector.Choose([[1.0], [1.0], [1.0]], 2, 4, 1));
}
