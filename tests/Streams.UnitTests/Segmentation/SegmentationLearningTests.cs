using System.Text;
using System.Text.Json;
using Streams.Contracts.Profiles;
using Streams.Benchmarks.Quality;
using Streams.Contracts.Topics;
using Streams.Segmentation;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

/// <summary>
/// The engine learning from customers, not updates: once per profile, the maturity rule, k from the data, the
/// poor-optimum guard, stable ids across a re-seed and a catalog in step with live membership. The worker's store is a
/// dictionary here, as in the segment-quality benchmark.
/// </summary>
public sealed class SegmentationLearningTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TopicCatalog Topics = new(new TopicsOptions());

    [Fact]
    public void ProfileUpdatedManyTimes_CountsOnce_AndCentroidsAreTheMeansOfCurrentVectors()
    {
        var world = World(new SegmentationOptions { K = 3, SeedSize = 60, MinSegmentSize = 1 });
        var rng = new Random(1);
        world.Apply([.. Enumerable.Range(0, 90).Select(i => Update($"p{i}", i % 3, rng))]);

        // One profile of group 0 changes 30 times, drifting; the others stay.
        for (var i = 0; i < 30; i++)
        {
            world.Apply([Update("p0", 0, rng, drift: i / 30.0)]);
        }

        var model = new MiniBatchKMeans(world.Checkpoint.Model!);
        Assert.Equal(90, model.Counts.ToArray().Sum(), 9);
        foreach (var group in world.Store.Values.GroupBy(r => r.SegmentId!.Value))
        {
            var index = model.IndexOf(group.Key);
            Assert.Equal(group.Count(), model.Counts[index], 9);
            var mean = Mean([.. group.Select(r => SegmentationEngine.ModelVector(world.Checkpoint, r.Raw))]);
            Assert.Equal(mean, model.Centroid(index).ToArray(), (a, b) => Math.Abs(a - b) < 1e-9);
        }
    }

    [Fact]
    public void TooFewEvents_NeitherTrainsNorIsAssigned_UntilEnough()
    {
        var world = World(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1, MinEvents = 10 });
        var rng = new Random(2);
        world.Apply([.. Enumerable.Range(0, 40).Select(i => Update($"p{i}", i % 2, rng))]);
        var sampled = world.Checkpoint.Profiles.Items.Length;

        var young = Update("young", 0, rng, events: 9);
        var changes = world.Apply([young]);
        Assert.Empty(changes.Upserts);
        Assert.DoesNotContain(changes.Outbox, m => m.Topic == Topics.Names.Segments);
        Assert.Equal(sampled, world.Checkpoint.Profiles.Items.Length);
        Assert.Equal(40, new MiniBatchKMeans(world.Checkpoint.Model!).Counts.ToArray().Sum(), 9);

        changes = world.Apply([Update("young", 0, rng, events: 10)]);
        Assert.Single(changes.Upserts, r => r.ProfileId == "young/0" && r.SegmentId is not null);
    }

    [Fact]
    public void KChosenFromTheData_FindsThePlantedGroups_AndAReseedKeepsTheIds()
    {
        var world = World(new SegmentationOptions { K = 0, MinK = 2, MaxK = 8, SeedSize = 400, MinSegmentSize = 1 });
        var rng = new Random(3);
        world.Apply([.. Enumerable.Range(0, 400).Select(i => Update($"p{i}", i % 4, rng))]);

        var model = new MiniBatchKMeans(world.Checkpoint.Model!);
        Assert.Equal(4, model.K);
        var truth = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => Group(r.ProfileId)).ToList();
        var found = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => r.SegmentId!.Value).ToList();
        Assert.Equal(1, ClusterAgreement.AdjustedRandIndex(truth, found), 9);

        var reseeded = world.Engine.Reseed(world.Checkpoint, 977)!;
        var kept = world.Store.Values.Count(r =>
            reseeded.SegmentIds[reseeded.Assign(SegmentationEngine.ModelVector(world.Checkpoint, r.Raw), out _)] == r.SegmentId);
        Assert.Equal(model.Version + 1, reseeded.Version);
        Assert.True(kept >= 0.9 * world.Store.Count, $"{kept} of {world.Store.Count} kept their id");
    }

    [Fact]
    public void PoorOptimum_IsReseededByTheGuard_IdsMatchedAndVersionUp_AGoodModelIsLeftAlone()
    {
        var world = World(new SegmentationOptions { K = 3, SeedSize = 90, MinSegmentSize = 1, QualityEvery = 1 });
        var rng = new Random(4);
        world.Apply([.. Enumerable.Range(0, 90).Select(i => Update($"p{i}", i % 3, rng))]);
        var good = world.Checkpoint.Model!;

        // A good model stays: a batch fit on the same sample is not better by more than the margin.
        Assert.False(world.Apply([Update("p0", 0, rng)]).Reseeded);
        Assert.Equal(good.Version, world.Checkpoint.Model!.Version);

        // Two centroids inside one group and one between the others: a local optimum the online updates cannot leave.
        var members = world.Store.Values.GroupBy(r => Group(r.ProfileId)).ToDictionary(g => g.Key, g => g.ToList());
        var centroids = new List<double[]>
        {
            SegmentationEngine.ModelVector(world.Checkpoint, members[0][0].Raw),
            SegmentationEngine.ModelVector(world.Checkpoint, members[0][1].Raw),
            Mean([SegmentationEngine.ModelVector(world.Checkpoint, members[1][0].Raw), SegmentationEngine.ModelVector(world.Checkpoint, members[2][0].Raw)]),
        };
        world.Checkpoint.Model = good with { Centroids = [.. centroids.SelectMany(c => c)] };

        var changes = world.Apply([Update("p1", 1, rng)]);

        Assert.True(changes.Reseeded);
        var model = new MiniBatchKMeans(world.Checkpoint.Model!);
        Assert.Equal(good.Version + 1, model.Version);
        Assert.Equal(good.SegmentIds.Order(), model.SegmentIds.Order());
        var truth = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => Group(r.ProfileId)).ToList();
        var found = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => r.SegmentId!.Value).ToList();
        Assert.Equal(1, ClusterAgreement.AdjustedRandIndex(truth, found), 9);
    }

    [Fact]
    public void PoorOptimum_GuardTrainedOnASubsampleOfTheSample_StillReseeds_AndAGoodModelIsLeftAlone()
    {
        var world = World(new SegmentationOptions { K = 3, SeedSize = 300, MinSegmentSize = 1, QualityEvery = 1, FitPoints = 40 });
        var rng = new Random(9);
        world.Apply([.. Enumerable.Range(0, 300).Select(i => Update($"p{i}", i % 3, rng))]);
        var good = world.Checkpoint.Model!;
        Assert.False(world.Apply([Update("p0", 0, rng)]).Reseeded);

        var members = world.Store.Values.GroupBy(r => Group(r.ProfileId)).ToDictionary(g => g.Key, g => g.ToList());
        world.Checkpoint.Model = good with
        {
            Centroids =
            [
                .. SegmentationEngine.ModelVector(world.Checkpoint, members[0][0].Raw),
                .. SegmentationEngine.ModelVector(world.Checkpoint, members[0][1].Raw),
                .. Mean([SegmentationEngine.ModelVector(world.Checkpoint, members[1][0].Raw), SegmentationEngine.ModelVector(world.Checkpoint, members[2][0].Raw)]),
            ],
        };

        Assert.True(world.Apply([Update("p1", 1, rng)]).Reseeded);
        var truth = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => Group(r.ProfileId)).ToList();
        var found = world.Store.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal).Select(r => r.SegmentId!.Value).ToList();
        Assert.Equal(1, ClusterAgreement.AdjustedRandIndex(truth, found), 9);
    }

    [Fact]
    public void YoungModel_IsReseededWhenTheProfilesSeenDouble_UntilTheSampleIsFull()
    {
        var world = World(new SegmentationOptions { K = 2, SeedSize = 20, SampleSize = 60, MinSegmentSize = 1 });
        var rng = new Random(7);
        Assert.True(world.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"a{i}", i % 2, rng))]).Reseeded);
        Assert.False(world.Apply([.. Enumerable.Range(0, 19).Select(i => Update($"b{i}", i % 2, rng))]).Reseeded);

        var doubled = world.Apply([Update("c0", 0, rng)]);

        Assert.True(doubled.Reseeded);
        Assert.Equal(2, world.Checkpoint.Model!.Version);
        Assert.Equal(40, world.Checkpoint.SeededAt);
        // 80 seen: doubled again, and the sample (60) is now full, so this is the last growth re-seed.
        Assert.True(world.Apply([.. Enumerable.Range(0, 40).Select(i => Update($"d{i}", i % 2, rng))]).Reseeded);
        Assert.False(world.Apply([.. Enumerable.Range(0, 80).Select(i => Update($"e{i}", i % 2, rng))]).Reseeded);
    }

    [Fact]
    public void YoungModel_ChoosesKAgain_WhenItsProfilesHaveShownAsMuchAgain()
    {
        // Fewer customers than the sample holds: the profiles seen never double, so only their updates can say that the
        // seed was chosen on young behaviour. Young, groups 0 and 1 (and 2 and 3) still look alike.
        var world = World(new SegmentationOptions { SeedSize = 40, SampleSize = 200, MinSegmentSize = 1, MinK = 2, MaxK = 6 });
        var rng = new Random(11);
        var ids = Enumerable.Range(0, 40).Select(i => (Name: $"p{i}", Group: i % 4)).ToList();
        Assert.True(world.Apply([.. ids.Select(p => Young(p.Name, p.Group))]).Reseeded);
        Assert.Equal(2, world.Checkpoint.Model!.K);

        // 39 updates since the seed's 40: not yet; the 40th doubles them, and k is chosen again on what they show now.
        Assert.False(world.Apply([.. ids.Take(39).Select(p => Update(p.Name, p.Group, rng))]).Reseeded);
        Assert.True(world.Apply([Update(ids[39].Name, ids[39].Group, rng)]).Reseeded);
        Assert.Equal(4, world.Checkpoint.Model!.K);
        Assert.Equal(80, world.Checkpoint.SampleUpdatesAtSeed);
        Assert.Equal(40, world.Checkpoint.SeededAt);

        // A full sample's model is not young: its profiles' updates no longer re-seed it.
        var full = World(new SegmentationOptions { K = 2, SeedSize = 20, SampleSize = 20, MinSegmentSize = 1 });
        Assert.True(full.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"q{i}", i % 2, rng))]).Reseeded);
        Assert.False(full.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"q{i}", i % 2, rng))]).Reseeded);
        Assert.False(full.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"q{i}", i % 2, rng))]).Reseeded);

        // The profile of its own group (its id names it) with the features of the group's even neighbour.
        ProfileUpdate Young(string name, int group) => Update(name, group / 2 * 2, rng) with { ProfileId = $"{name}/{group}" };
    }

    [Fact]
    public void ModelOfAnOlderFeatureSpace_IsRetired_TheNextSeedContinuesItsVersionAndIds_FromExistingMembers()
    {
        var world = World(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1 });
        var rng = new Random(8);
        const int oldDimension = 30;
        world.Checkpoint.Model = new KMeansState(2, oldDimension, new double[2 * oldDimension], [10, 10], [4, 7], 8, 3);
        world.Checkpoint.Scaler = new RunningScaler(oldDimension).ToState();
        for (var i = 0; i < 20; i++)
        {
            var id = $"p{i}/{i % 2}";
            world.Store[id] = new MemberRow { ProfileId = id, Raw = new double[oldDimension], SegmentId = 4, ModelVersion = 3, Published = true };
        }

        var silent = new MemberRow { ProfileId = "silent/0", Raw = new double[oldDimension], SegmentId = 7, ModelVersion = 3, Published = true };
        world.Store[silent.ProfileId] = silent;

        // Only existing members send updates: they must fill the sample and seed a model of the current space.
        var changes = world.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"p{i}", i % 2, rng))]);

        Assert.True(changes.Reseeded);
        var model = new MiniBatchKMeans(world.Checkpoint.Model!);
        Assert.Equal(FeatureSpace.Dimension, model.Dimension);
        Assert.Equal(4, model.Version);
        Assert.Equal([8, 9], model.SegmentIds.Order());
        // A member that sent nothing is left as it was until its next update (its old vector has no place in the new space).
        Assert.All(world.Store.Values.Where(r => r != silent), r => Assert.Equal(4, r.ModelVersion));
        Assert.Equal(3, silent.ModelVersion);
        world.Apply([Update("silent", 0, rng)]);
        Assert.Equal(4, world.Store["silent/0"].ModelVersion);
    }

    [Fact]
    public void Catalog_FollowsLiveSizes_WithinTheTolerance()
    {
        var world = World(new SegmentationOptions { K = 2, SeedSize = 200, MinSegmentSize = 5, CatalogTolerance = 0.01 });
        var rng = new Random(5);
        var first = world.Apply([.. Enumerable.Range(0, 200).Select(i => Update($"p{i}", i % 2, rng))]);
        AssertCatalogMatchesLiveSizes(world, first);

        // One more member of 100 is within 1 %: no new record. Two more (3 %) are not.
        var quiet = world.Apply([Update("n0", 0, rng)]);
        Assert.DoesNotContain(quiet.Outbox, m => m.Topic == Topics.Names.SegmentCatalog);
        var moved = world.Apply([Update("n1", 0, rng), Update("n2", 0, rng)]);
        var record = Assert.Single(moved.Outbox, m => m.Topic == Topics.Names.SegmentCatalog);
        using var json = JsonDocument.Parse(record.Value!);
        Assert.Equal(world.LiveSize(json.RootElement.GetProperty("segment_id").GetInt32()), json.RootElement.GetProperty("size").GetInt64());
    }

    [Fact]
    public void Catalog_SegmentBelowThePrivacyFloor_IsTombstoned()
    {
        var world = World(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 10 });
        var rng = new Random(6);
        world.Apply([.. Enumerable.Range(0, 20).Select(i => Update($"p{i}", i % 2, rng))]);
        var segment = world.Store["p1/1"].SegmentId!.Value;

        var changes = world.Apply([new ProfileUpdate("p1/1", null, false)]);

        Assert.Contains(changes.Outbox, m => m.Topic == Topics.Names.SegmentCatalog && m.Value is null
            && Encoding.UTF8.GetString(m.Key) == segment.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void AssertCatalogMatchesLiveSizes(InMemorySegmentation world, MiniBatchChanges changes)
    {
        var records = changes.Outbox.Where(m => m.Topic == Topics.Names.SegmentCatalog).ToList();
        Assert.NotEmpty(records);
        foreach (var record in records)
        {
            using var json = JsonDocument.Parse(record.Value!);
            Assert.Equal(world.LiveSize(json.RootElement.GetProperty("segment_id").GetInt32()), json.RootElement.GetProperty("size").GetInt64());
        }
    }

    // A profile id carries its planted group after the slash.
    private static int Group(string profileId) =>
        int.Parse(profileId.AsSpan(profileId.IndexOf('/', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);

    // Four behaviours apart in several features, with noise; drift moves a profile within its group.
    private static ProfileUpdate Update(string name, int group, Random rng, int events = 20, double drift = 0) =>
        new($"{name}/{group}", new Dictionary<string, double>
        {
            ["event_count"] = events,
            ["online_share"] = Math.Clamp(group / 3.0 + 0.03 * (rng.NextDouble() - 0.5) + 0.02 * drift, 0, 1),
            ["avg_basket"] = 20 * Math.Pow(3, group) * (1 + 0.1 * rng.NextDouble()),
            ["complaint_share"] = group % 2 * 0.6 + 0.05 * rng.NextDouble(),
            ["max_followers"] = 100 * Math.Pow(4, 3 - group) * (1 + 0.2 * rng.NextDouble()),
        }, true);

    private static InMemorySegmentation World(SegmentationOptions options) => new(options, Now);

    private static double[] Mean(IReadOnlyList<double[]> points) =>
        [.. Enumerable.Range(0, points[0].Length).Select(j => points.Average(p => p[j]))];
}
