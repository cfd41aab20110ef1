using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Ingest;
using Streams.Profiles.Features;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

public sealed class ProfileAggregateTests
{
    private static ProfileAggregate Aggregate(params CanonicalEvent[] events)
    {
        var aggregate = new ProfileAggregate();
        foreach (var e in events)
        {
            aggregate.Apply(e);
        }

        return aggregate;
    }

    private static string Json(ProfileAggregate aggregate) => JsonSerializer.Serialize(aggregate, ProfileJsonContext.Default.ProfileAggregate);

    [Fact]
    public void Features_StoreTransactions_SpendBasketDiscountAndCategories()
    {
        var features = Aggregate(
            Sale(T0, 100, 10, new CategoryAmount("food", 2, 60), new CategoryAmount("toys", 1, 30)),
            Sale(T0.AddDays(1), 50, null, new CategoryAmount("food", 1, 50))).Features();

        Assert.Equal(150, features["store_spend"]);
        Assert.Equal(0, features["online_spend"]);
        Assert.Equal(150, features["total_spend"]);
        Assert.Equal(2, features["purchase_count"]);
        Assert.Equal(75, features["avg_basket"]);
        Assert.Equal(2, features["items_per_transaction"]);
        Assert.Equal(5, features["avg_discount_pct"]);
        Assert.Equal(0.5, features["discounted_share"]);
        Assert.Equal(0, features["online_share"]);
        Assert.Equal(0.785714, features["top_category_share"]);
        Assert.Equal(2, features["category_count"]);
        Assert.Equal(2, features["event_count"]);
        Assert.Equal(1, features["channel_count"]);
    }

    [Fact]
    public void Features_Clickstream_DwellCartAbandonmentAndOnlineSpend()
    {
        var features = Aggregate(
            Click(T0, "page_view", dwellMs: 3000),
            Click(T0.AddMinutes(1), "product_view", dwellMs: 5000),
            Click(T0.AddMinutes(2), "add_to_cart"),
            Click(T0.AddMinutes(3), "add_to_cart"),
            Click(T0.AddMinutes(4), "purchase", revenue: 49.9),
            Click(T0.AddMinutes(5), "search")).Features();

        Assert.Equal(4, features["avg_dwell_s"]);
        Assert.Equal(0.5, features["cart_abandonment"]);
        Assert.Equal(49.9, features["online_spend"]);
        Assert.Equal(49.9, features["total_spend"]);
        Assert.Equal(1, features["purchase_count"]);
        Assert.Equal(49.9, features["avg_basket"]);
        Assert.Equal(1, features["online_share"]);
        Assert.Equal(6, features["event_count"]);
        Assert.DoesNotContain("items_per_transaction", features.Keys);
        Assert.DoesNotContain("avg_discount_pct", features.Keys);
        Assert.DoesNotContain("top_category_share", features.Keys);
    }

    [Fact]
    public void Features_MorePurchasesThanCarts_CartAbandonmentIsZero() =>
        Assert.Equal(0, Aggregate(Click(T0, "add_to_cart"), Click(T0, "purchase"), Click(T0, "purchase")).Features()["cart_abandonment"]);

    [Fact]
    public void Features_NoCart_CartAbandonmentLeftOut() =>
        Assert.DoesNotContain("cart_abandonment", Aggregate(Click(T0, "purchase", revenue: 10)).Features().Keys);

    [Fact]
    public void Features_Calls_CountDurationComplaintsSentimentAndResolution()
    {
        var features = Aggregate(
            Call(T0, "complaint", 120, -0.5, resolved: false),
            Call(T0.AddDays(2), "billing", 60, 0.3, resolved: true)).Features();

        Assert.Equal(2, features["call_count"]);
        Assert.Equal(90, features["avg_call_duration_s"]);
        Assert.Equal(0.5, features["complaint_share"]);
        Assert.Equal(-0.1, features["avg_call_sentiment"]);
        Assert.Equal(0.5, features["call_resolution_rate"]);
    }

