using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

/// <summary>Issue 16 item 1: during a key rotation an identifier comes with its pseudonym under the previous key.</summary>
public sealed class KeyRotationResolutionTests
{
    /// <summary>The same identifier as <see cref="ProfileTestKit"/>'s, under key k2, with its k1 pseudonym as the previous one.</summary>
    private static CanonicalIdentifier Rotated(CanonicalIdentifier underK1) =>
        new(underK1.Type, "k2:" + underK1.Pseudonym[3..], underK1.Pseudonym);

    [Fact]
    public void Resolve_KnownOnlyUnderThePreviousKey_JoinsItsProfileAndCountsOnce()
    {
        var snapshot = Snapshot((Known("old", T0.AddDays(-3), (IdentifierType.Phone, 1)), [Phone("a")]));

        var r = IdentityResolver.Resolve(snapshot, [Input(0, Rotated(Phone("a")))], new IdentityCaps(Phone: 1));

        Assert.Equal(["old"], r.ProfileOf);
        Assert.Empty(r.CreatedProfiles);
        Assert.Empty(r.Conflicts);
        Assert.Equal([(Rotated(Phone("a")).Pseudonym, IdentifierType.Phone, "old")], r.NewLinks);
        Assert.Equal([(Phone("a").Pseudonym, Rotated(Phone("a")).Pseudonym)], r.Aliases);
        Assert.Equal(1, r.Profiles["old"].Counts[IdentifierType.Phone]);
    }

    [Fact]
    public void Resolve_NewIdentifierInTheWindow_LinksBothPseudonymsAndCountsOnce()
    {
        var r = IdentityResolver.Resolve(GraphSnapshot.Empty, [Input(0, Rotated(Phone("a")), Rotated(Email("a")))], new IdentityCaps(Phone: 1, Email: 1));

        Assert.Empty(r.Conflicts);
        Assert.Equal(
            [Rotated(Phone("a")).Pseudonym, Phone("a").Pseudonym, Rotated(Email("a")).Pseudonym, Email("a").Pseudonym],
            r.NewLinks.Select(l => l.Pseudonym));
        Assert.Equal(1, r.Profiles["p0"].Counts[IdentifierType.Phone]);
        Assert.Equal(1, r.Profiles["p0"].Counts[IdentifierType.Email]);
    }

    [Fact]
    public void Resolve_SecondIdentifierInTheWindow_StillHitsTheCap()
    {
        var snapshot = Snapshot((Known("old", T0, (IdentifierType.Phone, 1)), [Phone("a")]));

        var r = IdentityResolver.Resolve(snapshot, [Input(0, Rotated(Phone("a")), Rotated(Phone("b")))], new IdentityCaps(Phone: 1));

        Assert.Equal(["old"], r.ProfileOf);
        Assert.Equal([(0, Rotated(Phone("b")))], r.Conflicts);
        Assert.DoesNotContain(r.NewLinks, l => l.Pseudonym == Phone("b").Pseudonym);
    }

    [Fact]
    public void Resolve_ActiveAndPreviousOwnedByTwoProfiles_MergesThem()
    {
        // A split made before the window (an event under the new key alone) is mended by the first event carrying both.
        var snapshot = Snapshot(
            (Known("old", T0, (IdentifierType.Phone, 1)), [Phone("a")]),
            (Known("new", T0.AddDays(1), (IdentifierType.Phone, 1)), [new CanonicalIdentifier(IdentifierType.Phone, "k2:phone-a")]));

        var r = IdentityResolver.Resolve(snapshot, [Input(0, Rotated(Phone("a")))], new IdentityCaps());

        Assert.Equal([("new", "old")], r.Merges);
        Assert.Equal(["old"], r.ProfileOf);
    }

    [Fact]
    public void Snapshot_AliasRows_AreNotCounted()
    {
        var state = new ProfileState();
        var profile = new StoredProfile { ProfileId = "p", Aggregate = new ProfileAggregate() };
        profile.Identifiers["k1:phone-a"] = (IdentifierType.Phone, T0, "k2:phone-a");
        profile.Identifiers["k2:phone-a"] = (IdentifierType.Phone, T0, null);
        profile.Identifiers["k1:phone-b"] = (IdentifierType.Phone, T0, null);
        state.Add(profile);

        Assert.Equal(2, state.Snapshot().Profiles["p"].Counts[IdentifierType.Phone]);
    }

    private static readonly ProfileBatchProcessor Processor =
        new(new Streams.Contracts.Topics.TopicCatalog(new Streams.Contracts.Topics.TopicsOptions()), new IdentityCaps(), new ProfileRecordWriter());

    [Fact]
    public void Apply_EventInTheWindow_LinksTheNewPseudonymAndMarksTheOldOneItsAlias()
    {
        var state = Stored(Phone("a"), Email("a"));

        var changes = Processor.Apply(state, [Event(T0.AddDays(1), Rotated(Phone("a")), Email("a"))], T0.AddDays(2));

        Assert.Equal([(Rotated(Phone("a")).Pseudonym, new StoredLink("p-a", IdentifierType.Phone, T0.AddDays(1)))], changes.NewLinks);
        Assert.Equal([(Phone("a").Pseudonym, new StoredLink("p-a", IdentifierType.Phone, T0, Rotated(Phone("a")).Pseudonym))], changes.MovedLinks);
        Assert.Equal(1, state.Snapshot().Profiles["p-a"].Counts[IdentifierType.Phone]);
    }

    [Fact]
    public void Apply_EraseByTheNewKeyOfAProfileKnownOnlyUnderTheOldOne_ErasesIt()
    {
        var state = Stored(Phone("a"), Email("a"));
        var command = new ConsentCommand("erase-1", T0, IdentifierType.Phone, Rotated(Phone("a")).Pseudonym, ConsentAction.Erase,
            new SourcePosition("consent", 0, 0), [Phone("a").Pseudonym]);

        var changes = Processor.Apply(state, [new ConsentItem(new SourcePosition("canonical", 0, 9), command)], T0.AddDays(2));

        Assert.Equal(["p-a"], changes.Erased);
        Assert.Equal([Email("a").Pseudonym, Phone("a").Pseudonym], changes.DroppedLinks.Order(StringComparer.Ordinal));
    }

    private static ProfileState Stored(params CanonicalIdentifier[] identifiers)
    {
        var profile = new StoredProfile { ProfileId = "p-a", Aggregate = new ProfileAggregate(), Version = 3 };
        profile.Aggregate.Apply(Click(T0, "page_view"));
        foreach (var identifier in identifiers)
        {
            profile.Identifiers[identifier.Pseudonym] = (identifier.Type, T0, null);
        }

        var state = new ProfileState();
        state.Add(profile);
        return state;
    }

    private static EventItem Event(DateTimeOffset at, params CanonicalIdentifier[] identifiers) =>
        new(new SourcePosition("canonical", 0, 1), Click(at, "page_view") with { Identifiers = identifiers });
}
