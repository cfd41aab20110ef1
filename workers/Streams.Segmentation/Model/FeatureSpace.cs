namespace Streams.Segmentation.Model;

/// <summary>How a profile feature becomes one coordinate of the raw vector, before standardization.</summary>
public enum FeatureTransform
{
    /// <summary>Bounded ratios, shares, percentages and sentiments: taken as they are.</summary>
    AsIs,

    /// <summary>Money, counts and durations: sign(x)·log(1 + |x|), so one big spender does not stretch the axis for everyone
    /// (and a refund that makes a sum negative stays finite).</summary>
    Log1p,

    /// <summary>1 when the profile shows activity on the channel, else 0 (never missing).</summary>
    ChannelIndicator,
}

/// <summary>One dimension of the segmentation space.</summary>
/// <param name="Name">The feature name (CONTRACT §5.1 <c>features</c>) or a channel indicator (<c>has_store</c>, …).</param>
/// <param name="Transform">How the raw value is computed.</param>
/// <param name="High">Phrase for a clearly high value, third person singular ("spends more in stores than most customers").</param>
/// <param name="Low">Phrase for a clearly low value.</param>
/// <param name="Noun">What the dimension measures, for "has typical …" when the value is near the average.</param>
public sealed record FeatureDimension(string Name, FeatureTransform Transform, string High, string Low, string Noun);

/// <summary>
/// The pure transform from a profile's features to a vector, used alike for seeding, assignment, updates and explanations.
/// <list type="number">
/// <item>Every dimension in <see cref="Dimensions"/> order; the order is part of the checkpoint (centroids are stored by index).</item>
/// <item><see cref="FeatureTransform.Log1p"/> for money, counts and durations, ratios and sentiments as they are.</item>
/// <item>A feature that is absent (a ratio over nothing, a value never observed) or not finite is <see cref="double.NaN"/> in
/// the raw vector: <see cref="RunningScaler"/> leaves it out of the statistics and standardizes it to 0, i.e. it is imputed
/// with the running mean. So that the absence itself is information, each channel group has a 0/1 indicator dimension.</item>
/// <item><see cref="RunningScaler"/> then standardizes every dimension, indicators included, with its running mean and
/// standard deviation.</item>
/// </list>
/// </summary>
public static class FeatureSpace
{
    /// <summary>The dimensions, in vector order: the 26 profile features, then <c>has_store</c>, <c>has_online</c>,
    /// <c>has_calls</c>, <c>has_social</c>.</summary>
    public static IReadOnlyList<FeatureDimension> Dimensions { get; } =
    [
        new("tenure_days", FeatureTransform.Log1p,
            "has been a customer for longer than most", "is a recent customer", "tenure"),
        new("event_count", FeatureTransform.Log1p,
            "interacts with us more than most customers", "rarely interacts with us", "activity"),
        new("events_per_week", FeatureTransform.Log1p,
            "is active more often than most customers", "is seldom active", "activity per week"),
        new("channel_count", FeatureTransform.AsIs,
            "uses many channels", "sticks to one channel", "channel use"),
        new("store_spend", FeatureTransform.Log1p,
            "spends more in stores than most customers", "spends little in stores", "store spend"),
        new("online_spend", FeatureTransform.Log1p,
            "spends more online than most customers", "spends little online", "online spend"),
        new("total_spend", FeatureTransform.Log1p,
            "spends more than most customers", "spends less than most customers", "spend"),
        new("purchase_count", FeatureTransform.Log1p,
            "buys more often than most customers", "seldom buys", "purchases"),
        new("avg_basket", FeatureTransform.Log1p,
            "buys bigger baskets than most customers", "buys small baskets", "basket size"),
        new("items_per_transaction", FeatureTransform.Log1p,
            "buys many items per store visit", "buys few items per store visit", "items per store visit"),
        new("avg_discount_pct", FeatureTransform.AsIs,
            "gets bigger discounts than most customers", "gets small discounts", "discounts"),
        new("discounted_share", FeatureTransform.AsIs,
            "mostly buys on discount", "rarely buys on discount", "discount buying"),
        new("online_share", FeatureTransform.AsIs,
            "does most of their shopping online", "does most of their shopping in stores", "online share of spend"),
        new("top_category_share", FeatureTransform.AsIs,
            "sticks to one product category", "spreads spending across categories", "category focus"),
        new("category_count", FeatureTransform.Log1p,
            "buys from many product categories", "buys from few product categories", "category range"),
        new("cart_abandonment", FeatureTransform.AsIs,
            "often abandons online carts", "rarely abandons online carts", "cart abandonment"),
        new("avg_dwell_s", FeatureTransform.Log1p,
            "spends a long time on our pages", "spends little time on our pages", "time on pages"),
        new("call_count", FeatureTransform.Log1p,
            "calls customer service more than most customers", "rarely calls customer service", "calls"),
        new("avg_call_duration_s", FeatureTransform.Log1p,
            "has long calls", "has short calls", "call length"),
        new("complaint_share", FeatureTransform.AsIs,
            "calls mostly to complain", "rarely calls to complain", "complaints"),
        new("avg_call_sentiment", FeatureTransform.AsIs,
            "sounds positive on calls", "sounds negative on calls", "call sentiment"),
        new("call_resolution_rate", FeatureTransform.AsIs,
            "usually gets issues resolved on calls", "often leaves calls unresolved", "call resolution"),
        new("social_interactions", FeatureTransform.Log1p,
            "interacts on social media more than most customers", "rarely interacts on social media", "social activity"),
        new("avg_social_sentiment", FeatureTransform.AsIs,
            "is positive about us on social media", "is negative about us on social media", "social sentiment"),
        new("social_advocacy_share", FeatureTransform.AsIs,
            "often shares or reviews our products", "rarely shares or reviews our products", "advocacy"),
        new("max_followers", FeatureTransform.Log1p,
            "has a large social following", "has a small social following", "social reach"),
        new("has_store", FeatureTransform.ChannelIndicator,
            "shops in stores", "rarely shops in stores", "store use"),
        new("has_online", FeatureTransform.ChannelIndicator,
            "shops or browses online", "rarely browses online", "online use"),
        new("has_calls", FeatureTransform.ChannelIndicator,
            "contacts customer service", "rarely contacts customer service", "customer service use"),
        new("has_social", FeatureTransform.ChannelIndicator,
            "is active on social media", "is rarely active on social media", "social media use"),
    ];