    [Fact]
    public void Features_Social_InteractionsSentimentAdvocacyAndFollowers()
    {
        var features = Aggregate(
            Post(T0, "share", sentiment: 0.8, followers: 100),
            Post(T0, "like", followers: 300),
            Post(T0, "review", sentiment: 0.2)).Features();

        Assert.Equal(3, features["social_interactions"]);
        Assert.Equal(0.5, features["avg_social_sentiment"]);
        Assert.Equal(0.666667, features["social_advocacy_share"]);
        Assert.Equal(300, features["max_followers"]);
    }

    [Fact]
    public void Features_SocialWithoutSentimentOrFollowers_LeavesThoseOut()
    {
        var features = Aggregate(Post(T0, "like")).Features();

        Assert.Equal(1, features["social_interactions"]);
        Assert.Equal(0, features["social_advocacy_share"]);
        Assert.DoesNotContain("avg_social_sentiment", features.Keys);
        Assert.DoesNotContain("max_followers", features.Keys);
    }

    [Fact]
    public void Features_TwoWeeksApart_TenureAndWeeklyRate()
    {
        var features = Aggregate(Click(T0.AddDays(14), "page_view"), Sale(T0, 10), Call(T0.AddDays(7), "other", 5, 0, true)).Features();

        Assert.Equal(14, features["tenure_days"]);
        Assert.Equal(1.5, features["events_per_week"]);
        Assert.Equal(3, features["channel_count"]);
    }

    [Fact]
    public void Features_SpanShorterThanAWeek_CountsAsOneWeek()
    {
        var features = Aggregate(Click(T0, "page_view"), Click(T0.AddHours(36), "page_view")).Features();

        Assert.Equal(1.5, features["tenure_days"]);
        Assert.Equal(2, features["events_per_week"]);
    }

    [Fact]
    public void Features_RoundedToSixDecimals()
    {
        var features = Aggregate(Call(T0, "complaint", 1, 0, false), Call(T0, "other", 1, 0, false), Call(T0, "other", 1, 0, true)).Features();

        Assert.Equal(0.333333, features["complaint_share"]);
        Assert.Equal(0.333333, features["call_resolution_rate"]);
    }

