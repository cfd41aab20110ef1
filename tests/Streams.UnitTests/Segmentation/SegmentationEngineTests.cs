using System.Text;
using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Segmentation;
using Streams.Segmentation.Engine;

namespace Streams.UnitTests.Segmentation;

/// <summary>One mini-batch at a time through the engine, as the worker hands it over.</summary>
public sealed class SegmentationEngineTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ProfileGoneOrOptedOut_LaterInTheSameMiniBatch_IsNeitherStoredNorAssigned()
    {
        var catalog = new TopicCatalog(new TopicsOptions());
        var engine = new SegmentationEngine(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1 }, catalog);
        var checkpoint = SegmentationCheckpoint.Empty();
        var rows = new Dictionary<string, MemberRow>(StringComparer.Ordinal);
        var rng = new Random(3);
        var seeding = Enumerable.Range(0, 40).Select(i => new ProfileUpdate($"p{i}", Features(rng, i % 2), true)).ToList();
        var first = engine.Apply(checkpoint, rows, [], seeding, Now);
        Assert.True(first.Reseeded);

        // A profile that appears and is merged away (tombstone), one that opts out right after a change, and one that
        // changes twice: all in the next mini-batch.
        var stored = first.Upserts.ToDictionary(r => r.ProfileId);
        var sizes = stored.Values.GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        var second = engine.Apply(checkpoint, new Dictionary<string, MemberRow>(stored), sizes,
        [
            new ProfileUpdate("merged-away", Features(rng, 0), true), new ProfileUpdate("merged-away", null, false),
            new ProfileUpdate("p1", Features(rng, 1), true), new ProfileUpdate("p1", Features(rng, 1), false),
            new ProfileUpdate("p2", Features(rng, 0), true), new ProfileUpdate("p2", Features(rng, 0), true),
        ], Now);

        Assert.DoesNotContain(second.Upserts, r => r.ProfileId is "merged-away" or "p1");
        Assert.Single(second.Upserts, r => r.ProfileId == "p2");
        Assert.Contains("p1", second.Deletes);
        var live = second.Outbox.Where(m => m.Topic == catalog.Names.Segments && m.Value is not null).Select(m => Encoding.UTF8.GetString(m.Key)).ToList();
        Assert.DoesNotContain("merged-away", live);
        Assert.DoesNotContain("p1", live);
    }

    private static Dictionary<string, double> Features(Random rng, int group) => group == 0
        ? new() { ["store_spend"] = 500 + rng.Next(100), ["event_count"] = 20 + rng.Next(5), ["online_share"] = 0.05 }
        : new() { ["online_spend"] = 300 + rng.Next(100), ["event_count"] = 80 + rng.Next(10), ["online_share"] = 0.95 };
}
