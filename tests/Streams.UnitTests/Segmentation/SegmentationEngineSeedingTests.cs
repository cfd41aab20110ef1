using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Segmentation;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

/// <summary>When the engine seeds: early traffic of look-alike profiles must make it wait, never throw.</summary>
public sealed class SegmentationEngineSeedingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void FewerDistinctProfilesThanSegments_WaitsForMoreInsteadOfFailing_ThenSeeds()
    {
        var engine = new SegmentationEngine(new SegmentationOptions { K = 4, SeedSize = 10 }, new TopicCatalog(new TopicsOptions()));
        var checkpoint = SegmentationCheckpoint.Empty();
        var rows = new Dictionary<string, MemberRow>();
        var sizes = new Dictionary<int, long>();

        // 40 profiles, only 3 distinct behaviours: ML.NET's k-means++ cannot place 4 centroids on them.
        var alike = Enumerable.Range(0, 40).Select(i => Update($"p{i}", i % 3)).ToList();
        var first = engine.Apply(checkpoint, rows, sizes, alike, Now);
        Assert.False(first.Reseeded);
        Assert.Null(checkpoint.Model);

        var varied = Enumerable.Range(40, 20).Select(i => Update($"p{i}", i)).ToList();
        var second = engine.Apply(checkpoint, rows, sizes, varied, Now);
        Assert.True(second.Reseeded);
        Assert.NotNull(checkpoint.Model);
        Assert.Equal(4, checkpoint.Model!.K);
    }

    [Fact]
    public void HasDistinctPoints_CountsPointsThatDifferInSinglePrecision()
    {
        double[][] points = [[1.0, 2.0], [1.0, 2.0], [1.0 + 1e-12, 2.0], [3.0, 4.0]];
        Assert.True(KMeansSeeder.HasDistinctPoints(points, 2));
        Assert.False(KMeansSeeder.HasDistinctPoints(points, 3));
        Assert.Throws<ArgumentException>(() => KMeansSeeder.Seed(points, 3, seed: 1));
    }

    private static ProfileUpdate Update(string id, int behaviour) => new(id, new Dictionary<string, double>
    {
        ["event_count"] = 20,
        ["events_per_week"] = behaviour * 3.0,
        ["avg_basket"] = behaviour % 5,
        ["max_followers"] = behaviour * behaviour % 7,
    }, PersonalizationAllowed: true);
}
