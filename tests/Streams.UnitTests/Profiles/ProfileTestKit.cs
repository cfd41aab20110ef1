using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Identity;

namespace Streams.UnitTests.Profiles;

/// <summary>Hand-made pseudonyms, canonical events and resolver inputs for the profiles tests.</summary>
internal static class ProfileTestKit
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly SourcePosition Source = new("canonical", 0, 0);

    public static CanonicalIdentifier Email(string name) => new(IdentifierType.Email, "k1:email-" + name);

    public static CanonicalIdentifier Phone(string name) => new(IdentifierType.Phone, "k1:phone-" + name);

    public static CanonicalIdentifier Loyalty(string name) => new(IdentifierType.Loyalty, "k1:loyalty-" + name);

    public static CanonicalIdentifier Device(string name) => new(IdentifierType.Device, "k1:device-" + name);

    public static CanonicalIdentifier Social(string name) => new(IdentifierType.Social, "k1:social-" + name);

    /// <summary>Input <paramref name="index"/> at T0 + index minutes, new profile id <c>p{index}</c>.</summary>
    public static ResolutionInput Input(int index, params CanonicalIdentifier[] identifiers) =>
        new(index, T0.AddMinutes(index), identifiers, $"p{index}");

    public static KnownProfile Known(string id, DateTimeOffset firstSeen, params (IdentifierType Type, int Count)[] counts) =>
        new(id, firstSeen, counts.ToDictionary(c => c.Type, c => c.Count));

    /// <summary>A snapshot where each profile owns the pseudonyms listed with it.</summary>
    public static GraphSnapshot Snapshot(params (KnownProfile Profile, CanonicalIdentifier[] Owns)[] profiles) => new(
        profiles.SelectMany(p => p.Owns.Select(i => (i.Pseudonym, p.Profile.ProfileId))).ToDictionary(o => o.Pseudonym, o => o.ProfileId),
        profiles.ToDictionary(p => p.Profile.ProfileId, p => p.Profile));

    /// <summary>The profiles of a graph as sets of pseudonyms, in a form two graphs can be compared by.</summary>
    public static List<string> Components(GraphSnapshot graph) =>
        [.. graph.Owners.GroupBy(o => o.Value)
            .Select(g => string.Join(",", g.Select(o => o.Key).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal)];

    /// <summary>Resolves <paramref name="events"/> batch after batch, each batch on the graph the last one left.</summary>
    public static GraphSnapshot ResolveInBatches(IReadOnlyList<ResolutionInput> events, IEnumerable<int> batchSizes, IdentityCaps caps,
        GraphSnapshot? start = null)
    {
        var graph = start ?? GraphSnapshot.Empty;
        var offset = 0;
        foreach (var size in batchSizes.Append(int.MaxValue))
        {
            var batch = events.Skip(offset).Take(size).ToList();
            graph = graph.Apply(IdentityResolver.Resolve(graph, batch, caps));
            offset += batch.Count;
            if (offset >= events.Count)
            {
                break;
            }
        }

        return graph;
    }

    public static CanonicalEvent Click(DateTimeOffset at, string eventType, double? revenue = null, long? dwellMs = null) =>
        new(Channel.Clickstream, $"clk-{at.Ticks}", at, [Device("d")], [], Source)
        {
            Clickstream = new ClickstreamAttributes(eventType, "shoes", dwellMs, revenue, revenue is null ? null : "EUR", "mobile"),
        };

    public static CanonicalEvent Sale(DateTimeOffset at, double total, double? discountPct = null, params CategoryAmount[] categories) =>
        new(Channel.Store, $"pos-{at.Ticks}", at, [Loyalty("l")], [], Source)
        {
            Store = new StoreAttributes("store-1", total, "EUR", discountPct, categories.Sum(c => c.Quantity), categories, "card"),
        };

    public static CanonicalEvent Call(DateTimeOffset at, string reason, long durationS, double sentiment, bool resolved) =>
        new(Channel.Callcenter, $"cc-{at.Ticks}", at, [Phone("p")], [], Source)
        {
            Callcenter = new CallcenterAttributes(reason, durationS, sentiment, resolved),
        };

    public static CanonicalEvent Post(DateTimeOffset at, string interaction, double? sentiment = null, long? followers = null) =>
        new(Channel.Social, $"soc-{at.Ticks}", at, [Social("s")], [], Source)
        {
            Social = new SocialAttributes("twitter", interaction, sentiment, followers),
        };
}
