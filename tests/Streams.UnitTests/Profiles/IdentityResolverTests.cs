using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Identity;
using static Streams.UnitTests.Profiles.ProfileTestKit;

namespace Streams.UnitTests.Profiles;

public sealed class IdentityResolverTests
{
    private static readonly IdentityCaps Caps = new();

    private static Resolution Resolve(GraphSnapshot snapshot, params ResolutionInput[] events) =>
        IdentityResolver.Resolve(snapshot, events, Caps);

    [Fact]
    public void Resolve_AllIdentifiersUnknown_StartsProfileWithTheInputsNewId()
    {
        var r = Resolve(GraphSnapshot.Empty, Input(0, Email("a"), Device("a")));

        Assert.Equal(["p0"], r.ProfileOf);
        Assert.Equal(["p0"], r.CreatedProfiles);
        Assert.Equal([(Email("a").Pseudonym, IdentifierType.Email, "p0"), (Device("a").Pseudonym, IdentifierType.Device, "p0")], r.NewLinks);
        Assert.Empty(r.Merges);
        Assert.Empty(r.Conflicts);
        var profile = Assert.Single(r.Profiles).Value;
        Assert.Equal(T0, profile.FirstSeen);
        Assert.Equal(1, profile.Counts[IdentifierType.Email]);
        Assert.Equal(1, profile.Counts[IdentifierType.Device]);
        Assert.False(profile.Counts.ContainsKey(IdentifierType.Phone));
    }

    [Fact]
    public void Resolve_NoIdentifiers_ProfileIsNullAndNothingIsCreated()
    {
        var r = Resolve(GraphSnapshot.Empty, Input(0), Input(1, Email("a")));

        Assert.Equal([null, "p1"], r.ProfileOf);
        Assert.Equal(["p1"], r.CreatedProfiles);
    }

    [Fact]
    public void Resolve_UnknownIdentifierWithKnownOne_JoinsTheKnownProfile()
    {
        var snapshot = Snapshot((Known("old", T0.AddDays(-3), (IdentifierType.Email, 1)), [Email("a")]));

        var r = Resolve(snapshot, Input(0, Email("a"), Phone("a")));

        Assert.Equal(["old"], r.ProfileOf);
        Assert.Empty(r.CreatedProfiles);
        Assert.Equal([(Phone("a").Pseudonym, IdentifierType.Phone, "old")], r.NewLinks);
        Assert.Equal(1, r.Profiles["old"].Counts[IdentifierType.Phone]);
        Assert.Equal(T0.AddDays(-3), r.Profiles["old"].FirstSeen);
    }

    [Fact]
    public void Resolve_IdentifierAlreadyOwnedOrRepeated_IsNotANewLink()
    {
        var snapshot = Snapshot((Known("old", T0, (IdentifierType.Email, 1)), [Email("a")]));

        var r = Resolve(snapshot, Input(0, Email("a"), Email("a")), Input(1, Device("x"), Device("x")), Input(2, Device("x"), Email("b")));

        Assert.Equal(["old", "p1", "p1"], r.ProfileOf);
        Assert.Equal([Device("x").Pseudonym, Email("b").Pseudonym], r.NewLinks.Select(l => l.Pseudonym));
        Assert.Equal(1, r.Profiles["p1"].Counts[IdentifierType.Device]);
        Assert.Equal(1, r.Profiles["old"].Counts[IdentifierType.Email]);
    }

    [Fact]
    public void Resolve_ChainWithinBatch_EndsInOneProfile()
    {
        var r = Resolve(GraphSnapshot.Empty, Input(0, Email("a"), Device("b")), Input(1, Device("b"), Phone("c")));

        Assert.Equal(["p0", "p0"], r.ProfileOf);
        Assert.Equal(3, r.NewLinks.Count);
        Assert.All(r.NewLinks, l => Assert.Equal("p0", l.ProfileId));
        Assert.Equal(["p0"], r.CreatedProfiles);
    }

