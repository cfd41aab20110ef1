using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;
using Streams.Profiles.Lineage;
using Streams.Profiles.Processing;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>
/// Undoing a merge (CONTRACT §5.4): the profiles re-derived from the retained events equal those of a run in which the
/// bridging event never carried the identifier it bridged with.
/// </summary>
public sealed class ProfileRederivationTests
{
    private static readonly TopicCatalog Catalog = new(new TopicsOptions());

    /// <summary>
    /// Customer 1 browses on device D with email 1; customer 2 shops with email 2 (and a loyalty card); one of customer 2's
    /// visits happens on customer 1's device (<paramref name="shareDevice"/>), which bridges the two; both go on after.
    /// </summary>
    private static List<EventItem> Stream(bool shareDevice)
    {
        var offset = 0L;
        EventItem At(CanonicalEvent e, params CanonicalIdentifier[] identifiers) =>
            new(new SourcePosition("canonical", (int)(offset % 3), offset++), e with { EventId = $"e-{offset}", Identifiers = identifiers });

        return
        [
            At(Click(T0, "page_view", dwellMs: 1000), Email("1"), Device("D")),
            At(Sale(T0.AddMinutes(1), 40, null, new CategoryAmount("shoes", 1, 40)), Email("2"), Loyalty("2")),
            At(Click(T0.AddMinutes(2), "add_to_cart"), Device("D")),
            At(Call(T0.AddMinutes(3), "billing", 120, 0.2, true), Email("2")),
            // The bridging visit: customer 2's email on customer 1's device, listed second.
            At(Click(T0.AddMinutes(4), "purchase", revenue: 99), shareDevice ? [Email("2"), Device("D")] : [Email("2")]),
            At(Click(T0.AddMinutes(5), "page_view", dwellMs: 5000), Device("D")),
            At(Sale(T0.AddMinutes(6), 15, 10, new CategoryAmount("socks", 3, 15)), Loyalty("2")),
            At(Post(T0.AddMinutes(7), "mention", 0.5), Email("1"), Social("1")),
        ];
    }

    /// <summary>Runs the events through the worker's processor in batches of <paramref name="batchSize"/> on one in-memory graph.</summary>
    private static (ProfileState State, List<LineageEvent> Lineage, List<MergeLineage> Merges) Run(List<EventItem> events, int batchSize)
    {
        var processor = new ProfileBatchProcessor(Catalog, new IdentityCaps(), new ProfileRecordWriter(), TimeSpan.FromDays(30));
        var state = new ProfileState();
        var (lineage, merges) = (new List<LineageEvent>(), new List<MergeLineage>());
        foreach (var batch in events.Chunk(batchSize))
        {
            var changes = processor.Apply(state, batch, T0.AddDays(1));
            lineage.AddRange(changes.Lineage);
            merges.AddRange(changes.MergeLineage);
        }

        return (state, lineage, merges);
    }

    private static List<RetainedEvent> Retained(List<LineageEvent> lineage) =>
        [.. lineage.Select((l, i) => new RetainedEvent(i + 1, l.Canonical, l.Event))];

    private static Dictionary<string, HashSet<string>> Blocks(MergeEvidence evidence)
    {
        var blocks = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (pseudonym, keep) in evidence.Blocks())
        {
            (blocks.TryGetValue(pseudonym, out var set) ? set : blocks[pseudonym] = new HashSet<string>(StringComparer.Ordinal)).Add(keep);
        }

