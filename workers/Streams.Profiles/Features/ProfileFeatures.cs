using System.Text.Json;

namespace Streams.Profiles.Features;

/// <summary>A named profile feature, for the README and the transparency report.</summary>
/// <param name="Name">The key in <c>features</c> (CONTRACT §5.1).</param>
/// <param name="Unit">What the number counts or measures.</param>
/// <param name="Description">How it is computed.</param>
/// <param name="MergeRule">What happens to it when two profiles merge.</param>
public sealed record FeatureDescriptor(string Name, string Unit, string Description, string MergeRule);

public sealed partial class ProfileAggregate
{
    private const string Money = "currency units (each transaction's own, not converted)";
    private const string Sum = "the sums add";
    private const string Reweighted = "re-weighted: recomputed from the summed numerator and denominator";

    /// <summary>One table for the catalog and the computation, so the documentation cannot drift from the code.
    /// A null value (a ratio over nothing) leaves the feature out.</summary>
    private static readonly (FeatureDescriptor Descriptor, Func<ProfileAggregate, decimal?> Value)[] Definitions =
    [
        (new("tenure_days", "days", "Time from the first to the last event (event time).",
            "first_seen takes the minimum, last_seen the maximum"), a => a.TenureDays),
        (new("event_count", "events", "Events on all four channels.", Sum), a => a.TotalEvents),
        (new("events_per_week", "events per week",
            "event_count over the weeks from the first to the last event; a span shorter than a week counts as one week.",
            "recomputed from the summed event count and the merged span"),
            a => a.TenureDays is { } days ? a.TotalEvents / Math.Max(days / 7, 1) : null),
        (new("channel_count", "channels", "Channels (clickstream, store, callcenter, social) with at least one event.",
            "recomputed from the summed per-channel counts"),
            a => new[] { a.EventCounts.Clickstream, a.EventCounts.Store, a.EventCounts.Callcenter, a.EventCounts.Social }.Count(n => n > 0)),
        (new("store_spend", Money, "Σ store totals.", Sum), a => a.StoreSpend),
        (new("online_spend", Money, "Σ clickstream revenue.", Sum), a => a.OnlineRevenue),
        (new("total_spend", Money, "store_spend + online_spend.", Sum), a => a.TotalSpend),
        (new("purchase_count", "purchases", "Store transactions plus online purchase events.", Sum), a => a.PurchaseCount),
        (new("avg_basket", Money, "total_spend / purchase_count.", Reweighted), a => Ratio(a.TotalSpend, a.PurchaseCount)),
        (new("items_per_transaction", "items", "Items bought in store per store transaction.", Reweighted),
            a => Ratio(a.StoreItems, a.EventCounts.Store)),
        (new("avg_discount_pct", "percent", "Mean discount_pct of store transactions, 0 where none was given.", Reweighted),
            a => Ratio(a.DiscountPctSum, a.EventCounts.Store)),
        (new("discounted_share", "ratio 0–1", "Share of store transactions with a discount.", Reweighted),
            a => Ratio(a.DiscountedTransactions, a.EventCounts.Store)),
        (new("online_share", "ratio 0–1", "online_spend / total_spend.", Reweighted), a => Ratio(a.OnlineRevenue, a.TotalSpend)),
        (new("top_category_share", "ratio 0–1",
            "The largest product category's share of store spend by category (of the first 64 categories in ordinal order; the others count in the total).",
            "re-weighted: category maps add, then recomputed"),
            a => a.CategoryAmounts.Count == 0 ? null
                : Ratio(a.CategoryAmounts.Values.Max(), a.CategoryAmounts.Values.Sum() + (a.OtherCategoriesAmount ?? 0))),
        (new("category_count", "categories", "Distinct product categories bought in store, counted up to 64.", "category maps are united"),
            a => a.CategoryAmounts.Count),
        (new("cart_abandonment", "ratio 0–1", "1 − online purchases / add-to-cart events, not below 0.", Reweighted),
            a => Ratio(a.AddToCarts - a.OnlinePurchases, a.AddToCarts) is { } r ? Math.Max(r, 0) : null),
        (new("avg_dwell_s", "seconds", "Mean time on page of clickstream events that report it.", Reweighted),
            a => Ratio(a.DwellMsSum / 1000, a.DwellCount)),
        (new("call_count", "calls", "Call-center interactions.", Sum), a => a.EventCounts.Callcenter),
        (new("avg_call_duration_s", "seconds", "Mean call length.", Reweighted), a => Ratio(a.CallSeconds, a.EventCounts.Callcenter)),
        (new("complaint_share", "ratio 0–1", "Share of calls whose reason is complaint.", Reweighted),
            a => Ratio(a.Complaints, a.EventCounts.Callcenter)),
        (new("avg_call_sentiment", "−1…1", "Mean sentiment of calls.", Reweighted),
            a => Ratio(a.CallSentimentSum, a.EventCounts.Callcenter)),
        (new("call_resolution_rate", "ratio 0–1", "Share of calls that resolved the issue.", Reweighted),
            a => Ratio(a.ResolvedCalls, a.EventCounts.Callcenter)),
        (new("social_interactions", "interactions", "Social-media interactions.", Sum), a => a.EventCounts.Social),
        (new("avg_social_sentiment", "−1…1", "Mean sentiment of social interactions that carry one.", Reweighted),
            a => Ratio(a.SocialSentimentSum, a.SocialSentimentCount)),
        (new("social_advocacy_share", "ratio 0–1", "Share of social interactions that are shares or reviews.", Reweighted),
            a => Ratio(a.SharesAndReviews, a.EventCounts.Social)),
        (new("max_followers", "followers", "Largest follower count reported; left out while none was.", "the maximum"),
            a => a.MaxFollowers),
    ];