    [Fact]
    public void Resolve_ChainAcrossBatches_EndsInOneProfile()
    {
        var first = Resolve(GraphSnapshot.Empty, Input(0, Email("a"), Device("b")));
        var graph = GraphSnapshot.Empty.Apply(first);

        var second = Resolve(graph, Input(1, Device("b"), Phone("c")));

        Assert.Equal(["p0"], second.ProfileOf);
        Assert.Empty(second.CreatedProfiles);
        Assert.Equal([(Phone("c").Pseudonym, IdentifierType.Phone, "p0")], second.NewLinks);
        Assert.Single(Components(graph.Apply(second)));
    }

    [Fact]
    public void Resolve_BridgeWithinBatch_MergesIntoOldestAndReportsItAsIfTheBatchWereCut()
    {
        var r = Resolve(GraphSnapshot.Empty, Input(0, Email("a")), Input(1, Device("b")), Input(2, Device("b"), Email("a")));

        Assert.Equal(["p0", "p0", "p0"], r.ProfileOf);
        Assert.Equal([("p1", "p0")], r.Merges);
        Assert.Equal(["p0", "p1"], r.CreatedProfiles);
        Assert.Equal(["p0", "p0"], r.NewLinks.Select(l => l.ProfileId));
        var profile = Assert.Single(r.Profiles).Value;
        Assert.Equal(1, profile.Counts[IdentifierType.Email]);
        Assert.Equal(1, profile.Counts[IdentifierType.Device]);
    }

    [Fact]
    public void Resolve_BridgeBetweenStoredProfiles_OldestSurvivesWhateverItsId()
    {
        var snapshot = Snapshot(
            (Known("z-old", T0.AddDays(-9), (IdentifierType.Email, 2)), [Email("a")]),
            (Known("a-young", T0.AddDays(-1), (IdentifierType.Email, 1), (IdentifierType.Device, 4)), [Device("b")]));

        var r = Resolve(snapshot, Input(0, Device("b"), Email("a")));

        Assert.Equal(["z-old"], r.ProfileOf);
        Assert.Equal([("a-young", "z-old")], r.Merges);
        var survivor = Assert.Single(r.Profiles);
        Assert.Equal("z-old", survivor.Key);
        Assert.Equal(T0.AddDays(-9), survivor.Value.FirstSeen);
        Assert.Equal(3, survivor.Value.Counts[IdentifierType.Email]);
        Assert.Equal(4, survivor.Value.Counts[IdentifierType.Device]);
        Assert.Empty(r.NewLinks);
    }

    [Fact]
    public void Resolve_MergeTie_OrdinalSmallestIdSurvives()
    {
        // Ordinal: "B" (0x42) sorts before "a" (0x61), unlike a culture-aware comparison.
        var snapshot = Snapshot(
            (Known("a", T0, (IdentifierType.Email, 1)), [Email("a")]),
            (Known("B", T0, (IdentifierType.Email, 1)), [Email("b")]));

        var r = Resolve(snapshot, Input(0, Email("a"), Email("b")));

        Assert.Equal([("a", "B")], r.Merges);
        Assert.Equal(["B"], r.ProfileOf);
    }

    [Fact]
    public void Resolve_MergeChain_ReportsEachAbsorbedProfileWithTheFinalSurvivor()
    {
        var snapshot = Snapshot(
            (Known("old", T0.AddDays(-3), (IdentifierType.Email, 1)), [Email("a")]),
            (Known("mid", T0.AddDays(-2), (IdentifierType.Email, 1)), [Email("b")]),
            (Known("young", T0.AddDays(-1), (IdentifierType.Email, 1)), [Email("c")]));

        var r = Resolve(snapshot, Input(0, Email("c"), Email("b")), Input(1, Email("b"), Email("a")));

        Assert.Equal([("young", "old"), ("mid", "old")], r.Merges);
        Assert.Equal(["old", "old"], r.ProfileOf);
        Assert.Equal(["old"], r.Profiles.Keys);
        Assert.Equal(3, r.Profiles["old"].Counts[IdentifierType.Email]);
        Assert.Single(Components(snapshot.Apply(r)));
    }

