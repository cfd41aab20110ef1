using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class SegmentDescriberTests
{
    private static double[] Centroid(params (string Feature, double Z)[] values)
    {
        var vector = new double[FeatureSpace.Dimension];
        foreach (var (feature, z) in values)
        {
            vector[FeatureSpace.IndexOf(feature)] = z;
        }

        return vector;
    }

    [Fact]
    public void TopFeatures_AreTheLargestAbsoluteZ()
    {
        var centroid = Centroid(("store_spend", 1.2), ("has_online", -1.9), ("call_count", 0.3), ("avg_basket", -0.8));

        Assert.Equal(
            [
                new DistinctiveFeature("has_online", -1.9),
                new DistinctiveFeature("store_spend", 1.2),
                new DistinctiveFeature("avg_basket", -0.8),
            ],
            SegmentDescriber.TopFeatures(centroid));
    }

    [Fact]
    public void Describe_NotableFeatures_MakeOneSentence() =>
        Assert.Equal(
            "A typical member rarely browses online; spends more in stores than most customers.",
            SegmentDescriber.Describe(Centroid(("store_spend", 1.2), ("has_online", -1.9), ("call_count", 0.3)), count: 3));

    [Fact]
    public void Describe_NothingNotable_SaysAverage() =>
        Assert.Equal(
            "A typical member is close to the average customer in every respect.",
            SegmentDescriber.Describe(Centroid(("store_spend", 0.2), ("has_online", -0.1))));

    [Fact]
    public void TopFeatures_WrongDimension_Throws() =>
        Assert.Throws<ArgumentException>(() => SegmentDescriber.TopFeatures(new double[3]));
}
