using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;

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
            "profiles.quarantine", "activation-requests", "activation-requests.quarantine", "activation-responses",
            "data-quality", "data-quality-alerts",
        ];
        Assert.Equal(expected.Order(), catalog.All.Select(t => t.Name).Order());
        Assert.Equal(["data-quality", "data-quality-alerts", "profiles", "segment-catalog", "segments"], catalog.All.Where(t => t.Compacted).Select(t => t.Name).Order());
        Assert.All(catalog.All.Where(t => !t.Compacted), t => Assert.Equal("delete", t.CleanupPolicy));
        Assert.Equal(8, catalog.All.Count(t => t.Role == TopicRole.Quarantine));
        Assert.DoesNotContain("activation-requests", catalog.Inputs);
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

    [Fact]
    public void Catalog_KeepsTombstonesAWeekOnCompactedTopics_AndBoundsPseudonymousCopiesToThirtyDays()
    {
        var catalog = new TopicCatalog(new TopicsOptions());

        foreach (var topic in catalog.All.Where(t => t.Compacted))
        {
            Assert.Equal("604800000", topic.Configs["delete.retention.ms"]);
            Assert.False(topic.Configs.ContainsKey("retention.ms"), topic.Name);
        }

        var bounded = catalog.All.Where(t => t.Configs.ContainsKey("retention.ms")).Select(t => t.Name).Order().ToList();
        Assert.Equal(
            ["activation-requests.quarantine", "callcenter.quarantine", "clickstream.quarantine", "consent.quarantine", "profiles.quarantine", "social.quarantine",
             "store.quarantine", "streams.canonical-events", "streams.canonical-events.quarantine"],
            bounded);
        Assert.All(bounded, name => Assert.Equal("2592000000", catalog[name].Configs["retention.ms"]));
        // Inputs belong to their producers, and profile-merges is a log of ids: the broker's defaults stay.
        Assert.Equal(["cleanup.policy"], catalog["clickstream"].Configs.Keys);
        Assert.Equal(["cleanup.policy"], catalog["profile-merges"].Configs.Keys);
    }

    [Fact]
    public void Catalog_FollowsConfiguredRetentions()
    {
        var catalog = new TopicCatalog(new TopicsOptions { TombstoneRetention = TimeSpan.FromDays(14), EventRetention = TimeSpan.FromHours(36) });

        Assert.Equal("1209600000", catalog["segments"].Configs["delete.retention.ms"]);
        Assert.Equal("129600000", catalog["streams.canonical-events"].Configs["retention.ms"]);
    }

    [Fact]
    public void Differences_NameEverySettingAnExistingTopicGotWrongOrDidNotReport()
    {
        var catalog = new TopicCatalog(new TopicsOptions());

        Assert.Empty(TopicProvisioner.Differences(catalog["profiles"],
            new Dictionary<string, string> { ["cleanup.policy"] = "compact", ["delete.retention.ms"] = "604800000", ["segment.ms"] = "1" }));
        Assert.Equal(
            ["topic 'profiles' has cleanup.policy=delete, the catalog wants compact",
             "topic 'profiles' has delete.retention.ms=86400000, the catalog wants 604800000"],
            TopicProvisioner.Differences(catalog["profiles"], new Dictionary<string, string> { ["delete.retention.ms"] = "86400000" }));
        Assert.Equal(
            ["topic 'streams.canonical-events' has retention.ms=(not reported), the catalog wants 2592000000"],
            TopicProvisioner.Differences(catalog["streams.canonical-events"], new Dictionary<string, string> { ["cleanup.policy"] = "delete" }));
    }
}