        return blocks;
    }

    private static string Describe(StoredProfile p) =>
        $"{p.ProfileId} [{string.Join(",", p.SortedPseudonyms())}] {JsonSerializer.Serialize(p.Aggregate, ProfileJsonContext.Default.ProfileAggregate)}";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public void Rederive_AfterTheBridgingMerge_EqualsARunWhoseBridgingEventNeverCarriedTheDevice(int batchSize)
    {
        var (merged, lineage, merges) = Run(Stream(shareDevice: true), batchSize);
        var (reference, _, noMerges) = Run(Stream(shareDevice: false), batchSize);
        Assert.Empty(noMerges);
        var merge = Assert.Single(merges);
        var survivor = Assert.Single(merged.Profiles.Values);
        Assert.Equal([Email("2").Pseudonym, Device("D").Pseudonym], merge.Evidence.Identifiers);
        Assert.Equal([(Device("D").Pseudonym, Email("2").Pseudonym)], merge.Evidence.Blocks());

        var split = ProfileRederivation.Rederive(survivor, Retained(lineage), Blocks(merge.Evidence), new IdentityCaps(), T0.AddDays(2));

        Assert.Equal(reference.Profiles.Values.Select(Describe).Order(StringComparer.Ordinal), split.Profiles.Select(Describe));
        Assert.Contains(split.Profiles, p => p.ProfileId == merge.Absorbed);
        Assert.All(split.Profiles, p => Assert.Equal(survivor.Version + 1, p.Version));
        Assert.Empty(split.Merges);
        // Every retained event is attributed to the profile the reference run gave it.
        var owner = split.Profiles.SelectMany(p => p.Identifiers.Keys.Select(k => (k, p.ProfileId))).ToDictionary(x => x.k, x => x.ProfileId);
        Assert.Equal(lineage.Count, split.Attribution.Count);
        Assert.Equal(owner[Email("2").Pseudonym], split.Attribution[4].ProfileId);
    }

    [Fact]
    public void Rederive_DetachingTheDevice_EqualsARunWhereItNeverCameWithAnotherIdentifier()
    {
        var (merged, lineage, _) = Run(Stream(shareDevice: true), 2);
        var survivor = Assert.Single(merged.Profiles.Values);
        var device = Device("D").Pseudonym;
        var blocks = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            [device] = [.. survivor.Identifiers.Keys.Where(k => k != device)],
        };
        // The reference: the device only ever alone.
        var alone = Stream(shareDevice: true)
            .Select(e => e.Event.Identifiers.Count > 1 && e.Event.Identifiers.Any(i => i.Pseudonym == device)
                ? e with { Event = e.Event with { Identifiers = [.. e.Event.Identifiers.Where(i => i.Pseudonym != device)] } }
                : e)
            .ToList();
        var (reference, _, _) = Run(alone, 2);

        var split = ProfileRederivation.Rederive(survivor, Retained(lineage), blocks, new IdentityCaps(), T0.AddDays(2));

        Assert.Equal(3, split.Profiles.Count);
        Assert.Equal(reference.Profiles.Values.Select(Describe).Order(StringComparer.Ordinal), split.Profiles.Select(Describe));
        Assert.Single(split.Profiles, p => p.Identifiers.Count == 1 && p.Identifiers.ContainsKey(device));
    }

    [Fact]
    public void Rederive_KeepsAnOptOutOnBothParts()
    {
        var (merged, lineage, merges) = Run(Stream(shareDevice: true), 100);
        var survivor = Assert.Single(merged.Profiles.Values);
        survivor.PersonalizationAllowed = false;

        var split = ProfileRederivation.Rederive(survivor, Retained(lineage), Blocks(merges[0].Evidence), new IdentityCaps(), T0.AddDays(2));

        Assert.Equal(2, split.Profiles.Count);
        Assert.All(split.Profiles, p => Assert.False(p.PersonalizationAllowed));
    }

    [Fact]
    public void Rederive_WithAnEventNoLongerRetained_Refuses()
    {
        var (merged, lineage, merges) = Run(Stream(shareDevice: true), 100);
        var survivor = Assert.Single(merged.Profiles.Values);

        Assert.Throws<LineageIncompleteException>(() =>
            ProfileRederivation.Rederive(survivor, Retained(lineage)[1..], Blocks(merges[0].Evidence), new IdentityCaps(), T0.AddDays(2)));
    }

    [Fact]
    public void Apply_TheSameEvidenceAgainAfterTheBlock_IsAConflictAndMergesNothing()
    {
        var processor = new ProfileBatchProcessor(Catalog, new IdentityCaps(), new ProfileRecordWriter());
        var state = new ProfileState();
        var events = Stream(shareDevice: false);
        processor.Apply(state, events, T0.AddDays(1));
        state.Blocks[Device("D").Pseudonym] = [Email("2").Pseudonym];
        var again = new EventItem(new SourcePosition("canonical", 0, 99), events[4].Event with { Identifiers = [Email("2"), Device("D")] });

        var changes = processor.Apply(state, [again], T0.AddDays(1));

        Assert.Empty(changes.Merges);
        Assert.Equal(1, changes.Conflicts);
        Assert.Equal(1, changes.Blocked);
        Assert.Equal(2, state.Profiles.Count);
        var record = JsonDocument.Parse(Assert.Single(changes.Outbox, m => m.Topic.EndsWith(".quarantine", StringComparison.Ordinal)).Value);
        Assert.Equal("identity_conflict", record.RootElement.GetProperty("reasons")[0].GetProperty("code").GetString());
    }

    [Fact]
    public void Apply_LineageKeepsOnlyTheIdentifiersTheEventLinkedToItsProfile()
    {
        var processor = new ProfileBatchProcessor(Catalog, new IdentityCaps(), new ProfileRecordWriter(), TimeSpan.FromDays(1));
        var state = new ProfileState();
        state.Blocks[Device("D").Pseudonym] = [Email("2").Pseudonym];
        var item = new EventItem(new SourcePosition("canonical", 0, 1), Click(T0, "page_view") with { Identifiers = [Email("2"), Device("D")] });

        var changes = processor.Apply(state, [item], T0);

        var kept = Assert.Single(changes.Lineage);
        Assert.Equal([Email("2")], kept.Event.Identifiers);
        Assert.Equal(T0.AddDays(1), changes.LineageKeptUntil);
    }

    [Fact]
    public void Apply_WithoutLineageRetention_KeepsNoEvents()
    {
        var processor = new ProfileBatchProcessor(Catalog, new IdentityCaps(), new ProfileRecordWriter());

        var changes = processor.Apply(new ProfileState(), Stream(shareDevice: true), T0);

        Assert.Empty(changes.Lineage);
        Assert.Null(changes.LineageKeptUntil);
        Assert.Single(changes.MergeLineage);
    }
}