    [Fact]
    public void Resolve_MergeOfStoredIntoProfileCreatedInBatch_ReportsTheCreatedSurvivor()
    {
        var snapshot = Snapshot((Known("stored", T0.AddDays(1), (IdentifierType.Email, 1)), [Email("b")]));

        var r = Resolve(snapshot, Input(0, Email("a")), Input(1, Email("a"), Email("b")));

        Assert.Equal(["p0"], r.CreatedProfiles);
        Assert.Equal([("stored", "p0")], r.Merges);
        Assert.Equal(["p0", "p0"], r.ProfileOf);
    }

    [Fact]
    public void Resolve_EventOlderThanItsProfile_LowersFirstSeen()
    {
        var snapshot = Snapshot((Known("old", T0, (IdentifierType.Email, 1)), [Email("a")]));

        var r = Resolve(snapshot, new ResolutionInput(0, T0.AddDays(-5), [Email("a")], "unused"));

        Assert.Equal(T0.AddDays(-5), r.Profiles["old"].FirstSeen);
    }

    [Fact]
    public void Resolve_NewProfileIdOfAStoredProfile_Throws()
    {
        var snapshot = Snapshot((Known("p0", T0, (IdentifierType.Email, 1)), [Email("a")]));

        Assert.Throws<ArgumentException>(() => Resolve(snapshot, Input(0, Email("b"))));
    }

    [Fact]
    public void Resolve_SnapshotOwnerWithoutItsProfile_Throws()
    {
        var snapshot = new GraphSnapshot(new Dictionary<string, string> { [Email("a").Pseudonym] = "ghost" }, new Dictionary<string, KnownProfile>());

        Assert.Throws<ArgumentException>(() => Resolve(snapshot, Input(0, Email("a"))));
    }

    [Fact]
    public void Resolve_SameInputsTwice_GivesTheSameResolution()
    {
        ResolutionInput[] events = [Input(0, Email("a")), Input(1, Device("b"), Phone("c")), Input(2, Phone("c"), Email("a")), Input(3)];

        var first = Resolve(GraphSnapshot.Empty, events);
        var second = Resolve(GraphSnapshot.Empty, events);

        Assert.Equal(first.ProfileOf, second.ProfileOf);
        Assert.Equal(first.NewLinks, second.NewLinks);
        Assert.Equal(first.Merges, second.Merges);
        Assert.Equal(first.CreatedProfiles, second.CreatedProfiles);
        Assert.Equal(first.Profiles.Keys, second.Profiles.Keys);
    }

    /// <summary>
    /// Two partitions of the canonical topic: P links a–b–c, Q links d–e–f and then bridges c–d. Every interleaving
    /// that keeps each partition's order, cut into batches anywhere, ends in the same single profile.
    /// </summary>
    [Fact]
    public void Resolve_PartitionsInterleavedAndBatchedAnyhow_SameComponents()
    {
        CanonicalIdentifier[][] p = [[Email("a"), Device("b")], [Device("b"), Phone("c")], [Social("x")]];
        CanonicalIdentifier[][] q = [[Email("d"), Device("e")], [Device("e"), Phone("f")], [Phone("f"), Phone("c")]];
        var everyoneButX = string.Join(",", new[] { Email("a"), Device("b"), Phone("c"), Email("d"), Device("e"), Phone("f") }
            .Select(i => i.Pseudonym).Order(StringComparer.Ordinal));
        var expected = new[] { everyoneButX, Social("x").Pseudonym }.Order(StringComparer.Ordinal).ToList();

        var runs = 0;
        foreach (var order in Interleavings(p.Length, q.Length))
        {
            var (pi, qi) = (0, 0);
            var events = order.Select((fromP, i) => new ResolutionInput(i, T0.AddMinutes(i), fromP ? p[pi++] : q[qi++], $"n{i}")).ToList();
            for (var cut = 1; cut <= events.Count; cut++)
            {
                Assert.Equal(expected, Components(ResolveInBatches(events, Enumerable.Repeat(cut, events.Count), Caps)));
                runs++;
            }
        }

        Assert.Equal(20 * 6, runs);
    }

