using System.Text.Json.Serialization;
using Streams.Contracts;
using Streams.Contracts.Canonical;

namespace Streams.Profiles.Features;

/// <summary>
/// The incremental state of one profile, on event time: sums, counts, a minimum and maxima of its events, from which
/// <see cref="Features"/> derives every feature. Merging is exact: sums and counts add, <see cref="FirstSeen"/> takes the
/// minimum, <see cref="LastSeen"/> and <see cref="MaxFollowers"/> the maximum, category maps add; averages are ratios
/// of sums, so they re-weight by themselves. <c>Merge(a, b)</c> equals one aggregate of all events of both, in any
/// order and grouping, to the last digit: that is why amounts are summed as <see cref="decimal"/> (double addition
/// is not associative), so a replay cut into other batches stores byte-identical JSON.
/// </summary>
/// <remarks>
/// Money is summed in each transaction's own currency, never converted: a customer who pays in two currencies gets
/// the plain sum. An aggregate without events (<see cref="TotalEvents"/> 0) is the neutral element of the merge; its
/// <see cref="FirstSeen"/> and <see cref="LastSeen"/> mean nothing.
/// </remarks>
public sealed partial class ProfileAggregate
{
    /// <summary>Amounts are clamped to this magnitude first: ingest lets any finite number through, and no real amount
    /// comes near it, while 10^15 per event keeps decimal sums far from overflow.</summary>
    public const double MaxAmount = 1e15;

    /// <summary>
    /// Sums of non-negative values stop at this magnitude (10^27, a third of <see cref="decimal"/>'s range), so no number
    /// of huge-but-valid events, nor any merge, can overflow one or give a feature that is not a finite number. A
    /// saturating sum of non-negative values is still associative, so merges stay exact up to it.
    /// </summary>
    public const decimal MaxSum = 1_000_000_000_000_000_000_000_000_000m;

    /// <summary>
    /// Categories kept per profile: the ones first in ordinal order; the amounts of any others are summed in
    /// <see cref="OtherCategoriesAmount"/>. Keeping the first in a fixed order (not the largest) keeps merges exact: a
    /// category among the first 64 of all a profile's events is among the first 64 of any part of them.
    /// </summary>
    public const int MaxCategories = 64;

    public DateTimeOffset FirstSeen { get; set; }

    public DateTimeOffset LastSeen { get; set; }

    /// <summary>Events per channel: <c>event_counts</c> of CONTRACT §5.1. A channel's count is also its number of store
    /// transactions, calls or social interactions.</summary>
    public ChannelCounts EventCounts { get; set; } = new();

    [JsonIgnore]
    public long TotalEvents => EventCounts.Total;

    public decimal StoreSpend { get; set; }

    public decimal StoreItems { get; set; }

    /// <summary>Σ discount_pct over store transactions, a transaction without one counting 0.</summary>
    public decimal DiscountPctSum { get; set; }

    /// <summary>Store transactions with a discount above 0.</summary>
    public long DiscountedTransactions { get; set; }

    /// <summary>Category → Σ amount (after discount), keys in ordinal order so equal aggregates serialize equally.</summary>
    public Dictionary<string, decimal> CategoryAmounts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Σ amount of the categories beyond <see cref="MaxCategories"/>; null while there were none.</summary>
    public decimal? OtherCategoriesAmount { get; set; }

    public long PageViews { get; set; }

    public long ProductViews { get; set; }

    public long AddToCarts { get; set; }

    public long OnlinePurchases { get; set; }

    public long Searches { get; set; }

    public decimal OnlineRevenue { get; set; }

    public decimal DwellMsSum { get; set; }

    /// <summary>Clickstream events that reported a dwell time.</summary>
    public long DwellCount { get; set; }

    public long Complaints { get; set; }

    public decimal CallSeconds { get; set; }

    public decimal CallSentimentSum { get; set; }

    public long ResolvedCalls { get; set; }

    public decimal SocialSentimentSum { get; set; }

    /// <summary>Social interactions that carried a sentiment.</summary>
    public long SocialSentimentCount { get; set; }

    public long SharesAndReviews { get; set; }

    /// <summary>Largest follower count reported; null while none was.</summary>
    public long? MaxFollowers { get; set; }

    /// <summary>Whether <paramref name="e"/> carries its channel's attributes, which <see cref="Apply"/> needs.
    /// Ingest never writes one that does not; a record that fails this is bad canonical input.</summary>
    public static bool CanApply(CanonicalEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Channel switch
        {
            Channel.Clickstream => e.Clickstream is not null,
            Channel.Store => e.Store is not null,
            Channel.Callcenter => e.Callcenter is not null,
            Channel.Social => e.Social is not null,
            _ => false,
        };
    }

