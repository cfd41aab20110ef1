using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>What one batch writes to the identity graph: only the rows that differ from what was loaded.</summary>
public sealed class ProfileBatchProcessorTests
{
    private static readonly ProfileBatchProcessor Processor = new(new TopicCatalog(new TopicsOptions()), new IdentityCaps(), new ProfileRecordWriter());

    private static int offset;

    [Fact]
    public void Apply_EventsOfKnownProfiles_WritesOnlyTheNewLinks()
    {
        var state = State(Stored("p-a", T0, Email("a"), Phone("a")));

        var changes = Processor.Apply(state, [Event(T0.AddHours(1), Email("a"), Device("a"))], T0.AddDays(1));

        Assert.Equal([(Device("a").Pseudonym, new StoredLink("p-a", IdentifierType.Device, T0.AddHours(1)))], changes.NewLinks);
        Assert.Empty(changes.MovedLinks);
        Assert.Empty(changes.DroppedLinks);
    }

    [Fact]
    public void Apply_BridgeBetweenStoredProfiles_MovesTheAbsorbedLinksAndKeepsTheirLinkTimes()
    {
        var state = State(Stored("p-old", T0, Email("a")), Stored("p-new", T0.AddDays(1), Phone("b"), Device("b")));

        var changes = Processor.Apply(state, [Event(T0.AddDays(2), Email("a"), Phone("b"), Social("c"))], T0.AddDays(3));

        Assert.Equal(["p-new"], changes.Deleted);
        Assert.Equal(
            [(Device("b").Pseudonym, new StoredLink("p-old", IdentifierType.Device, T0.AddDays(1))),
             (Phone("b").Pseudonym, new StoredLink("p-old", IdentifierType.Phone, T0.AddDays(1)))],
            changes.MovedLinks.OrderBy(l => l.Pseudonym, StringComparer.Ordinal));
        Assert.Equal([Social("c").Pseudonym], changes.NewLinks.Select(l => l.Pseudonym));
        Assert.Empty(changes.DroppedLinks);
    }

    [Fact]
    public void Apply_Erase_DropsEveryLinkOfTheProfile_AndAnIdentifierSeenAgainMovesToItsNewProfile()
    {
        var state = State(Stored("p-a", T0, Email("a"), Phone("a"), Device("a")), Stored("p-b", T0, Email("b")));

        var changes = Processor.Apply(state,
            [
                Erase(Phone("a")),
                Event(T0.AddDays(1), Email("a")),
                Event(T0.AddDays(1), Email("b")),
            ],
            T0.AddDays(2));

        Assert.Equal(["p-a"], changes.Erased);
        Assert.Equal([Device("a").Pseudonym, Phone("a").Pseudonym], changes.DroppedLinks.Order(StringComparer.Ordinal));
        var moved = Assert.Single(changes.MovedLinks);
        Assert.Equal(Email("a").Pseudonym, moved.Pseudonym);
        Assert.NotEqual("p-a", moved.Link.ProfileId);
        Assert.Contains(changes.Upserts, p => p.ProfileId == moved.Link.ProfileId);
        Assert.Empty(changes.NewLinks);
    }

    [Fact]
    public void Apply_Merges_TombstoneOnlyTheAbsorbedProfilesThatWereStored_AndRecordEveryMerge()
    {
        var catalog = new TopicCatalog(new TopicsOptions());
        var state = State(Stored("p-old", T0, Email("a")), Stored("p-stored", T0.AddDays(1), Phone("b")));

        // Email c and device c start two profiles in this batch; the third event bridges them, the fourth bridges the
        // survivor and both stored profiles.
        var changes = Processor.Apply(state,
            [
                Event(T0.AddDays(2), Email("c")),
                Event(T0.AddDays(2), Device("c")),
                Event(T0.AddDays(3), Email("c"), Device("c")),
                Event(T0.AddDays(4), Email("a"), Phone("b"), Email("c")),
            ],
            T0.AddDays(5));

        Assert.Equal(2, changes.Created.Count);
        Assert.Equal(3, changes.Deleted.Count);
        Assert.Equal(changes.Deleted.Order(StringComparer.Ordinal), changes.Merges.Select(m => m.Absorbed).Order(StringComparer.Ordinal));
        Assert.All(changes.Merges, m => Assert.Contains(changes.Outbox, o => o.Topic == catalog.Names.ProfileMerges && o.Key!.SequenceEqual(ProfileBatchProcessor.Key(m.Absorbed))));
        var tombstoned = changes.Outbox.Where(o => o.Value is null).Select(o => (o.Topic, System.Text.Encoding.UTF8.GetString(o.Key!))).Order().ToList();
        Assert.Equal([(catalog.Names.Profiles, "p-stored"), (catalog.Names.Segments, "p-stored")], tombstoned);
        Assert.Equal(["p-old"], changes.Upserts.Select(p => p.ProfileId));
    }

