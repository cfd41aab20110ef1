using Streams.Contracts.Topics;

namespace Streams.UnitTests.Infrastructure;

public sealed class TopicCatalogTests
{
    [Fact]
    public void Catalog_HoldsEveryContractTopic_WithTheContractsPolicies()
    {
        var catalog = new TopicCatalog(new TopicsOptions());

        string[] expected =
        [
            "clickstream", "store", "callcenter", "social", "consent",
            "clickstream.quarantine", "store.quarantine", "callcenter.quarantine", "social.quarantine", "consent.quarantine",
            "profiles", "profile-merges", "segments", "segment-catalog", "streams.canonical-events", "streams.canonical-events.quarantine",
            "profiles.quarantine", "data-quality", "data-quality-alerts",
        ];
        Assert.Equal(expected.Order(), catalog.All.Select(t => t.Name).Order());
        Assert.Equal(["data-quality", "data-quality-alerts", "profiles", "segment-catalog", "segments"], catalog.All.Where(t => t.Compacted).Select(t => t.Name).Order());
        Assert.All(catalog.All.Where(t => !t.Compacted), t => Assert.Equal("delete", t.CleanupPolicy));
        Assert.Equal(7, catalog.All.Count(t => t.Role == TopicRole.Quarantine));
    }

    [Fact]
    public void Catalog_FollowsConfiguredNamesAndSizes()
    {
        var catalog = new TopicCatalog(new TopicsOptions { Store = "pos-v2", Partitions = 12, ReplicationFactor = 3 });

        Assert.Equal(TopicRole.Input, catalog["pos-v2"].Role);
        Assert.Equal(TopicRole.Quarantine, catalog["pos-v2.quarantine"].Role);
        Assert.All(catalog.All, t => Assert.Equal((12, (short)3), (t.Partitions, t.ReplicationFactor)));
        Assert.Throws<KeyNotFoundException>(() => catalog["store"]);
    }
}
