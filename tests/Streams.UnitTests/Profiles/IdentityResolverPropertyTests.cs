using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Identity;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>Random identity graphs from a seeded generator: a failure replays exactly.</summary>
public sealed class IdentityResolverPropertyTests
{
    private const int Seed = 20261128;
    private static readonly IdentityCaps NoCapHits = new(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);

    [Fact]
    public void Resolve_AnyEventOrderAndBatching_WithoutCapHits_GivesTheConnectedComponents()
    {
        var random = new Random(Seed);
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var events = RandomEvents(random);
            var expected = ReferenceComponents(events);
            for (var permutation = 0; permutation < 6; permutation++)
            {
                var inputs = Inputs(random, permutation == 0 ? events : Shuffled(random, events));
                var graph = ResolveInBatches(inputs, RandomBatchSizes(random, inputs.Count), NoCapHits);

                Assert.Equal(expected, Components(graph));
            }
        }
    }

    [Fact]
    public void Resolve_RandomGraphsWithTightCaps_KeepCountsTrueAndWithinCaps()
    {
        var random = new Random(Seed + 1);
        var conflicts = 0;
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var caps = new IdentityCaps(random.Next(1, 4), random.Next(1, 4), random.Next(1, 4), random.Next(1, 4), random.Next(1, 4),
                SharedAfterRefusals: random.Next(0, 4));
            var inputs = Inputs(random, RandomEvents(random));
            var graph = GraphSnapshot.Empty;
            var offset = 0;
            foreach (var size in RandomBatchSizes(random, inputs.Count))
            {
                var batch = inputs.Skip(offset).Take(size).ToList();
                offset += size;
                var resolution = IdentityResolver.Resolve(graph, batch, caps);
                AssertSameResolution(resolution, IdentityResolver.Resolve(graph, batch, caps));
                graph = graph.Apply(resolution);
                conflicts += resolution.Conflicts.Count;

                // Every identifier of an event ends on the event's profile, or is reported as refused for it.
                for (var k = 0; k < batch.Count; k++)
                {
                    foreach (var identifier in batch[k].Identifiers)
                    {
                        Assert.True(graph.Owners.GetValueOrDefault(identifier.Pseudonym) == resolution.ProfileOf[k]
                            || resolution.Conflicts.Contains((batch[k].Index, identifier))
                            || resolution.SharedRefusals.Contains((batch[k].Index, identifier)));
                    }
                }
            }

            var typeOf = inputs.SelectMany(i => i.Identifiers).DistinctBy(i => i.Pseudonym).ToDictionary(i => i.Pseudonym, i => i.Type);
            foreach (var profile in graph.Profiles.Values)
            {
                foreach (var type in Enum.GetValues<IdentifierType>())
                {
                    var owned = graph.Owners.Count(o => o.Value == profile.ProfileId && typeOf[o.Key] == type);
                    Assert.Equal(owned, profile.Counts.GetValueOrDefault(type));
                    Assert.True(owned <= caps.For(type), $"{profile.ProfileId} holds {owned} {type} identifiers");
                }
            }

            Assert.Equal(graph.Profiles.Keys.Order(StringComparer.Ordinal), graph.Owners.Values.Distinct().Order(StringComparer.Ordinal));
        }

        Assert.True(conflicts > 100, "the generator should hit the caps often");
    }

    /// <summary>
    /// A crash replays records cut into other batches, so where a batch ends must change nothing: the same graph,
    /// the same merges, conflicts and new profiles, even when the caps refuse links all the time.
    /// </summary>
    [Fact]
    public void Resolve_AnyBatching_WithTightCaps_GivesTheSameGraphAndChanges()
    {
        var random = new Random(Seed + 2);
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var caps = new IdentityCaps(random.Next(1, 4), random.Next(1, 4), random.Next(1, 4), random.Next(1, 4), random.Next(1, 4),
                SharedAfterRefusals: random.Next(0, 4));
            var inputs = Inputs(random, RandomEvents(random));

            var whole = Run(inputs, [inputs.Count], caps);
            var cut = Run(inputs, RandomBatchSizes(random, inputs.Count), caps);

            Assert.Equal(whole.Graph.Owners.OrderBy(o => o.Key, StringComparer.Ordinal), cut.Graph.Owners.OrderBy(o => o.Key, StringComparer.Ordinal));
            Assert.Equal(Describe(whole.Graph), Describe(cut.Graph));
            Assert.Equal(whole.Merges, cut.Merges);
            Assert.Equal(whole.Conflicts, cut.Conflicts);
            Assert.Equal(whole.Created, cut.Created);
            Assert.Equal(whole.ProfileOf, cut.ProfileOf);
            Assert.Equal(whole.SharedRefusals, cut.SharedRefusals);
            Assert.Equal(whole.Graph.Marks.OrderBy(m => m.Key, StringComparer.Ordinal), cut.Graph.Marks.OrderBy(m => m.Key, StringComparer.Ordinal));
        }
    }

    private sealed record Outcome(
        GraphSnapshot Graph, List<(string, string)> Merges, List<(int, CanonicalIdentifier)> Conflicts, List<string> Created, List<string?> ProfileOf,
        List<(int, CanonicalIdentifier)> SharedRefusals);

    /// <summary>Resolves batch after batch; survivors and attributions are followed through later batches' merges.</summary>
    private static Outcome Run(List<ResolutionInput> inputs, List<int> batchSizes, IdentityCaps caps)
    {
        var graph = GraphSnapshot.Empty;
        var (merges, conflicts, created, profileOf) = (new List<(string, string)>(), new List<(int, CanonicalIdentifier)>(), new List<string>(), new List<string?>());
        var sharedRefusals = new List<(int, CanonicalIdentifier)>();
        var offset = 0;
        foreach (var size in batchSizes)
        {
            var resolution = IdentityResolver.Resolve(graph, inputs.Skip(offset).Take(size).ToList(), caps);
            offset += size;
            graph = graph.Apply(resolution);
            merges.AddRange(resolution.Merges);
            conflicts.AddRange(resolution.Conflicts);
            sharedRefusals.AddRange(resolution.SharedRefusals);
            created.AddRange(resolution.CreatedProfiles);
            profileOf.AddRange(resolution.ProfileOf);
        }

        var survivorOf = merges.ToDictionary(m => m.Item1, m => m.Item2);
        string Final(string id) => survivorOf.TryGetValue(id, out var next) ? Final(next) : id;
        return new Outcome(graph, [.. merges.Select(m => (m.Item1, Final(m.Item2)))], conflicts, created,
            [.. profileOf.Select(p => p is null ? null : Final(p))], sharedRefusals);
    }

    private static List<string> Describe(GraphSnapshot graph) =>
        [.. graph.Profiles.Values.OrderBy(p => p.ProfileId, StringComparer.Ordinal)
            .Select(p => $"{p.ProfileId} {p.FirstSeen:O} {string.Join(",", p.Counts.OrderBy(c => c.Key))}")];

    /// <summary>5–40 pseudonyms of random types; 1–40 events of 0–3 of them.</summary>
    private static List<CanonicalIdentifier[]> RandomEvents(Random random)
    {
        var types = Enum.GetValues<IdentifierType>();
        var pool = new CanonicalIdentifier[random.Next(5, 41)];
        for (var i = 0; i < pool.Length; i++)
        {
            var type = types[random.Next(types.Length)];
            pool[i] = new CanonicalIdentifier(type, $"k1:{type}-{i}");
        }

        return [.. Enumerable.Range(0, random.Next(1, 41)).Select(_ => Enumerable.Range(0, random.Next(0, 4)).Select(_ => pool[random.Next(pool.Length)]).ToArray())];
    }

    private static List<ResolutionInput> Inputs(Random random, IReadOnlyList<CanonicalIdentifier[]> events) =>
        [.. events.Select((identifiers, i) => new ResolutionInput(i, T0.AddMinutes(random.Next(10_000)), identifiers, $"n{i}"))];

    private static List<CanonicalIdentifier[]> Shuffled(Random random, List<CanonicalIdentifier[]> events)
    {
        var copy = events.ToArray();
        random.Shuffle(copy);
        return [.. copy];
    }

    private static List<int> RandomBatchSizes(Random random, int count)
    {
        var sizes = new List<int>();
        for (var left = count; left > 0; left -= sizes[^1])
        {
            sizes.Add(random.Next(1, left + 1));
        }

        return sizes;
    }

    /// <summary>Connected components by a breadth-first search: an implementation independent of the resolver's.</summary>
    private static List<string> ReferenceComponents(List<CanonicalIdentifier[]> events)
    {
        var neighbours = new Dictionary<string, HashSet<string>>();
        foreach (var identifiers in events)
        {
            foreach (var a in identifiers)
            {
                var set = neighbours.TryGetValue(a.Pseudonym, out var s) ? s : neighbours[a.Pseudonym] = [];
                set.UnionWith(identifiers.Select(i => i.Pseudonym));
            }
        }

        var seen = new HashSet<string>();
        var components = new List<string>();
        foreach (var start in neighbours.Keys.Where(seen.Add))
        {
            var component = new List<string> { start };
            var queue = new Queue<string>([start]);
            while (queue.TryDequeue(out var node))
            {
                foreach (var next in neighbours[node].Where(seen.Add))
                {
                    component.Add(next);
                    queue.Enqueue(next);
                }
            }

            components.Add(string.Join(",", component.Order(StringComparer.Ordinal)));
        }

        return [.. components.Order(StringComparer.Ordinal)];
    }

    private static void AssertSameResolution(Resolution expected, Resolution actual)
    {
        Assert.Equal(expected.ProfileOf, actual.ProfileOf);
        Assert.Equal(expected.NewLinks, actual.NewLinks);
        Assert.Equal(expected.Merges, actual.Merges);
        Assert.Equal(expected.Conflicts, actual.Conflicts);
        Assert.Equal(expected.CreatedProfiles, actual.CreatedProfiles);
        Assert.Equal(expected.Profiles.Keys, actual.Profiles.Keys);
        Assert.Equal(expected.Profiles.Values.Select(p => (p.FirstSeen, string.Join(",", p.Counts))),
            actual.Profiles.Values.Select(p => (p.FirstSeen, string.Join(",", p.Counts))));
    }
}