    [Fact]
    public void Features_EmptyAggregate_CountsOnlyAndNoRatioOverZero()
    {
        var features = new ProfileAggregate().Features();

        Assert.Equal(0, features["event_count"]);
        Assert.Equal(0, features["store_spend"]);
        Assert.Equal(0, features["channel_count"]);
        Assert.DoesNotContain("tenure_days", features.Keys);
        Assert.DoesNotContain("avg_basket", features.Keys);
        Assert.DoesNotContain("online_share", features.Keys);
        Assert.DoesNotContain("complaint_share", features.Keys);
        Assert.All(features.Values, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Features_OfAStoredAggregate_AreTheSameWhenReadBack()
    {
        var aggregate = Aggregate(Click(T0, "purchase", revenue: 5), Sale(T0.AddYears(-3), 7));

        Assert.Equal(aggregate.Features(), JsonSerializer.Deserialize(Json(aggregate), ProfileJsonContext.Default.ProfileAggregate)!.Features());
    }

    [Fact]
    public void Catalog_DescribesExactlyTheFeaturesOfAFullAggregate()
    {
        var full = Aggregate(
            Sale(T0, 100, 10, new CategoryAmount("food", 1, 90)),
            Click(T0.AddDays(1), "add_to_cart", revenue: 5, dwellMs: 100),
            Call(T0.AddDays(2), "complaint", 10, 0.5, true),
            Post(T0.AddDays(3), "share", 0.1, 5));

        Assert.True(ProfileAggregate.Catalog.Count >= 14);
        Assert.Equal(ProfileAggregate.Catalog.Select(d => d.Name), full.Features().Keys);
        Assert.All(ProfileAggregate.Catalog, d =>
        {
            Assert.Matches("^[a-z]+(_[a-z]+)*$", d.Name);
            Assert.False(string.IsNullOrWhiteSpace(d.Unit));
            Assert.False(string.IsNullOrWhiteSpace(d.Description));
            Assert.False(string.IsNullOrWhiteSpace(d.MergeRule));
        });
    }

    [Fact]
    public void Apply_EventsOutOfOrder_FirstAndLastSeenByEventTime()
    {
        var aggregate = Aggregate(Click(T0.AddDays(2), "page_view"), Click(T0, "page_view"), Click(T0.AddDays(1), "page_view"));

        Assert.Equal(T0, aggregate.FirstSeen);
        Assert.Equal(T0.AddDays(2), aggregate.LastSeen);
        Assert.Equal(3, aggregate.EventCounts.Clickstream);
        Assert.Equal(3, aggregate.TotalEvents);
    }

    [Fact]
    public void Apply_OffsetTimestamp_KeptInUtc()
    {
        var aggregate = Aggregate(Click(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.FromHours(2)), "page_view"));

        Assert.Equal(TimeSpan.Zero, aggregate.FirstSeen.Offset);
        Assert.Equal(T0, aggregate.FirstSeen);
    }

    [Fact]
    public void Apply_EventWithoutItsChannelsAttributes_Throws()
    {
        var bare = new CanonicalEvent(Channel.Store, "e", T0, [Email("a")], [], new SourcePosition("t", 0, 0));
        var consent = bare with { Channel = Channel.Consent };

        Assert.False(ProfileAggregate.CanApply(bare));
        Assert.False(ProfileAggregate.CanApply(consent));
        Assert.Throws<ArgumentException>(() => new ProfileAggregate().Apply(bare));
        Assert.Throws<ArgumentException>(() => new ProfileAggregate().Apply(consent));
    }

    [Fact]
    public void Apply_AbsurdAmount_IsClampedAndNeverOverflows()
    {
        var aggregate = Aggregate(Sale(T0, 1e300), Sale(T0, 1e300), Click(T0, "purchase", revenue: double.MaxValue));

        Assert.Equal(2e15m, aggregate.StoreSpend);
        Assert.Equal(3e15, aggregate.Features()["total_spend"]);
    }

    [Fact]
    public void Merge_OfHugeButValidSumsManyTimesOver_SaturatesInsteadOfOverflowing_AndEveryFeatureIsFinite()
    {
        // Each doubling merges a profile with a copy of itself: 2^70 events' worth of the largest amounts, dwell times,
        // item counts and call lengths; decimal overflows near 7.9e28.
        var aggregate = Aggregate(
            Sale(T0, 1e300, 100, new CategoryAmount("food", long.MaxValue, 1e300)),
            Click(T0, "purchase", revenue: double.MaxValue, dwellMs: long.MaxValue),
            Call(T0.AddDays(1), "complaint", long.MaxValue, 1, true));
        for (var i = 0; i < 70; i++)
        {
            aggregate = ProfileAggregate.Merge(aggregate, aggregate);
        }

        Assert.Equal(ProfileAggregate.MaxSum, aggregate.StoreSpend);
        Assert.Equal(ProfileAggregate.MaxSum, aggregate.DwellMsSum);
        Assert.Equal(ProfileAggregate.MaxSum, aggregate.CallSeconds);
        Assert.Equal(ProfileAggregate.MaxSum, aggregate.CategoryAmounts["food"]);
        Assert.All(aggregate.Features(), f => Assert.True(double.IsFinite(f.Value), f.Key));
        aggregate.Apply(Sale(T0, 1e300, null, new CategoryAmount("food", 1, 1e300)));
        Assert.Equal(ProfileAggregate.MaxSum, aggregate.StoreSpend);
    }

    [Fact]
    public void Apply_MoreCategoriesThanKept_KeepsTheFirst64_AndCountsTheRestInTheTotal()
    {
        var categories = Enumerable.Range(0, 200).Select(i => new CategoryAmount($"c{i:D3}", 1, 1)).ToArray();

        var aggregate = Aggregate(Sale(T0, 200, null, categories));

        Assert.Equal(ProfileAggregate.MaxCategories, aggregate.CategoryAmounts.Count);
        Assert.Equal("c063", aggregate.CategoryAmounts.Keys.Last());
        Assert.Equal(136m, aggregate.OtherCategoriesAmount);
        Assert.Equal(64, aggregate.Features()["category_count"]);
        Assert.Equal(0.005, aggregate.Features()["top_category_share"]);
        aggregate.Apply(Sale(T0, 1, null, new CategoryAmount("a-new-first", 1, 1)));
        Assert.Equal("c062", aggregate.CategoryAmounts.Keys.Last());
        Assert.Equal(137m, aggregate.OtherCategoriesAmount);
    }

    [Fact]
    public void Merge_WithEmpty_IsTheOther()
    {
        var aggregate = Aggregate(Sale(T0, 12.5, 5, new CategoryAmount("toys", 1, 12.5)), Post(T0.AddDays(1), "review", 1, 10));

        Assert.Equal(Json(aggregate), Json(ProfileAggregate.Merge(aggregate, new ProfileAggregate())));
        Assert.Equal(Json(aggregate), Json(ProfileAggregate.Merge(new ProfileAggregate(), aggregate)));
    }

    [Fact]
    public void Merge_LeavesItsInputsUnchanged()
    {
        var a = Aggregate(Sale(T0, 10, null, new CategoryAmount("food", 1, 10)));
        var b = Aggregate(Sale(T0.AddDays(1), 20, null, new CategoryAmount("food", 1, 20)));
        var (jsonA, jsonB) = (Json(a), Json(b));

        var merged = ProfileAggregate.Merge(a, b);
        merged.Apply(Sale(T0, 1, null, new CategoryAmount("food", 1, 1)));

        Assert.Equal(jsonA, Json(a));
        Assert.Equal(jsonB, Json(b));
        Assert.Equal(31m, merged.CategoryAmounts["food"]);
    }

    [Fact]
    public void Merge_TwoProfiles_AveragesAreReweightedBySums()
    {
        var a = Aggregate(Call(T0, "other", 100, 1, true));
        var b = Aggregate(Call(T0, "other", 10, -1, false), Call(T0, "other", 10, -1, false), Call(T0, "other", 10, -1, false));

        var features = ProfileAggregate.Merge(a, b).Features();

        Assert.Equal(32.5, features["avg_call_duration_s"]);
        Assert.Equal(-0.5, features["avg_call_sentiment"]);
        Assert.Equal(0.25, features["call_resolution_rate"]);
    }

    [Fact]
    public void Json_SnakeCaseStateWithoutDerivedOrMissingValues()
    {
        var json = Json(Aggregate(Sale(T0, 19.99, null, new CategoryAmount("Food & Drink", 1, 19.99))));

        Assert.Contains("\"first_seen\":\"2026-11-01T08:00:00+00:00\"", json, StringComparison.Ordinal);
        Assert.Contains("\"event_counts\":{\"clickstream\":0,\"store\":1,\"callcenter\":0,\"social\":0}", json, StringComparison.Ordinal);
        Assert.Contains("\"store_spend\":19.99", json, StringComparison.Ordinal);
        Assert.Contains("\"category_amounts\":{\"Food \\u0026 Drink\":19.99}", json, StringComparison.Ordinal);
        Assert.DoesNotContain("total", json, StringComparison.Ordinal);
        Assert.DoesNotContain("max_followers", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_RoundTrip_KeepsEveryValue()
    {
        var aggregate = Aggregate(
            Sale(T0, 100.10, 10, new CategoryAmount("toys", 2, 60.50), new CategoryAmount("food", 1, 30)),
            Click(T0.AddDays(1), "purchase", revenue: 5.25, dwellMs: 1234),
            Call(T0.AddDays(2), "complaint", 10, -0.35, false),
            Post(T0.AddDays(3), "review", 0.1, 5));

        var json = Json(aggregate);
        var back = JsonSerializer.Deserialize(json, ProfileJsonContext.Default.ProfileAggregate)!;

        Assert.Equal(json, Json(back));
        Assert.Equal(aggregate.Features(), back.Features());
        Assert.Equal(5, back.MaxFollowers);
        Assert.Equal(["food", "toys"], back.CategoryAmounts.Keys);
    }
}
