using Streams.Dashboard.Figures;
using Streams.Segmentation.Model;
using static Streams.UnitTests.Dashboard.DashboardTestKit;

namespace Streams.UnitTests.Dashboard;

public sealed class SegmentReaderTests
{
    [Fact]
    public void Figures_SegmentsLargestFirst_DescribedAsTheCatalogDescribesThem()
    {
        var centroids = new[] { Centroid(("max_followers", 2.5)), Centroid(("avg_basket", 1.5), ("max_followers", -0.8)) };

        var segments = Segments(centroids, [120, 300]);

        Assert.Equal([11, 10], segments.Segments.Select(s => s.Id));
        Assert.Equal(3, segments.ModelVersion);
        var big = segments.Segments[0];
        Assert.Equal(SegmentDescriber.Describe(centroids[1]), big.Description);
        Assert.Equal(SegmentDescriber.TopFeatures(centroids[1]), big.TopFeatures);
        Assert.Equal(centroids[1], big.Centroid);
        Assert.Null(segments.Status);
    }

    [Fact]
    public void Figures_BelowThePrivacyFloor_NeitherDescribedNorProfiled()
    {
        var segments = Segments([Centroid(("max_followers", 2.5)), Centroid(("avg_basket", 1.5))], [49, 50], minSegmentSize: 50);

        var small = segments.Segments.Single(s => s.Id == 10);
        Assert.False(small.Described);
        Assert.Equal(("", 0, 0, 0), (small.Description, small.TopFeatures.Count, small.Centroid.Count, small.Typical.Count));
        Assert.True(segments.Segments.Single(s => s.Id == 11).Described);
    }

    [Fact]
    public void Figures_ASegmentWithNoMembers_HasSizeZero()
    {
        var segments = Segments([Centroid(("max_followers", 2.5)), Centroid(("avg_basket", 1.5))], [300, 0]);

        Assert.Equal(0, segments.Segments.Single(s => s.Id == 11).Size);
    }

    [Fact]
    public void Figures_ModelOfAnotherDimension_IsAStatusNotAnException()
    {
        var model = new KMeansState(1, 3, [0, 0, 0], [1], [0], 1, 1);

        var segments = SegmentReader.Figures(model, Scaler(), new Dictionary<int, long> { [0] = 5 }, 50);

        Assert.Empty(segments.Segments);
        Assert.Contains("3 dimensions", segments.Status, StringComparison.Ordinal);
    }
}