    private static IEnumerable<bool[]> Interleavings(int fromP, int fromQ) =>
        fromP == 0 && fromQ == 0 ? [[]]
        : (fromP > 0 ? Interleavings(fromP - 1, fromQ).Select(rest => (bool[])[true, .. rest]) : [])
            .Concat(fromQ > 0 ? Interleavings(fromP, fromQ - 1).Select(rest => (bool[])[false, .. rest]) : []);

    [Fact]
    public void Resolve_NewIdentifierBeyondItsCap_IsRefusedAndTheEventStillCounts()
    {
        var caps = new IdentityCaps(Email: 2);

        var r = IdentityResolver.Resolve(GraphSnapshot.Empty,
            [Input(0, Loyalty("card"), Email("1")), Input(1, Loyalty("card"), Email("2")), Input(2, Loyalty("card"), Email("3"))], caps);

        Assert.Equal(["p0", "p0", "p0"], r.ProfileOf);
        Assert.Equal([(2, Email("3"))], r.Conflicts);
        Assert.DoesNotContain(r.NewLinks, l => l.Pseudonym == Email("3").Pseudonym);
        Assert.Equal(2, r.Profiles["p0"].Counts[IdentifierType.Email]);
    }

    [Fact]
    public void Resolve_RefusedIdentifierLater_StartsItsOwnProfile()
    {
        var caps = new IdentityCaps(Email: 1);

        var r = IdentityResolver.Resolve(GraphSnapshot.Empty,
            [Input(0, Loyalty("card"), Email("1")), Input(1, Loyalty("card"), Email("2")), Input(2, Email("2"), Device("2"))], caps);

        Assert.Equal(["p0", "p0", "p2"], r.ProfileOf);
        Assert.Equal([(1, Email("2"))], r.Conflicts);
    }

    [Fact]
    public void Resolve_StoredProfileAtItsCap_RefusesOneMore()
    {
        var snapshot = Snapshot((Known("card", T0.AddDays(-1), (IdentifierType.Loyalty, 3)), [Loyalty("a")]));

        var r = Resolve(snapshot, Input(0, Loyalty("a"), Loyalty("b"), Email("x")));

        Assert.Equal(["card"], r.ProfileOf);
        Assert.Equal([(0, Loyalty("b"))], r.Conflicts);
        Assert.Equal([Email("x").Pseudonym], r.NewLinks.Select(l => l.Pseudonym));
    }

    [Fact]
    public void Resolve_MergeBeyondACap_IsRefusedAndTheEventStaysWithItsFirstIdentifiersProfile()
    {
        var snapshot = Snapshot(
            (Known("old", T0.AddDays(-9), (IdentifierType.Loyalty, 3)), [Loyalty("full")]),
            (Known("young", T0.AddDays(-1), (IdentifierType.Loyalty, 1), (IdentifierType.Email, 1)), [Loyalty("mine"), Email("me")]));

        var r = Resolve(snapshot, Input(0, Email("me"), Loyalty("full"), Device("new")));

        Assert.Equal(["young"], r.ProfileOf);
        Assert.Empty(r.Merges);
        Assert.Equal([(0, Loyalty("full"))], r.Conflicts);
        Assert.Equal([(Device("new").Pseudonym, IdentifierType.Device, "young")], r.NewLinks);
        Assert.Equal(["young"], r.Profiles.Keys);
    }