    /// <summary>Adds one event. Time is the event's <see cref="CanonicalEvent.OccurredAt"/>, never a clock.</summary>
    /// <exception cref="ArgumentException">The event fails <see cref="CanApply"/>.</exception>
    public void Apply(CanonicalEvent e)
    {
        if (!CanApply(e))
        {
            throw new ArgumentException($"Event '{e.EventId}' on channel {e.Channel} lacks that channel's attributes.", nameof(e));
        }

        var at = e.OccurredAt.ToUniversalTime();
        (FirstSeen, LastSeen) = TotalEvents == 0 ? (at, at) : (Min(FirstSeen, at), Max(LastSeen, at));
        switch (e.Channel)
        {
            case Channel.Clickstream:
                Apply(e.Clickstream!);
                break;
            case Channel.Store:
                Apply(e.Store!);
                break;
            case Channel.Callcenter:
                Apply(e.Callcenter!);
                break;
            default:
                Apply(e.Social!);
                break;
        }
    }

    /// <summary>An independent copy: changing one never changes the other.</summary>
    public ProfileAggregate Clone()
    {
        var copy = (ProfileAggregate)MemberwiseClone();
        copy.EventCounts = EventCounts.Clone();
        copy.CategoryAmounts = new Dictionary<string, decimal>(CategoryAmounts, StringComparer.Ordinal);
        return copy;
    }

    /// <summary>The aggregate of all events of <paramref name="a"/> and <paramref name="b"/>; neither is changed.</summary>
    public static ProfileAggregate Merge(ProfileAggregate a, ProfileAggregate b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var (firstSeen, lastSeen) = (a.TotalEvents, b.TotalEvents) switch
        {
            (0, _) => (b.FirstSeen, b.LastSeen),
            (_, 0) => (a.FirstSeen, a.LastSeen),
            _ => (Min(a.FirstSeen, b.FirstSeen), Max(a.LastSeen, b.LastSeen)),
        };
        return new ProfileAggregate
        {
            FirstSeen = firstSeen,
            LastSeen = lastSeen,
            EventCounts = new ChannelCounts
            {
                Clickstream = a.EventCounts.Clickstream + b.EventCounts.Clickstream,
                Store = a.EventCounts.Store + b.EventCounts.Store,
                Callcenter = a.EventCounts.Callcenter + b.EventCounts.Callcenter,
                Social = a.EventCounts.Social + b.EventCounts.Social,
            },
            StoreSpend = Add(a.StoreSpend, b.StoreSpend),
            StoreItems = Add(a.StoreItems, b.StoreItems),
            DiscountPctSum = Add(a.DiscountPctSum, b.DiscountPctSum),
            DiscountedTransactions = a.DiscountedTransactions + b.DiscountedTransactions,
            CategoryAmounts = SumByCategory(a.CategoryAmounts.Concat(b.CategoryAmounts)),
            OtherCategoriesAmount = a.OtherCategoriesAmount is null && b.OtherCategoriesAmount is null ? null
                : Add(a.OtherCategoriesAmount ?? 0, b.OtherCategoriesAmount ?? 0),
            PageViews = a.PageViews + b.PageViews,
            ProductViews = a.ProductViews + b.ProductViews,
            AddToCarts = a.AddToCarts + b.AddToCarts,
            OnlinePurchases = a.OnlinePurchases + b.OnlinePurchases,
            Searches = a.Searches + b.Searches,
            OnlineRevenue = Add(a.OnlineRevenue, b.OnlineRevenue),
            DwellMsSum = Add(a.DwellMsSum, b.DwellMsSum),
            DwellCount = a.DwellCount + b.DwellCount,
            Complaints = a.Complaints + b.Complaints,
            CallSeconds = Add(a.CallSeconds, b.CallSeconds),
            CallSentimentSum = a.CallSentimentSum + b.CallSentimentSum,
            ResolvedCalls = a.ResolvedCalls + b.ResolvedCalls,
            SocialSentimentSum = a.SocialSentimentSum + b.SocialSentimentSum,
            SocialSentimentCount = a.SocialSentimentCount + b.SocialSentimentCount,
            SharesAndReviews = a.SharesAndReviews + b.SharesAndReviews,
            MaxFollowers = a.MaxFollowers is { } x && b.MaxFollowers is { } y ? Math.Max(x, y) : a.MaxFollowers ?? b.MaxFollowers,
        }.CapCategories();
    }