    [Fact]
    public void Apply_AnInvalidRecord_IsQuarantinedOnTheCanonicalQuarantineTopic_KeyedByItsPosition()
    {
        var invalid = new InvalidItem(new SourcePosition("streams.canonical-events", 2, 9), null,
            new QuarantineReason(ReasonCodes.MalformedJson, null, "is not JSON"), 5, new string('0', 64));

        var changes = Processor.Apply(new ProfileState(), [invalid], T0);

        var message = Assert.Single(changes.Outbox);
        Assert.Equal("streams.canonical-events.quarantine", message.Topic);
        Assert.Equal("streams.canonical-events/2/9", System.Text.Encoding.UTF8.GetString(message.Key!));
        Assert.Equal(1, changes.Invalid);
    }

    [Theory]
    [InlineData("store", "store.quarantine")]
    [InlineData("profiles", "streams.canonical-events.quarantine")]
    [InlineData("no-such-topic", "streams.canonical-events.quarantine")]
    public void Apply_AnIdentityConflict_IsQuarantinedNextToItsInput_OnlyWhenThatIsAnInputTopic(string source, string expected)
    {
        var caps = new IdentityCaps();
        var state = State(Stored("p-a", T0, [.. Enumerable.Range(0, caps.For(IdentifierType.Email)).Select(i => Email($"a{i}"))]));
        var e = Event(T0.AddDays(1), Email("a0"), Email("one-too-many"));

        var changes = Processor.Apply(state, [e with { Event = e.Event with { Source = new SourcePosition(source, 0, 1) } }], T0.AddDays(2));

        Assert.Equal(1, changes.Conflicts);
        Assert.Contains(changes.Outbox, m => m.Topic == expected);
        Assert.DoesNotContain(changes.Outbox, m => m.Topic == source + ".quarantine" && source != "store");
    }

    [Fact]
    public void ProfileRecord_Features_AreTheAggregatesFeaturesInNameOrder()
    {
        var profile = Stored("p-a", T0, Email("a"));
        profile.Aggregate.Apply(Sale(T0.AddDays(3), 20.5, 10, new CategoryAmount("food", 2, 18.45)));
        profile.Aggregate.Apply(Call(T0.AddDays(4), "complaint", 30, -0.5, false));

        var record = JsonDocument.Parse(new ProfileRecordWriter().Profile(profile, T0.AddDays(5))).RootElement;

        var expected = profile.Aggregate.Features().OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, record.GetProperty("features").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetDouble())));
    }

    private static ProfileState State(params StoredProfile[] profiles)
    {
        var state = new ProfileState();
        foreach (var profile in profiles)
        {
            state.Add(profile);
        }

        return state;
    }

    private static StoredProfile Stored(string id, DateTimeOffset linkedAt, params CanonicalIdentifier[] identifiers)
    {
        var profile = new StoredProfile { ProfileId = id, Aggregate = new ProfileAggregate(), Version = 3 };
        profile.Aggregate.Apply(Click(linkedAt, "page_view"));
        foreach (var identifier in identifiers)
        {
            profile.Identifiers[identifier.Pseudonym] = (identifier.Type, linkedAt, null);
        }

        return profile;
    }

    private static EventItem Event(DateTimeOffset at, params CanonicalIdentifier[] identifiers)
    {
        var position = new SourcePosition("canonical", 0, Interlocked.Increment(ref offset));
        return new EventItem(position, Click(at, "page_view") with { Identifiers = identifiers });
    }

    private static ConsentItem Erase(CanonicalIdentifier identifier) =>
        new(new SourcePosition("canonical", 0, Interlocked.Increment(ref offset)),
            new ConsentCommand("erase-1", T0, identifier.Type, identifier.Pseudonym, ConsentAction.Erase, new SourcePosition("consent", 0, 0)));
}
