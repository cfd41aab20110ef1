using System.Text.Json;
using Streams.Contracts.Canonical;
using Streams.Profiles.Features;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>
/// Random event sets from a seeded generator. Aggregates are compared by their stored JSON, so "equal" means equal
/// to the last digit, which is what lets a replay cut into other batches store the same rows.
/// </summary>
public sealed class ProfileAggregatePropertyTests
{
    private const int Iterations = 500;

    private static readonly string[] ClickTypes = ["page_view", "product_view", "add_to_cart", "purchase", "search"];
    private static readonly string[] Reasons = ["billing", "delivery", "product", "returns", "complaint", "other"];
    private static readonly string[] Interactions = ["mention", "like", "share", "comment", "follow", "review"];
    private static readonly string[] Categories = ["food", "toys", "Garden", "électronique", "books"];

    [Fact]
    public void Merge_OfTwoParts_EqualsOneAggregateOfAllEvents()
    {
        var random = new Random(7);
        for (var i = 0; i < Iterations; i++)
        {
            var events = RandomEvents(random);
            var (left, right) = Split(random, events);

            var merged = ProfileAggregate.Merge(Aggregate(left), Aggregate(right));

            Assert.Equal(Json(Aggregate(events)), Json(merged));
            Assert.Equal(Aggregate(events).Features(), merged.Features());
        }
    }

    [Fact]
    public void Merge_OfProfilesWithMoreCategoriesThanKept_StaysExactInAnyGrouping()
    {
        var random = new Random(12);
        var pool = Enumerable.Range(0, 200).Select(i => $"category-{i:D3}").ToArray();
        for (var i = 0; i < 100; i++)
        {
            var events = Enumerable.Range(0, random.Next(1, 12)).Select(_ => Sale(T0.AddHours(random.Next(0, 1000)), 10, null,
                [.. pool.Where(_ => random.Next(10) == 0).Select(c => new CategoryAmount(c, 1, Math.Round(random.NextDouble() * 300, 2)))])).ToList();
            var (left, right) = Split(random, events);
            var (a, b) = Split(random, left);

            var merged = ProfileAggregate.Merge(ProfileAggregate.Merge(Aggregate(a), Aggregate(b)), Aggregate(right));

            var whole = Aggregate(events);
            Assert.InRange(whole.CategoryAmounts.Count, 0, ProfileAggregate.MaxCategories);
            Assert.Equal(Json(whole), Json(merged));
        }
    }

    [Fact]
    public void Merge_IsCommutative()
    {
        var random = new Random(8);
        for (var i = 0; i < Iterations; i++)
        {
            var (a, b) = (Aggregate(RandomEvents(random)), Aggregate(RandomEvents(random)));

            Assert.Equal(Json(ProfileAggregate.Merge(a, b)), Json(ProfileAggregate.Merge(b, a)));
        }
    }

    [Fact]
    public void Merge_IsAssociative()
    {
        var random = new Random(9);
        for (var i = 0; i < Iterations; i++)
        {
            var (a, b, c) = (Aggregate(RandomEvents(random)), Aggregate(RandomEvents(random)), Aggregate(RandomEvents(random)));

            Assert.Equal(
                Json(ProfileAggregate.Merge(ProfileAggregate.Merge(a, b), c)),
                Json(ProfileAggregate.Merge(a, ProfileAggregate.Merge(b, c))));
        }
    }

    [Fact]
    public void Apply_AnyEventOrder_GivesTheSameAggregate()
    {
        var random = new Random(10);
        for (var i = 0; i < Iterations; i++)
        {
            var events = RandomEvents(random);
            var shuffled = events.ToArray();
            random.Shuffle(shuffled);

            Assert.Equal(Json(Aggregate(events)), Json(Aggregate(shuffled)));
        }
    }

    [Fact]
    public void Json_RoundTripOfRandomAggregates_IsExact()
    {
        var random = new Random(11);
        for (var i = 0; i < Iterations; i++)
        {
            var json = Json(Aggregate(RandomEvents(random)));

            Assert.Equal(json, Json(JsonSerializer.Deserialize(json, ProfileJsonContext.Default.ProfileAggregate)!));
        }
    }

    private static ProfileAggregate Aggregate(IEnumerable<CanonicalEvent> events)
    {
        var aggregate = new ProfileAggregate();
        foreach (var e in events)
        {
            aggregate.Apply(e);
        }

        return aggregate;
    }

    private static string Json(ProfileAggregate aggregate) => JsonSerializer.Serialize(aggregate, ProfileJsonContext.Default.ProfileAggregate);

    private static (List<CanonicalEvent> Left, List<CanonicalEvent> Right) Split(Random random, List<CanonicalEvent> events)
    {
        var inLeft = events.Select(_ => random.Next(2) == 0).ToList();
        return ([.. events.Where((_, k) => inLeft[k])], [.. events.Where((_, k) => !inLeft[k])]);
    }

    /// <summary>0–30 events of every channel with values shaped like real ones (cents, scored sentiments, absent fields).</summary>
    private static List<CanonicalEvent> RandomEvents(Random random) =>
        [.. Enumerable.Range(0, random.Next(0, 31)).Select(_ => RandomEvent(random))];

    private static CanonicalEvent RandomEvent(Random random)
    {
        var at = T0.AddSeconds(random.Next(0, 90 * 24 * 3600));
        double? Maybe(double value) => random.Next(3) == 0 ? null : value;
        var money = () => Math.Round(random.NextDouble() * 300, 2);
        var sentiment = () => Math.Round((random.NextDouble() * 2) - 1, random.Next(1, 16));
        return random.Next(4) switch
        {
            0 => Click(at, ClickTypes[random.Next(ClickTypes.Length)], Maybe(money()), random.Next(3) == 0 ? null : random.Next(0, 600_000)),
            1 => Sale(at, money(), Maybe(random.Next(0, 5) * 10),
                [.. Categories.Where(_ => random.Next(3) == 0).Select(c => new CategoryAmount(c, random.Next(1, 5), money()))]),
            2 => Call(at, Reasons[random.Next(Reasons.Length)], random.Next(0, 3600), sentiment(), random.Next(2) == 0),
            _ => Post(at, Interactions[random.Next(Interactions.Length)], Maybe(sentiment()),
                random.Next(3) == 0 ? null : random.NextInt64(0, 10_000_000)),
        };
    }
}
