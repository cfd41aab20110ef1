using Streams.Segmentation.Model;
using Xunit.Abstractions;

namespace Streams.UnitTests.Segmentation;

/// <summary>Profiles' feature dictionaries through the whole pure path: raw vector, running scaling, seed, assignment,
/// explanation and catalog text.</summary>
public sealed class SegmentationPipelineTests(ITestOutputHelper output)
{
    private static Dictionary<string, double> StoreShopper(Random rng) => new()
    {
        ["tenure_days"] = 200 + rng.Next(200),
        ["event_count"] = 10 + rng.Next(10),
        ["channel_count"] = 1,
        ["store_spend"] = 400 + rng.Next(400),
        ["online_spend"] = 0,
        ["total_spend"] = 600,
        ["purchase_count"] = 8 + rng.Next(5),
        ["items_per_transaction"] = 3 + rng.NextDouble(),
        ["avg_discount_pct"] = 5 * rng.NextDouble(),
        ["discounted_share"] = 0.2 * rng.NextDouble(),
        ["online_share"] = 0,
        ["avg_basket"] = 40 + rng.Next(40),
        ["call_count"] = 0,
        ["social_interactions"] = 0,
    };

    private static Dictionary<string, double> OnlineBrowser(Random rng) => new()
    {
        ["tenure_days"] = 200 + rng.Next(200),
        ["event_count"] = 80 + rng.Next(50),
        ["channel_count"] = 1,
        ["store_spend"] = 0,
        ["online_spend"] = 100 + rng.Next(200),
        ["total_spend"] = 200,
        ["purchase_count"] = 3 + rng.Next(3),
        ["online_share"] = 1,
        ["avg_basket"] = 60 + rng.Next(60),
        ["cart_abandonment"] = 0.5 + 0.3 * rng.NextDouble(),
        ["avg_dwell_s"] = 30 + rng.Next(60),
        ["call_count"] = 0,
        ["social_interactions"] = 0,
    };

    [Fact]
    public void StoreShopperAmongOnlineBrowsers_IsExplainedByStoreAndOnlineBehaviour()
    {
        var rng = new Random(1);
        var profiles = Enumerable.Range(0, 400).Select(i => i % 2 == 0 ? StoreShopper(rng) : OnlineBrowser(rng)).ToList();
        var scaler = new RunningScaler(FeatureSpace.Dimension);
        var raws = profiles.Select(FeatureSpace.ToRaw).ToList();
        raws.ForEach(r => scaler.Observe(r));
        var standardized = raws.Select(r =>
        {
            var z = new double[FeatureSpace.Dimension];
            scaler.Standardize(r, z);
            return z;
        }).ToList();
        var model = MiniBatchKMeans.FromSeed(KMeansSeeder.Seed(standardized, 2, seed: 1, restarts: 1));

        var shopper = StoreShopper(rng);
        var raw = FeatureSpace.ToRaw(shopper);
        var x = new double[FeatureSpace.Dimension];
        scaler.Standardize(raw, x);
        var segment = model.Assign(x, out _, out var runnerUp, out _);
        var explanation = Explainer.Explain(x, model.Centroid(segment), model.Centroid(runnerUp), raw);
        var summary = Explainer.Summary(explanation);
        output.WriteLine(string.Join("; ", explanation.Select(e => $"{e.Feature} {e.ProfileZ:F2}/{e.SegmentZ:F2}/{e.Contribution:F2}")));
        output.WriteLine(summary);
        output.WriteLine(SegmentDescriber.Describe(model.Centroid(segment)));
        output.WriteLine(SegmentDescriber.Describe(model.Centroid(runnerUp)));

        // Every store shopper of the population is in the same segment as this one.
        Assert.All(standardized.Where((_, i) => i % 2 == 0), z => Assert.Equal(segment, model.Assign(z, out _)));
        // The reasons are the channels, never a feature the shopper does not have (cart abandonment, dwell time).
        Assert.All(explanation, e => Assert.Contains(e.Feature, (string[])
        [
            "online_share", "items_per_transaction", "purchase_rate", "events_per_week", "avg_discount_pct", "discounted_share",
            "avg_basket",
        ]));
        Assert.Matches("^[A-Z][^.]*\\.$", summary);

        var centroid = FeatureSpace.ToOriginalUnits(model.Centroid(segment), scaler);
        Assert.Equal(0, centroid["online_share"], 9);
        Assert.InRange(centroid["avg_basket"], 40, 80);
        Assert.InRange(centroid["purchase_rate"], 8 / 20.0, 1);
        Assert.StartsWith("A typical member ", SegmentDescriber.Describe(model.Centroid(segment)));
    }
}
