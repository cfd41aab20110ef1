using Streams.Profiles.Features;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class FeatureSpaceTests
{
    private static readonly string[] Indicators = ["has_store", "has_online", "has_calls", "has_social"];

    [Fact]
    public void Names_AreTheProfileCatalogThenTheChannelIndicators() =>
        Assert.Equal([.. ProfileAggregate.Catalog.Select(f => f.Name), .. Indicators], FeatureSpace.Names);

    [Fact]
    public void LogTransformed_AreExactlyMoneyCountsAndDurations()
    {
        string[] expected =
        [
            "tenure_days", "event_count", "events_per_week", "store_spend", "online_spend", "total_spend", "purchase_count",
            "avg_basket", "items_per_transaction", "category_count", "avg_dwell_s", "call_count", "avg_call_duration_s",
            "social_interactions", "max_followers",
        ];

        Assert.Equal(expected, FeatureSpace.Dimensions.Where(d => d.Transform == FeatureTransform.Log1p).Select(d => d.Name));
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
    [InlineData("store_spend", 99.0, 4.605170185988092)]
    [InlineData("store_spend", -99.0, -4.605170185988092)]
    [InlineData("call_count", 0.0, 0.0)]
    [InlineData("max_followers", 1e6, 13.815511557963774)]
    [InlineData("online_share", 0.25, 0.25)]
    [InlineData("avg_call_sentiment", -0.5, -0.5)]
    [InlineData("avg_discount_pct", 15.0, 15.0)]
    [InlineData("channel_count", 3.0, 3.0)]
    public void ToRaw_Feature_IsTransformedAsDocumented(string feature, double value, double expected)
    {
        var raw = FeatureSpace.ToRaw(new Dictionary<string, double> { [feature] = value });

        Assert.Equal(expected, raw[FeatureSpace.IndexOf(feature)], 12);
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

    [Theory]
    [InlineData("", "")]
    [InlineData("store_spend=12.5", "has_store")]
    [InlineData("store_spend=0;items_per_transaction=0", "has_store")]
    [InlineData("store_spend=0;online_spend=0;call_count=0;social_interactions=0", "")]
    [InlineData("online_spend=40", "has_online")]
    [InlineData("avg_dwell_s=30", "has_online")]
    [InlineData("cart_abandonment=1", "has_online")]
    [InlineData("online_share=0", "")]
    [InlineData("call_count=2", "has_calls")]
    [InlineData("complaint_share=0", "has_calls")]
    [InlineData("social_interactions=1;max_followers=100", "has_social")]
    [InlineData("max_followers=100", "")]
    [InlineData("store_spend=1;online_spend=1;call_count=1;social_interactions=1", "has_store,has_online,has_calls,has_social")]
    public void ToRaw_ChannelIndicators_ShowWhichChannelsTheProfileUses(string features, string expected)
    {
        var dictionary = features.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        var used = expected.Split(',', StringSplitOptions.RemoveEmptyEntries);

        var raw = FeatureSpace.ToRaw(dictionary);

        Assert.All(Indicators, i => Assert.Equal(used.Contains(i) ? 1 : 0, raw[FeatureSpace.IndexOf(i)]));
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

        foreach (var (name, value) in profile)
        {
            Assert.Equal(value, back[name], Math.Max(1e-9, Math.Abs(value) * 1e-9));
        }

        // A missing value comes back as the population's mean, the indicators as 0 or 1.
        Assert.Equal(scaler.Mean(FeatureSpace.IndexOf("avg_call_sentiment")), back["avg_call_sentiment"], 12);
        Assert.Equal(1, back["has_store"], 9);
    }

    [Fact]
    public void ToOriginalUnits_Origin_IsThePopulationMeanWithIndicatorsAsShares()
    {
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["store_spend"] = 0, ["call_count"] = 3 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["store_spend"] = 99, ["call_count"] = 0 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["store_spend"] = 9, ["call_count"] = 0 }));
        scaler.Observe(FeatureSpace.ToRaw(new Dictionary<string, double> { ["store_spend"] = 9, ["call_count"] = 0 }));

        var back = FeatureSpace.ToOriginalUnits(new double[FeatureSpace.Dimension], scaler);

        // store_spend: the mean of log(1), log(100), log(10), log(10) is log(10): a geometric-style mean of 1 + spend.
        Assert.Equal(9, back["store_spend"], 9);
        Assert.Equal(0.75, back["has_store"], 12);
        Assert.Equal(0.25, back["has_calls"], 12);
        Assert.False(back.ContainsKey("avg_basket"));
    }

    internal static Dictionary<string, double> RandomProfile(Random rng)
    {
        var profile = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var dimension in FeatureSpace.Dimensions.Where(d => d.Transform != FeatureTransform.ChannelIndicator))
        {
            profile[dimension.Name] = dimension.Transform == FeatureTransform.Log1p
                ? Math.Round(Math.Exp(rng.NextDouble() * 8), 2)
                : Math.Round(rng.NextDouble(), 4);
        }

        return profile;
    }
}