    [Fact]
    public void Resolve_ThreeProfilesOneTooMany_MergesThoseThatFitAndRefusesTheRest()
    {
        var snapshot = Snapshot(
            (Known("first", T0.AddDays(-1), (IdentifierType.Email, 3)), [Email("a")]),
            (Known("second", T0.AddDays(-5), (IdentifierType.Email, 2)), [Email("b")]),
            (Known("third", T0.AddDays(-9), (IdentifierType.Email, 1)), [Email("c"), Phone("c")]));

        var r = Resolve(snapshot, Input(0, Email("a"), Email("c"), Email("b"), Phone("c")));

        // "first" anchors; "third" fits (3 + 1 emails) and is older, so it survives; "second" would make 6 > 5.
        Assert.Equal([("first", "third")], r.Merges);
        Assert.Equal(["third"], r.ProfileOf);
        Assert.Equal([(0, Email("b"))], r.Conflicts);
        Assert.Equal(4, r.Profiles["third"].Counts[IdentifierType.Email]);
    }

    [Fact]
    public void Resolve_RefusedMerge_ReportsEveryIdentifierOfTheRefusedProfileInEventOrder()
    {
        var snapshot = Snapshot(
            (Known("mine", T0, (IdentifierType.Email, 5)), [Email("a")]),
            (Known("other", T0, (IdentifierType.Email, 1), (IdentifierType.Phone, 1)), [Email("z"), Phone("z")]));

        var r = Resolve(snapshot, Input(7, Email("a"), Phone("z"), Email("new"), Email("z")));

        Assert.Equal([(7, Phone("z")), (7, Email("new")), (7, Email("z"))], r.Conflicts);
    }

    /// <summary>The example: one loyalty card shared by 100 people must not fuse them into one profile.</summary>
    [Fact]
    public void Resolve_SharedLoyaltyCardOfAHundredPeople_KeepsAtMostFiveEmailsOnTheCard()
    {
        var people = Enumerable.Range(0, 100).ToList();
        var events = people.Select(i => Input(i, Loyalty("shared"), Email($"{i}"))).ToArray();

        var r = Resolve(GraphSnapshot.Empty, events);
        var graph = GraphSnapshot.Empty.Apply(r);

        var card = graph.Owners[Loyalty("shared").Pseudonym];
        Assert.Equal(5, graph.Owners.Count(o => o.Value == card && o.Key.StartsWith("k1:email-", StringComparison.Ordinal)));
        Assert.Equal(95, r.Conflicts.Count);
        Assert.All(r.Conflicts, c => Assert.Equal(IdentifierType.Email, c.Refused.Type));
        Assert.Equal(people.Skip(5), r.Conflicts.Select(c => c.Index));
        Assert.All(r.ProfileOf, p => Assert.Equal(card, p));
    }

    [Fact]
    public void Resolve_SharedLoyaltyCardOfPeopleWithTheirOwnProfiles_FusesAtMostFive()
    {
        // Each person is first known online (device + email), then shows the shared card in a store.
        var online = Enumerable.Range(0, 100).Select(i => Input(i, Device($"{i}"), Email($"{i}")));
        var store = Enumerable.Range(0, 100).Select(i => Input(100 + i, Loyalty("shared"), Email($"{i}")));

        var graph = ResolveInBatches([.. online, .. store], [37, 50, 13, 60], Caps);

        var card = graph.Owners[Loyalty("shared").Pseudonym];
        var components = graph.Owners.GroupBy(o => o.Value).ToList();
        var onCard = components.Single(c => c.Key == card);
        Assert.Equal(5, onCard.Count(o => o.Key.StartsWith("k1:email-", StringComparison.Ordinal)));
        Assert.Equal(5, onCard.Count(o => o.Key.StartsWith("k1:device-", StringComparison.Ordinal)));
        Assert.Equal(96, components.Count);
        Assert.All(graph.Profiles.Values, p => Assert.True(p.Counts.GetValueOrDefault(IdentifierType.Email) <= 5));
    }

    [Theory]
    [InlineData(IdentifierType.Email, 5)]
    [InlineData(IdentifierType.Phone, 5)]
    [InlineData(IdentifierType.Loyalty, 3)]
    [InlineData(IdentifierType.Device, 20)]
    [InlineData(IdentifierType.Social, 10)]
    public void IdentityCaps_Defaults_AreTheContracts(IdentifierType type, int expected) =>
        Assert.Equal(expected, new IdentityCaps().For(type));