    /// <summary>Every feature <see cref="Features"/> can return, in its order.</summary>
    public static IReadOnlyList<FeatureDescriptor> Catalog { get; } = [.. Definitions.Select(d => d.Descriptor)];

    /// <summary>Indexes into <see cref="Definitions"/> in ordinal name order, with the names encoded once.</summary>
    private static readonly (int Index, JsonEncodedText Name)[] ByName =
        [.. Definitions.Select((d, i) => (i, JsonEncodedText.Encode(d.Descriptor.Name))).OrderBy(d => d.Item2.Value, StringComparer.Ordinal)];

    private decimal? TenureDays => TotalEvents == 0 ? null : (decimal)(LastSeen - FirstSeen).Ticks / TimeSpan.TicksPerDay;

    private decimal TotalSpend => StoreSpend + OnlineRevenue;

    private long PurchaseCount => EventCounts.Store + OnlinePurchases;

    /// <summary>
    /// The features, rounded to 6 decimals, in <see cref="Catalog"/> order. They depend on the aggregate alone, never
    /// on a clock, so a replay gives the same values. A ratio over zero and a value never observed are left out.
    /// </summary>
    public IReadOnlyDictionary<string, double> Features()
    {
        var features = new Dictionary<string, double>(Definitions.Length, StringComparer.Ordinal);
        foreach (var (descriptor, value) in Definitions)
        {
            if (value(this) is { } v)
            {
                features.Add(descriptor.Name, (double)Math.Round(v, 6, MidpointRounding.AwayFromZero));
            }
        }

        return features;
    }

    /// <summary>Writes <see cref="Features"/> as properties of the current JSON object, in ordinal name order.</summary>
    internal void WriteFeatures(Utf8JsonWriter writer)
    {
        foreach (var (index, name) in ByName)
        {
            if (Definitions[index].Value(this) is { } v)
            {
                writer.WriteNumber(name, (double)Math.Round(v, 6, MidpointRounding.AwayFromZero));
            }
        }
    }

    private static decimal? Ratio(decimal numerator, decimal denominator) => denominator == 0 ? null : numerator / denominator;
}