    /// <summary>The number of dimensions, d.</summary>
    public static int Dimension => Dimensions.Count;

    /// <summary>Dimension names in vector order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Dimensions.Select(d => d.Name)];

    /// <summary>
    /// A channel counts as used when one of its money or count features is positive or one of the ratios whose denominator
    /// is that channel's activity is present. Online activity is visible only through spend, carts and dwell time: a
    /// clickstream that has none of them leaves <c>has_online</c> at 0.
    /// </summary>
    private static readonly (string Indicator, string[] PositiveAmounts, string[] PresentRatios)[] ChannelGroups =
    [
        ("has_store", ["store_spend"], ["items_per_transaction", "avg_discount_pct", "discounted_share", "top_category_share"]),
        ("has_online", ["online_spend"], ["cart_abandonment", "avg_dwell_s"]),
        ("has_calls", ["call_count"], ["avg_call_duration_s", "complaint_share", "avg_call_sentiment", "call_resolution_rate"]),
        ("has_social", ["social_interactions"], ["avg_social_sentiment", "social_advocacy_share"]),
    ];

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
            if (dimension.Transform == FeatureTransform.ChannelIndicator)
            {
                raw[j] = UsesChannel(features, dimension.Name) ? 1 : 0;
            }
            else if (!TryGet(features, dimension.Name, out var value))
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
    /// inverted, indicators as the share of profiles using the channel (0–1). A dimension the scaler has never seen is left
    /// out. Because the mean is taken in log space, a centroid's money is a geometric-style mean, and a channel feature
    /// blends members without that channel at the population mean: read it together with the channel's indicator.
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
                FeatureTransform.ChannelIndicator => Math.Clamp(raw[j], 0, 1),
                _ => raw[j],
            });
        }

        return result;
    }

    internal static double SignedLog1p(double x) => Math.CopySign(Math.Log(1 + Math.Abs(x)), x);

    internal static double SignedExpm1(double y) => Math.CopySign(Math.Exp(Math.Abs(y)) - 1, y);

    private static bool UsesChannel(IReadOnlyDictionary<string, double> features, string indicator)
    {
        foreach (var (name, amounts, ratios) in ChannelGroups)
        {
            if (name == indicator)
            {
                return amounts.Any(a => TryGet(features, a, out var v) && v > 0) || ratios.Any(r => TryGet(features, r, out _));
            }
        }

        throw new InvalidOperationException($"No channel group for {indicator}.");
    }

    private static bool TryGet(IReadOnlyDictionary<string, double> features, string name, out double value) =>
        features.TryGetValue(name, out value) && double.IsFinite(value);
}
