namespace Streams.Segmentation.Model;

/// <summary>How a profile feature becomes one coordinate of the raw vector, before standardization.</summary>
public enum FeatureTransform
{
    /// <summary>Bounded ratios, shares, percentages and sentiments: taken as they are.</summary>
    AsIs,

    /// <summary>Money, counts, rates and durations: sign(x)·log(1 + |x|), so one big spender does not stretch the axis for
    /// everyone (and a refund that makes a sum negative stays finite).</summary>
    Log1p,

    /// <summary>A count over the profile's <c>event_count</c>: which share of everything the customer does happens on that
    /// channel or is that act (0 when the count is absent but events are known).</summary>
    ShareOfEvents,
}

/// <summary>One dimension of the segmentation space.</summary>
/// <param name="Name">The dimension's name: a profile feature (CONTRACT §5.1 <c>features</c>) or, for
/// <see cref="FeatureTransform.ShareOfEvents"/>, a share named here (<c>call_share</c>, …).</param>
/// <param name="Transform">How the raw value is computed.</param>
/// <param name="High">Phrase for a clearly high value, third person singular ("contacts customer service more than most customers").</param>
/// <param name="Low">Phrase for a clearly low value.</param>
/// <param name="Noun">What the dimension measures, for "has typical …" when the value is near the average.</param>
/// <param name="Source">The profile feature it is computed from (the name itself unless a share).</param>
public sealed record FeatureDimension(string Name, FeatureTransform Transform, string High, string Low, string Noun, string? Source = null)
{
    /// <summary>The profile feature read.</summary>
    public string Feature => Source ?? Name;
}

/// <summary>
/// The pure transform from a profile's features to a vector, used alike for seeding, assignment, updates and explanations.
/// The dimensions describe behaviour, not volume or age: how a customer splits their activity over channels (shares of
/// events, the online share of spend), how active they are and how often they buy, basket size, discount affinity,
/// category focus and range, browsing, complaints and call and social sentiment, advocacy and social reach. Volumes that
/// grow with time as a customer (tenure, event and spend totals, counts per channel) are left out: they separate old
/// customers from new ones, not bargain hunters from premium shoppers. Product categories are open strings that the
/// profile record summarizes as <c>top_category_share</c> and <c>category_count</c>; those two are the category affinity.
/// <list type="number">
/// <item>Every dimension in <see cref="Dimensions"/> order; the order is part of the checkpoint (centroids are stored by index).</item>
/// <item><see cref="FeatureTransform.Log1p"/> for money, counts, rates and durations; ratios and sentiments as they are;
/// channel and purchase shares as counts over <c>event_count</c>.</item>
/// <item>A feature that is absent (a ratio over nothing, a value never observed) or not finite is <see cref="double.NaN"/> in
/// the raw vector: <see cref="ModelSpace"/> standardizes it to 0, i.e. it is imputed with the sample mean.</item>
/// <item><see cref="ModelSpace"/> then standardizes every dimension with the sample's mean and standard deviation and clips
/// it at ±<see cref="ModelSpace.ClipZ"/>.</item>
/// </list>
/// </summary>
public static class FeatureSpace
{
    /// <summary>The dimensions, in vector order.</summary>
    public static IReadOnlyList<FeatureDimension> Dimensions { get; } =
    [
        new("events_per_week", FeatureTransform.Log1p,
            "is active more often than most customers", "is seldom active", "activity per week"),
        new("call_share", FeatureTransform.ShareOfEvents,
            "contacts customer service more than most customers", "rarely contacts customer service",
            "share of contacts with customer service", "call_count"),
        new("social_share", FeatureTransform.ShareOfEvents,
            "is active on social media more than most customers", "is rarely active on social media",
            "share of activity on social media", "social_interactions"),
        new("purchase_rate", FeatureTransform.ShareOfEvents,
            "buys on more of their visits than most customers", "seldom buys when they visit", "buying rate", "purchase_count"),
        new("online_share", FeatureTransform.AsIs,
            "does most of their shopping online", "does most of their shopping in stores", "online share of spend"),
        new("avg_basket", FeatureTransform.Log1p,
            "buys bigger baskets than most customers", "buys small baskets", "basket size"),
        new("items_per_transaction", FeatureTransform.Log1p,
            "buys many items per store visit", "buys few items per store visit", "items per store visit"),
        new("avg_discount_pct", FeatureTransform.AsIs,
            "gets bigger discounts than most customers", "gets small discounts", "discounts"),
        new("discounted_share", FeatureTransform.AsIs,
            "mostly buys on discount", "rarely buys on discount", "discount buying"),
        new("top_category_share", FeatureTransform.AsIs,
            "sticks to one product category", "spreads spending across categories", "category focus"),
        new("category_count", FeatureTransform.Log1p,
            "buys from many product categories", "buys from few product categories", "category range"),
        new("cart_abandonment", FeatureTransform.AsIs,
            "often abandons online carts", "rarely abandons online carts", "cart abandonment"),
        new("avg_dwell_s", FeatureTransform.Log1p,
            "spends a long time on our pages", "spends little time on our pages", "time on pages"),
        new("complaint_share", FeatureTransform.AsIs,
            "calls mostly to complain", "rarely calls to complain", "complaints"),
        new("avg_call_sentiment", FeatureTransform.AsIs,
            "sounds positive on calls", "sounds negative on calls", "call sentiment"),
        new("call_resolution_rate", FeatureTransform.AsIs,
            "usually gets issues resolved on calls", "often leaves calls unresolved", "call resolution"),
        new("avg_social_sentiment", FeatureTransform.AsIs,
            "is positive about us on social media", "is negative about us on social media", "social sentiment"),
        new("social_advocacy_share", FeatureTransform.AsIs,
            "often shares or reviews our products", "rarely shares or reviews our products", "advocacy"),
        new("max_followers", FeatureTransform.Log1p,
            "has a large social following", "has a small social following", "social reach"),
    ];

