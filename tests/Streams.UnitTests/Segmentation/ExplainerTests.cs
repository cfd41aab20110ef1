using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class ExplainerTests
{
    private static readonly int D = FeatureSpace.Dimension;

    private static double[] Vector(params (string Feature, double Z)[] values)
    {
        var vector = new double[D];
        foreach (var (feature, z) in values)
        {
            vector[FeatureSpace.IndexOf(feature)] = z;
        }

        return vector;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Explain_RandomProfiles_SignsAndRankingAgreeWithTheDistances(int seed)
    {
        var rng = new Random(seed);
        for (var trial = 0; trial < 50; trial++)
        {
            var k = rng.Next(2, 13);
            var model = Model(RandomMeans(rng, k, D, 1), new double[k]);
            var x = RandomVector(rng, D, 1.3);
            var a = model.Assign(x, out var toA, out var b, out var toB);
            var contributions = new double[D];

            Explainer.Contributions(x, model.Centroid(a), model.Centroid(b), contributions);
            var explanation = Explainer.Explain(x, model.Centroid(a), model.Centroid(b));

            // The per-feature terms add up to d(x,b)² − d(x,a)² ≥ 0 …
            Assert.Equal(toB * toB - toA * toA, contributions.Sum(), 1e-9);
            // … each is (x_j − b_j)² − (x_j − a_j)², positive where x is nearer the chosen centroid on that feature …
            for (var j = 0; j < D; j++)
            {
                var nearerA = Math.Abs(x[j] - model.Centroid(a)[j]) < Math.Abs(x[j] - model.Centroid(b)[j]);
                Assert.Equal(nearerA, contributions[j] > 0);
            }

            // … and the explanation lists the largest positive ones, largest first, with the profile's and segment's z.
            var expected = contributions.Select((c, j) => (c, j)).Where(p => p.c > 0).OrderByDescending(p => p.c).Take(3).ToList();
            Assert.InRange(explanation.Count, 1, 3);
            Assert.Equal(expected.Select(p => FeatureSpace.Names[p.j]), explanation.Select(e => e.Feature));
            Assert.All(explanation.Zip(expected), p =>
            {
                Assert.Equal(p.Second.c, p.First.Contribution);
                Assert.Equal(x[p.Second.j], p.First.ProfileZ);
                Assert.Equal(model.Centroid(a)[p.Second.j], p.First.SegmentZ);
            });
        }
    }

    [Fact]
    public void Explain_FewFeaturesFavourTheSegment_ListsOnlyThose()
    {
        var x = Vector(("online_share", 2), ("discounted_share", 1));
        var a = Vector(("online_share", 2), ("discounted_share", 1), ("complaint_share", 0.5));
        var b = Vector(("online_share", -1));

        var explanation = Explainer.Explain(x, a, b);

        // online_share: 9 − 0; discounted_share: 1 − 0; complaint_share: 0 − 0.25 favours b and is left out.
        Assert.Equal(
            [new FeatureContribution("online_share", 2, 2, 9), new FeatureContribution("discounted_share", 1, 1, 1)],
            explanation);
    }

    [Fact]
    public void Explain_MissingFeature_IsNotListedButStillCounts()
    {
        var x = Vector(("avg_call_sentiment", 0), ("call_share", -1.5), ("online_share", 0.5));
        var a = Vector(("avg_call_sentiment", 0), ("call_share", -1.4), ("online_share", 0.5));
        var b = Vector(("avg_call_sentiment", 3), ("call_share", 0.6));
        var raw = new double[D];
        raw[FeatureSpace.IndexOf("avg_call_sentiment")] = double.NaN;

        var explanation = Explainer.Explain(x, a, b, raw);

        Assert.Equal(["call_share", "online_share"], explanation.Select(e => e.Feature));
    }

    [Fact]
    public void Explain_Tie_StillListsOneFeature()
    {
        var x = Vector(("events_per_week", 1));
        var centroid = Vector(("events_per_week", 2));

        var explanation = Explainer.Explain(x, centroid, centroid);

        Assert.Equal([new FeatureContribution("events_per_week", 1, 2, 0)], explanation);
    }

    [Fact]
    public void Explain_MaxFeatures_IsHonoured()
    {
        var x = Vector(("events_per_week", 1), ("purchase_rate", 1), ("complaint_share", 1));
        var b = Vector(("events_per_week", -1), ("purchase_rate", -1), ("complaint_share", -1));

        Assert.Single(Explainer.Explain(x, x, b, maxFeatures: 1));
        Assert.Equal(3, Explainer.Explain(x, x, b).Count);
    }

    [Fact]
    public void Summary_HighStoreSpendAndNoOnline_ReadsLikeASentence()
    {
        var explanation = new[]
        {
            new FeatureContribution("online_share", 1.8, 1.5, 4.2),
            new FeatureContribution("social_share", -1.2, -1.1, 2.0),
        };

        Assert.Equal("Does most of their shopping online; is rarely active on social media.", Explainer.Summary(explanation));
    }

    [Theory]
    [InlineData(0.5, "Does most of their shopping online.")]
    [InlineData(0.49, "Has typical online share of spend.")]
    [InlineData(-0.49, "Has typical online share of spend.")]
    [InlineData(-0.5, "Does most of their shopping in stores.")]
    public void Summary_ThresholdsAtHalfAStandardDeviation(double z, string expected) =>
        Assert.Equal(expected, Explainer.Summary([new FeatureContribution("online_share", z, 0, 1)]));

    [Fact]
    public void Summary_SamePhraseTwice_SaysItOnce() =>
        Assert.Equal(
            "Has typical online share of spend; is seldom active.",
            Explainer.Summary(
            [
                new FeatureContribution("online_share", 0.1, 0, 1),
                new FeatureContribution("events_per_week", -2, 0, 1),
                new FeatureContribution("online_share", 0.2, 0, 1),
            ]));
}
