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
        var centroid = Centroid(("online_share", 1.2), ("social_share", -1.9), ("complaint_share", 0.3), ("avg_basket", -0.8));

        Assert.Equal(
            [
                new DistinctiveFeature("social_share", -1.9),
                new DistinctiveFeature("online_share", 1.2),
                new DistinctiveFeature("avg_basket", -0.8),
            ],
            SegmentDescriber.TopFeatures(centroid));
    }

    [Fact]
    public void Describe_NotableFeatures_MakeOneSentence() =>
        Assert.Equal(
            "A typical member is rarely active on social media; does most of their shopping online.",
            SegmentDescriber.Describe(Centroid(("online_share", 1.2), ("social_share", -1.9), ("complaint_share", 0.3)), count: 3));

    [Fact]
    public void Describe_NothingNotable_SaysAverage() =>
        Assert.Equal(
            "A typical member is close to the average customer in every respect.",
            SegmentDescriber.Describe(Centroid(("online_share", 0.2), ("social_share", -0.1))));

    [Fact]
    public void TopFeatures_WrongDimension_Throws() =>
        Assert.Throws<ArgumentException>(() => SegmentDescriber.TopFeatures(new double[3]));
}
