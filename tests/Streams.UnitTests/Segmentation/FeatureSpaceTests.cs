using Streams.Profiles.Features;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class FeatureSpaceTests
{
    [Fact]
    public void Dimensions_ReadOnlyFeaturesTheProfilesWorkerWrites()
    {
        var catalog = ProfileAggregate.Catalog.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(FeatureSpace.Dimensions, d => Assert.Contains(d.Feature, catalog));
        Assert.Equal(FeatureSpace.Names.Count, FeatureSpace.Names.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Dimensions_AreBehaviourNotVolume()
    {
        // Totals that grow with time as a customer separate old customers from new ones, not one type from another.
        string[] volumes = ["tenure_days", "event_count", "store_spend", "online_spend", "total_spend", "call_count", "social_interactions"];
        Assert.All(volumes, v => Assert.Equal(-1, FeatureSpace.IndexOf(v)));
        Assert.Equal(
            ["events_per_week", "avg_basket", "items_per_transaction", "category_count", "avg_dwell_s", "max_followers"],
            FeatureSpace.Dimensions.Where(d => d.Transform == FeatureTransform.Log1p).Select(d => d.Name));
    }

    [Fact]
    public void Dimensions_EachHasHighLowAndNounPhrases() =>
        Assert.All(FeatureSpace.Dimensions, d =>
        {
            Assert.False(string.IsNullOrWhiteSpace(d.High));
            Assert.False(string.IsNullOrWhiteSpace(d.Low));
            Assert.False(string.IsNullOrWhiteSpace(d.Noun));
            Assert.NotEqual(d.High, d.Low);
        });

    [Theory]
    [InlineData("avg_basket", 99.0, 4.605170185988092)]
    [InlineData("avg_basket", -99.0, -4.605170185988092)]
    [InlineData("max_followers", 1e6, 13.815511557963774)]
    [InlineData("online_share", 0.25, 0.25)]
    [InlineData("avg_call_sentiment", -0.5, -0.5)]
    [InlineData("avg_discount_pct", 15.0, 15.0)]
    public void ToRaw_Feature_IsTransformedAsDocumented(string feature, double value, double expected)
    {
        var raw = FeatureSpace.ToRaw(new Dictionary<string, double> { [feature] = value });

        Assert.Equal(expected, raw[FeatureSpace.IndexOf(feature)], 12);
    }

    [Theory]
    [InlineData("event_count=20;call_count=5", "call_share", 0.25)]
    [InlineData("event_count=20", "call_share", 0)]
    [InlineData("event_count=20;social_interactions=20", "social_share", 1)]
    [InlineData("event_count=10;purchase_count=4", "purchase_rate", 0.4)]
    [InlineData("event_count=10;purchase_count=40", "purchase_rate", 1)]
    [InlineData("call_count=5", "call_share", double.NaN)]
    [InlineData("event_count=0;call_count=0", "call_share", double.NaN)]
    public void ToRaw_Shares_AreCountsOverEvents(string features, string dimension, double expected)
    {
        var dictionary = features.Split(';')
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(expected, FeatureSpace.ToRaw(dictionary)[FeatureSpace.IndexOf(dimension)], 12);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ToRaw_AbsentOrNotFinite_IsMissing(double value)
    {
        var raw = FeatureSpace.ToRaw(new Dictionary<string, double> { ["avg_basket"] = value, ["unknown_feature"] = 3 });

        Assert.Equal(FeatureSpace.Dimension, raw.Length);
        Assert.True(double.IsNaN(raw[FeatureSpace.IndexOf("avg_basket")]));
        Assert.True(double.IsNaN(raw[FeatureSpace.IndexOf("complaint_share")]));
    }

    [Fact]
    public void ToRaw_WrongLength_Throws() =>
        Assert.Throws<ArgumentException>(() => FeatureSpace.ToRaw(new Dictionary<string, double>(), new double[3]));

    [Fact]
    public void ToOriginalUnits_StandardizedProfile_ComesBackInItsOwnUnits()
    {
        var rng = new Random(3);
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        for (var i = 0; i < 500; i++)
        {
            scaler.Observe(FeatureSpace.ToRaw(RandomProfile(rng)));
        }

        var profile = RandomProfile(rng);
        profile.Remove("avg_call_sentiment");
        var z = new double[FeatureSpace.Dimension];
        scaler.Standardize(FeatureSpace.ToRaw(profile), z);

        var back = FeatureSpace.ToOriginalUnits(z, scaler);

        foreach (var dimension in FeatureSpace.Dimensions.Where(d => d.Transform != FeatureTransform.ShareOfEvents && profile.ContainsKey(d.Name)))
        {
            var value = profile[dimension.Name];
            Assert.Equal(value, back[dimension.Name], Math.Max(1e-9, Math.Abs(value) * 1e-9));
        }

        Assert.Equal(profile["call_count"] / profile["event_count"], back["call_share"], 9);
        // A missing value comes back as the population's mean.
        Assert.Equal(scaler.Mean(FeatureSpace.IndexOf("avg_call_sentiment")), back["avg_call_sentiment"], 12);
    }

    [Fact]
    public void ToOriginalUnits_Origin_IsThePopulationMean()
    {
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["avg_basket"] = 0, ["event_count"] = 4, ["call_count"] = 3 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["avg_basket"] = 99, ["event_count"] = 4, ["call_count"] = 0 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["avg_basket"] = 9, ["event_count"] = 4, ["call_count"] = 0 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["avg_basket"] = 9, ["event_count"] = 4, ["call_count"] = 0 }));

        var back = FeatureSpace.ToOriginalUnits(new double[FeatureSpace.Dimension], scaler);

        // avg_basket: the mean of log(1), log(100), log(10), log(10) is log(10): a geometric-style mean of 1 + basket.
        Assert.Equal(9, back["avg_basket"], 9);
        Assert.Equal(0.1875, back["call_share"], 12);
        Assert.False(back.ContainsKey("complaint_share"));
    }

    internal static Dictionary<string, double> RandomProfile(Random rng)
    {
        var profile = new Dictionary<string, double>(StringComparer.Ordinal) { ["event_count"] = 10 + rng.Next(50) };
        foreach (var dimension in FeatureSpace.Dimensions)
        {
            profile[dimension.Feature] = dimension.Transform switch
            {
                FeatureTransform.Log1p => Math.Round(Math.Exp(rng.NextDouble() * 8), 2),
                FeatureTransform.ShareOfEvents => rng.Next((int)profile["event_count"]),
                _ => Math.Round(rng.NextDouble(), 4),
            };
        }

        return profile;
    }
}