    [Fact]
    public void IdentityCaps_UnknownType_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdentityCaps().For((IdentifierType)99));

    [Fact]
    public void Resolve_ACardBesideWhichTheCapsRefusedNewEmails_IsMarkedSharedAtTheNthRefusal_AndLinksNothingAfter()
    {
        // A family card whose profile already holds the email cap: every further member's new email is refused beside it.
        var caps = new IdentityCaps(Email: 1, SharedAfterRefusals: 2);
        var snapshot = Snapshot((Known("fam", T0.AddDays(-1), (IdentifierType.Email, 1), (IdentifierType.Loyalty, 1)), [Email("m1"), Loyalty("card")]));

        var r = IdentityResolver.Resolve(snapshot,
            [Input(0, Loyalty("card"), Email("m2")), Input(1, Email("m3"), Loyalty("card")), Input(2, Loyalty("card"), Email("m4")), Input(3, Loyalty("card"))],
            caps);

        Assert.Equal([(0, Email("m2")), (1, Email("m3"))], r.Conflicts);
        Assert.Equal([Loyalty("card").Pseudonym], r.NewlyShared);
        Assert.Equal(new IdentifierMark(2, T0.AddMinutes(1)), r.Marks[Loyalty("card").Pseudonym]);
        // From then on the card is left out: m4 starts a profile of its own, and an event with the card alone links nothing.
        Assert.Equal([(2, Loyalty("card")), (3, Loyalty("card"))], r.SharedRefusals);
        Assert.Equal(["fam", "fam", "p2", null], r.ProfileOf);
        Assert.Equal([(Email("m4").Pseudonym, IdentifierType.Email, "p2")], r.NewLinks);
        Assert.False(r.Marks.ContainsKey(Email("m1").Pseudonym));
    }

    [Fact]
    public void Resolve_WithTheRuleOff_CountsRefusalsButMarksNothing()
    {
        var snapshot = Snapshot((Known("fam", T0, (IdentifierType.Email, 1)), [Email("m1"), Loyalty("card")]));

        var r = IdentityResolver.Resolve(snapshot,
            [.. Enumerable.Range(0, 5).Select(i => Input(i, Loyalty("card"), Email($"n{i}")))], new IdentityCaps(Email: 1));

        Assert.Equal(5, r.Conflicts.Count);
        Assert.Empty(r.NewlyShared);
        Assert.Empty(r.SharedRefusals);
        Assert.Equal(new IdentifierMark(5, null), r.Marks[Loyalty("card").Pseudonym]);
    }

    [Fact]
    public void Resolve_AMergeRefusedBetweenTwoKnownProfiles_MarksNeitherSide()
    {
        var snapshot = Snapshot(
            (Known("a", T0, (IdentifierType.Email, 1)), [Email("a")]),
            (Known("b", T0, (IdentifierType.Email, 1)), [Email("b")]));

        var r = IdentityResolver.Resolve(snapshot, [Input(0, Email("a"), Email("b"))], new IdentityCaps(Email: 1, SharedAfterRefusals: 1));

        Assert.Single(r.Conflicts);
        Assert.Empty(r.Marks);
    }

    [Fact]
    public void Resolve_AnIdentifierMarkedSharedBefore_IsLeftOutOfEveryEvent()
    {
        var snapshot = Snapshot((Known("lib", T0, (IdentifierType.Device, 1), (IdentifierType.Email, 1)), [Device("library"), Email("x")]))
            with { Marks = new Dictionary<string, IdentifierMark> { [Device("library").Pseudonym] = new(3, T0) } };

        var r = IdentityResolver.Resolve(snapshot, [Input(0, Device("library"), Email("y")), Input(1, Device("library"), Email("x"))], new IdentityCaps());

        Assert.Equal(["p0", "lib"], r.ProfileOf);
        Assert.Equal([(0, Device("library")), (1, Device("library"))], r.SharedRefusals);
        Assert.Empty(r.Conflicts);
    }
}