    /// <summary>The number of dimensions, d.</summary>
    public static int Dimension => Dimensions.Count;

    /// <summary>Dimension names in vector order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Dimensions.Select(d => d.Name)];

    private static readonly Dictionary<string, int> IndexByName =
        Names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);

    /// <summary>The index of a dimension, or −1.</summary>
    public static int IndexOf(string name) => IndexByName.GetValueOrDefault(name, -1);

    /// <summary>The raw (transformed, not yet standardized) vector of a profile; <see cref="double.NaN"/> marks a missing value.</summary>
    public static double[] ToRaw(IReadOnlyDictionary<string, double> features)
    {
        var raw = new double[Dimension];
        ToRaw(features, raw);
        return raw;
    }

    /// <summary>Writes the raw vector of a profile into <paramref name="raw"/> (length <see cref="Dimension"/>).</summary>
    public static void ToRaw(IReadOnlyDictionary<string, double> features, Span<double> raw)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (raw.Length != Dimension)
        {
            throw new ArgumentException($"The vector needs {Dimension} dimensions.", nameof(raw));
        }

        for (var j = 0; j < Dimension; j++)
        {
            var dimension = Dimensions[j];
            if (dimension.Transform == FeatureTransform.ShareOfEvents)
            {
                raw[j] = TryGet(features, "event_count", out var events) && events > 0
                    ? Math.Clamp((TryGet(features, dimension.Feature, out var count) ? count : 0) / events, 0, 1)
                    : double.NaN;
            }
            else if (!TryGet(features, dimension.Feature, out var value))
            {
                raw[j] = double.NaN;
            }
            else
            {
                raw[j] = dimension.Transform == FeatureTransform.Log1p ? SignedLog1p(value) : value;
            }
        }
    }

    /// <summary>
    /// A standardized vector (a centroid) in the features' own units: unstandardized, <see cref="FeatureTransform.Log1p"/>
    /// inverted, shares as shares (0–1). A dimension the scaler has never seen is left out. Because the mean is taken in log
    /// space, a centroid's money is a geometric-style mean, and a channel feature (call sentiment, say) blends members
    /// without that channel at the population mean: read it together with the channel's share.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ToOriginalUnits(ReadOnlySpan<double> standardized, RunningScaler scaler)
    {
        ArgumentNullException.ThrowIfNull(scaler);
        if (standardized.Length != Dimension || scaler.Dimension != Dimension)
        {
            throw new ArgumentException($"The vector and the scaler need {Dimension} dimensions.", nameof(standardized));
        }

        Span<double> raw = stackalloc double[Dimension];
        scaler.Unstandardize(standardized, raw);
        var result = new Dictionary<string, double>(Dimension, StringComparer.Ordinal);
        for (var j = 0; j < Dimension; j++)
        {
            if (double.IsNaN(raw[j]))
            {
                continue;
            }

            result.Add(Dimensions[j].Name, Dimensions[j].Transform switch
            {
                FeatureTransform.Log1p => SignedExpm1(raw[j]),
                FeatureTransform.ShareOfEvents => Math.Clamp(raw[j], 0, 1),
                _ => raw[j],
            });
        }

        return result;
    }

    internal static double SignedLog1p(double x) => Math.CopySign(Math.Log(1 + Math.Abs(x)), x);

    internal static double SignedExpm1(double y) => Math.CopySign(Math.Exp(Math.Abs(y)) - 1, y);

    private static bool TryGet(IReadOnlyDictionary<string, double> features, string name, out double value) =>
        features.TryGetValue(name, out value) && double.IsFinite(value);
}
