using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ProfileSampleTests
{
    [Fact]
    public void Offer_SameProfileManyTimes_HoldsItOnceWithItsLatestVector()
    {
        var sample = new ProfileSample(10, 1);
        for (var i = 0; i < 30; i++)
        {
            sample.Offer("p1", [i], isNew: i == 0);
        }

        sample.Offer("p2", [7], isNew: true);

        Assert.Equal(2, sample.Items.Count);
        Assert.Equal(2, sample.Seen);
        Assert.Equal([29.0], sample.Items.Single(i => i.ProfileId == "p1").Raw);
    }

    [Fact]
    public void Offer_SaysWhetherTheSamplesVectorsChanged()
    {
        var sample = new ProfileSample(1, 1);
        Assert.True(sample.Offer("p1", [1, double.NaN], isNew: true));
        // The same vector again (NaN where it was NaN) changes nothing; another does.
        Assert.False(sample.Offer("p1", [1, double.NaN], isNew: false));
        Assert.True(sample.Offer("p1", [2, double.NaN], isNew: false));
        // Not new and not in the sample, or new and not drawn into a full one: nothing changed.
        Assert.False(sample.Offer("p2", [3], isNew: false));
        var offers = Enumerable.Range(3, 20).Select(i => (Id: $"p{i}", Changed: sample.Offer($"p{i}", [i], isNew: true))).ToList();
        // A full sample of one takes the nth profile with chance 1/n: some of the 20 are drawn, most are not.
        Assert.InRange(offers.Count(o => o.Changed), 1, 19);
        Assert.True(offers.Last(o => o.Changed).Id == sample.Items.Single().ProfileId);
    }

    [Fact]
    public void Offer_FullSample_IsUniformOverProfilesNotUpdates()
    {
        // 1,000 profiles; the first 100 send 20 updates each. A sample of updates would hold mostly those; a sample of
        // profiles holds each with the same chance, 10 %.
        var sample = new ProfileSample(100, 42);
        for (var round = 0; round < 20; round++)
        {
            for (var p = 0; p < (round == 0 ? 1000 : 100); p++)
            {
                sample.Offer($"p{p}", [p], isNew: round == 0);
            }
        }

        var busy = sample.Items.Count(i => int.Parse(i.ProfileId[1..], System.Globalization.CultureInfo.InvariantCulture) < 100);
        Assert.Equal(100, sample.Items.Count);
        Assert.Equal(1000, sample.Seen);
        Assert.InRange(busy, 3, 20);
    }

    [Fact]
    public void Offer_NotNewAndNotSampled_StaysOut()
    {
        var sample = new ProfileSample(10, 1);
        sample.Offer("p1", [1], isNew: false);
        Assert.Empty(sample.Items);
        Assert.Equal(0, sample.Seen);
    }

    [Fact]
    public void Remove_TakesTheProfileOut_AndTheStateRoundTrips()
    {
        var sample = new ProfileSample(3, 1);
        sample.Offer("a", [1], true);
        sample.Offer("b", [2], true);
        sample.Offer("c", [3], true);
        sample.Remove("a");
        sample.Remove("unknown");

        var restored = new ProfileSample(3, 1, sample.ToState());
        Assert.Equal(["b", "c"], restored.Items.Select(i => i.ProfileId).Order());
        Assert.False(restored.Contains("a"));
        restored.Offer("d", [4], true);
        Assert.Equal(3, restored.Items.Count);
        restored.Offer("b", [20], false);
        Assert.Equal([20.0], restored.Items.Single(i => i.ProfileId == "b").Raw);
    }

    /// <summary>
    /// The engine keeps a sample for the next mini-batch only while the checkpoint holds the snapshot it made, so every
    /// change (an entry, a vector replaced even by an equal one, a removal) must end that.
    /// </summary>
    [Fact]
    public void ToState_IsOneSnapshotUntilTheSampleChanges_AndOnlyThatSnapshotIsHeld()
    {
        var sample = new ProfileSample(2, 1);
        sample.Offer("a", [1], true);
        var first = sample.ToState();
        Assert.Same(first, sample.ToState());
        Assert.True(sample.Holds(first));
        Assert.False(sample.Holds(first with { }));

        var changes = new Action[]
        {
            () => sample.Offer("b", [2], true),
            () => sample.Offer("a", [1], false),
            () => sample.Offer("c", [3], true),
            () => sample.Remove(sample.Items[0].ProfileId),
        };
        foreach (var change in changes)
        {
            var before = sample.ToState();
            change();
            Assert.False(sample.Holds(before));
            Assert.NotSame(before, sample.ToState());
        }

        // What changes nothing keeps the snapshot: a profile not offered before, not new, and one not in the sample.
        var kept = sample.ToState();
        sample.Offer("z", [9], false);
        sample.Remove("unknown");
        Assert.True(sample.Holds(kept));
    }

    [Fact]
    public void State_WithAProfileTwice_IsRejected() =>
        Assert.Throws<ArgumentException>(() => new ProfileSample(5, 1, new ProfileSampleState(2, [new("a", [1]), new("a", [2])])));
}