    private void Apply(ClickstreamAttributes click)
    {
        EventCounts.Clickstream++;
        switch (click.EventType)
        {
            case "page_view":
                PageViews++;
                break;
            case "product_view":
                ProductViews++;
                break;
            case "add_to_cart":
                AddToCarts++;
                break;
            case "purchase":
                OnlinePurchases++;
                break;
            case "search":
                Searches++;
                break;
        }

        if (click.Revenue is { } revenue)
        {
            OnlineRevenue = Add(OnlineRevenue, Amount(revenue));
        }

        if (click.DwellMs is { } dwellMs)
        {
            DwellMsSum = Add(DwellMsSum, Math.Max(dwellMs, 0));
            DwellCount++;
        }
    }

    private void Apply(StoreAttributes store)
    {
        EventCounts.Store++;
        StoreSpend = Add(StoreSpend, Amount(store.Total));
        StoreItems = Add(StoreItems, Math.Max(store.ItemCount, 0));
        var discount = Bounded(store.DiscountPct ?? 0, 0, 100);
        DiscountPctSum = Add(DiscountPctSum, discount);
        if (discount > 0)
        {
            DiscountedTransactions++;
        }

        var newCategory = false;
        // By index: foreach over the interface boxes an enumerator per sale.
        for (var i = 0; i < store.Categories.Count; i++)
        {
            var category = store.Categories[i];
            newCategory |= !CategoryAmounts.TryGetValue(category.Category, out var sum);
            CategoryAmounts[category.Category] = Add(sum, Amount(category.Amount));
        }

        if (newCategory)
        {
            CategoryAmounts = SumByCategory(CategoryAmounts);
            CapCategories();
        }
    }

    private void Apply(CallcenterAttributes call)
    {
        EventCounts.Callcenter++;
        if (call.Reason == "complaint")
        {
            Complaints++;
        }

        CallSeconds = Add(CallSeconds, Math.Max(call.DurationS, 0));
        CallSentimentSum += Bounded(call.Sentiment, -1, 1);
        if (call.Resolved)
        {
            ResolvedCalls++;
        }
    }

    private void Apply(SocialAttributes social)
    {
        EventCounts.Social++;
        if (social.Sentiment is { } sentiment)
        {
            SocialSentimentSum += Bounded(sentiment, -1, 1);
            SocialSentimentCount++;
        }

        if (social.Interaction is "share" or "review")
        {
            SharesAndReviews++;
        }

        if (social.Followers is { } followers)
        {
            MaxFollowers = Math.Max(MaxFollowers ?? 0, followers);
        }
    }

    private static decimal Amount(double value) => Bounded(value, 0, MaxAmount);

    /// <summary>The sum of two non-negative values, at most <see cref="MaxSum"/> (both are, so it cannot overflow).</summary>
    private static decimal Add(decimal sum, decimal value) => Math.Min(sum + value, MaxSum);

    /// <summary>Folds the categories beyond the first <see cref="MaxCategories"/> (the map is in ordinal order) into
    /// <see cref="OtherCategoriesAmount"/>.</summary>
    private ProfileAggregate CapCategories()
    {
        if (CategoryAmounts.Count <= MaxCategories)
        {
            return this;
        }

        var other = OtherCategoriesAmount ?? 0;
        var kept = new Dictionary<string, decimal>(MaxCategories, StringComparer.Ordinal);
        foreach (var (category, amount) in CategoryAmounts)
        {
            if (kept.Count < MaxCategories)
            {
                kept.Add(category, amount);
            }
            else
            {
                other = Add(other, amount);
            }
        }

        CategoryAmounts = kept;
        OtherCategoriesAmount = other;
        return this;
    }

    /// <summary>The double → decimal conversion keeps 15 significant digits, so 19.99 becomes exactly 19.99m.</summary>
    private static decimal Bounded(double value, double min, double max) =>
        double.IsNaN(value) ? 0m : (decimal)Math.Clamp(value, min, max);

    private static Dictionary<string, decimal> SumByCategory(IEnumerable<KeyValuePair<string, decimal>> amounts) =>
        amounts.GroupBy(a => a.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Aggregate(0m, (sum, a) => Add(sum, a.Value)), StringComparer.Ordinal);

    private static DateTimeOffset Min(DateTimeOffset x, DateTimeOffset y) => y < x ? y : x;

    private static DateTimeOffset Max(DateTimeOffset x, DateTimeOffset y) => y > x ? y : x;
}

/// <summary>Events per channel, as <c>{"clickstream","store","callcenter","social"}</c>.</summary>
public sealed class ChannelCounts
{
    public long Clickstream { get; set; }

    public long Store { get; set; }

    public long Callcenter { get; set; }

    public long Social { get; set; }

    [JsonIgnore]
    public long Total => Clickstream + Store + Callcenter + Social;

    public ChannelCounts Clone() => (ChannelCounts)MemberwiseClone();
}
