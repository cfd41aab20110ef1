using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class MiniBatchKMeansTests
{
    [Fact]
    public void Update_TwoDimensions_FollowsTheHandComputedSteps()
    {
        var model = Model([[0, 0], [10, 0]], [1, 1]);
        var assignments = new int[3];

        model.Update([2, 0, 4, 0, 9, 1], assignments);

        // c0: v=2, η=1/2 → (1,0); v=3, η=1/3 → (2,0), the mean of 0, 2, 4. c1: v=2, η=1/2 → (9.5, 0.5).
        Assert.Equal([0, 0, 1], assignments);
        Assert.Equal([2, 0, 9.5, 0.5], model.Centroids.ToArray());
        Assert.Equal([3, 2], model.Counts.ToArray());
    }

    [Fact]
    public void Update_AssignsTheWholeBatchBeforeMovingAnyCentroid()
    {
        var batched = Model([[0, 0], [10, 0]], [1, 1]);
        var assignments = new int[2];

        batched.Update([4, 0, 5.5, 0], assignments);

        // Against the pre-batch centroids 5.5 is nearer c1 (4.5 < 5.5), although c0 moves to (2,0) first.
        Assert.Equal([0, 1], assignments);
        Assert.Equal([2, 0, 7.75, 0], batched.Centroids.ToArray());

        var oneByOne = Model([[0, 0], [10, 0]], [1, 1]);
        oneByOne.Update([4, 0], default);
        oneByOne.Update([5.5, 0], default);

        // One point per batch: the second point sees c0 already at (2,0) and joins it, c0 = (0 + 4 + 5.5) / 3.
        Assert.Equal(19.0 / 6, oneByOne.Centroid(0)[0], 12);
        Assert.Equal([10, 0], oneByOne.Centroid(1).ToArray());
    }

    [Fact]
    public void Update_WithHalfLifeOne_HalvesEveryCountBeforeEachPoint()
    {
        var model = Model([[0, 0], [10, 0]], [3, 1], halfLife: 1);

        model.Update([4, 0], default);

        // γ = 0.5: counts (1.5, 0.5); c0 gets v = 2.5, η = 0.4 → (1.6, 0).
        Assert.Equal(1.6, model.Centroid(0)[0], 12);
        Assert.Equal([2.5, 0.5], model.Counts.ToArray());

        model.Update([10, 2], default);

        // Counts (1.25, 0.25); c1 gets v = 1.25, η = 0.8 → (10, 1.6).
        Assert.Equal([1.25, 1.25], model.Counts.ToArray());
        Assert.Equal(10, model.Centroid(1)[0], 12);
        Assert.Equal(1.6, model.Centroid(1)[1], 12);
        Assert.Equal(1.6, model.Centroid(0)[0], 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(250)]
    public void Update_HalfLifePoints_HalveTheCountOfAnIdleCentroid(int halfLife)
    {
        var model = Model([[0], [100]], [64, 1], halfLife);

        model.Update([.. Enumerable.Repeat(100.0, halfLife)], default);

        Assert.Equal(32, model.Counts[0], 9);
        Assert.Equal(0, model.Centroid(0)[0]);
    }

    [Theory]
    [InlineData(1, 5.0, 1)]
    [InlineData(2, 20.0, 7)]
    [InlineData(3, 100.0, 64)]
    [InlineData(4, null, 13)]
    public void Update_OneCentroid_IsTheExponentiallyWeightedMeanOfItsPoints(int seed, double? halfLife, int batchSize)
    {
        var rng = new Random(seed);
        const int d = 3;
        var start = RandomVector(rng, d);
        const double startCount = 4;
        var model = Model([start], [startCount], halfLife);
        var points = Enumerable.Range(0, 300).Select(_ => RandomVector(rng, d, 5)).ToList();

        Stream(model, points, batchSize);

        // S_n = γ S_{n−1} + x_n and v_n = γ v_{n−1} + 1, so the centroid is
        // (γⁿ v₀ m₀ + Σ γ^(n−i) x_i) / (γⁿ v₀ + Σ γ^(n−i)).
        var gamma = halfLife is { } h ? Math.Pow(0.5, 1 / h) : 1;
        var weight = Math.Pow(gamma, points.Count) * startCount;
        var sum = start.Select(m => m * weight).ToArray();
        var totalWeight = weight;
        for (var i = 0; i < points.Count; i++)
        {
            var w = Math.Pow(gamma, points.Count - 1 - i);
            totalWeight += w;
            for (var j = 0; j < d; j++)
            {
                sum[j] += w * points[i][j];
            }
        }

        for (var j = 0; j < d; j++)
        {
            Assert.Equal(sum[j] / totalWeight, model.Centroid(0)[j], 9);
        }

        Assert.Equal(totalWeight, model.Counts[0], 9);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Assign_RandomCentroids_MatchesBruteForceNearestAndRunnerUp(int seed)
    {
        var rng = new Random(seed);
        for (var trial = 0; trial < 50; trial++)
        {
            var k = rng.Next(1, 33);
            var d = rng.Next(1, 41);
            var centroids = RandomMeans(rng, k, d, 1);
            var model = Model(centroids, new double[k]);
            var x = RandomVector(rng, d);

            var best = model.Assign(x, out var distance, out var runnerUp, out var runnerUpDistance);

            var ranked = Enumerable.Range(0, k).OrderBy(c => SquaredDistance(x, centroids[c])).ToArray();
            Assert.Equal(ranked[0], best);
            Assert.Equal(Math.Sqrt(SquaredDistance(x, centroids[best])), distance, 9);
            Assert.Equal(k == 1 ? -1 : ranked[1], runnerUp);
            Assert.Equal(k == 1 ? double.PositiveInfinity : Math.Sqrt(SquaredDistance(x, centroids[ranked[1]])), runnerUpDistance, 9);
        }
    }

    [Fact]
    public void Assign_EqualDistances_TakesTheLowerIndex()
    {
        var model = Model([[-1, 0], [1, 0]], [1, 1]);

        Assert.Equal(0, model.Assign([0, 5], out _, out var runnerUp, out _));
        Assert.Equal(1, runnerUp);
    }

    [Fact]
    public void Assign_NotFinite_Throws()
    {
        var model = Model([[-1, 0], [1, 0]], [1, 1]);

        Assert.Throws<ArgumentException>(() => model.Assign([double.NaN, 0], out _));
        Assert.Throws<ArgumentException>(() => model.Assign([0, 0, 0], out _));
    }

    [Fact]
    public void Assign_HotPath_DoesNotAllocate()
    {
        var rng = new Random(7);
        var model = Model(RandomMeans(rng, 8, 24, 1), new double[8]);
        var x = RandomVector(rng, 24);
        // The first loop runs while tiered compilation promotes the methods (which may allocate on this thread, seen once
        // in many runs: 4 KiB); the second, measured, runs their final code.
        var sum = Loop(model, x);
        var before = GC.GetAllocatedBytesForCurrentThread();
        sum += Loop(model, x);

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.True(sum >= 0);

        static int Loop(MiniBatchKMeans model, double[] x)
        {
            var sum = 0;
            for (var i = 0; i < 10_000; i++)
            {
                sum += model.Assign(x, out _) + model.Assign(x, out _, out _, out _);
            }

            return sum;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(24)]
    [InlineData(30)]
    [InlineData(37)]
    public void SquaredDistance_SimdAndScalar_AgreeToTheBit(int d)
    {
        var rng = new Random(d);
        for (var trial = 0; trial < 100; trial++)
        {
            var a = RandomVector(rng, d, 1e3);
            var b = RandomVector(rng, d, 1e-3);

            Assert.Equal(VectorMath.SquaredDistanceScalar(a, b), VectorMath.SquaredDistanceSimd(a, b));
            var reference = SquaredDistance(a, b);
            Assert.Equal(reference, VectorMath.SquaredDistance(a, b), reference * 1e-12);
        }
    }

    [Fact]
    public void Inertia_IsTheSumOfSquaredDistancesToTheNearestCentroid()
    {
        var model = Model([[0, 0], [10, 0]], [1, 1]);

        Assert.Equal(1 + 4 + 2 + 25, model.Inertia([[1, 0], [0, 2], [9, 1], [5, 0]]));
    }

    [Fact]
    public void State_RestoredMidStream_ContinuesBitForBit()
    {
        var rng = new Random(11);
        var points = Enumerable.Range(0, 1000).Select(_ => RandomVector(rng, 6, 3)).ToList();
        var uninterrupted = Model(RandomMeans(new Random(1), 4, 6, 3), [5, 5, 5, 5], halfLife: 200);
        var first = Model(RandomMeans(new Random(1), 4, 6, 3), [5, 5, 5, 5], halfLife: 200);

        Stream(uninterrupted, points, 50);
        Stream(first, points[..500], 50);
        var restored = new MiniBatchKMeans(first.ToState(), halfLife: 200);
        Stream(restored, points[500..], 50);

        Assert.Equal(uninterrupted.Centroids.ToArray(), restored.Centroids.ToArray());
        Assert.Equal(uninterrupted.Counts.ToArray(), restored.Counts.ToArray());
    }

    [Fact]
    public void State_IsACopy()
    {
        var model = Model([[0, 0], [10, 0]], [1, 1]);
        var state = model.ToState();

        model.Update([4, 0], default);

        Assert.Equal([0, 0, 10, 0], state.Centroids);
        Assert.Equal([1, 1], state.Counts);
    }

    [Fact]
    public void Constructor_InconsistentState_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MiniBatchKMeans(new KMeansState(2, 2, [0, 0, 1], [1, 1], [0, 1], 2, 1)));
        Assert.Throws<ArgumentException>(() => new MiniBatchKMeans(new KMeansState(2, 1, [0, 1], [1, 1], [0, 0], 2, 1)));
        Assert.Throws<ArgumentException>(() => new MiniBatchKMeans(new KMeansState(2, 1, [0, 1], [1, 1], [0, 2], 2, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniBatchKMeans(new KMeansState(1, 1, [0], [1], [0], 1, 1), 0));
    }

    [Fact]
    public void FromSeed_First_NumbersSegmentsFromZeroAtVersionOne()
    {
        var model = MiniBatchKMeans.FromSeed(new KMeansSeed([[0.0, 0], [5.0, 5], [9.0, 0]], [10, 20, 30]));

        Assert.Equal([0, 1, 2], model.SegmentIds);
        Assert.Equal(3, model.NextSegmentId);
        Assert.Equal(1, model.Version);
        Assert.Equal([10, 20, 30], model.Counts.ToArray());
    }

    [Fact]
    public void FromSeed_Reseed_KeepsIdsOfMatchedCentroidsAndNeverReusesOne()
    {
        var first = MiniBatchKMeans.FromSeed(new KMeansSeed([[0.0, 0], [5.0, 5], [9.0, 0]], [1, 1, 1]));

        // Same groups, other order, one dropped: k 3 → 2.
        var second = MiniBatchKMeans.FromSeed(new KMeansSeed([[9.1, 0], [0.1, 0]], [1, 1]), first);
        Assert.Equal([2, 0], second.SegmentIds);
        Assert.Equal(2, second.Version);

        // k 2 → 3: the group at (5,5) is back but gets a fresh id, never the retired 1.
        var third = MiniBatchKMeans.FromSeed(new KMeansSeed([[5.0, 5], [0.0, 0], [9.0, 0]], [1, 1, 1]), second);
        Assert.Equal([3, 0, 2], third.SegmentIds);
        Assert.Equal(4, third.NextSegmentId);
        Assert.Equal(3, third.Version);
    }

    [Fact]
    public void FromSeed_MatchFartherThanTheLimit_IsANewSegment()
    {
        var first = MiniBatchKMeans.FromSeed(new KMeansSeed([[0.0, 0], [10.0, 0]], [1, 1]));

        var second = MiniBatchKMeans.FromSeed(new KMeansSeed([[0.5, 0], [10.0, 30]], [1, 1]), first, maxMatchDistance: 5);

        Assert.Equal([0, 2], second.SegmentIds);
    }

    [Fact]
    public void AddThenRemove_KeepTheCentroidTheMeanOfItsCurrentMembers()
    {
        var model = Model([[0, 0], [10, 0]], [0, 0]);
        model.Add(0, [2, 0]);
        model.Add(0, [4, 2]);
        model.Add(0, [6, 4]);
        Assert.Equal([4, 2], model.Centroid(0).ToArray());

        // A member changes: its old vector leaves, its new one joins. The mean of (2,0), (6,4), (10,8).
        model.Remove(0, [4, 2]);
        model.Add(0, [10, 8]);
        Assert.Equal(6, model.Centroid(0)[0], 12);
        Assert.Equal(4, model.Centroid(0)[1], 12);
        Assert.Equal(3, model.Counts[0]);

        // The last member out leaves the centroid in place with count 0; the next one in moves it all the way.
        var single = Model([[1, 1]], [1]);
        single.Remove(0, [1, 1]);
        Assert.Equal(0, single.Counts[0]);
        single.Add(0, [5, 5]);
        Assert.Equal([5, 5], single.Centroid(0).ToArray());
    }

    [Fact]
    public void SetMeans_EachCentroidIsItsPointsMean_AnEmptyOneStays()
    {
        var model = Model([[0, 0], [10, 0], [50, 50]], [9, 9, 9]);

        model.SetMeans([[1, 0], [3, 2], [10, 4]], [0, 0, 1]);

        Assert.Equal([2, 1, 10, 4, 50, 50], model.Centroids.ToArray());
        Assert.Equal([2, 1, 0], model.Counts.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => model.SetMeans([[1, 0]], [3]));
    }

    [Fact]
    public void IndexOf_FindsTheSegmentsCentroid() =>
        Assert.Equal([1, -1], new[] { 1, 7 }.Select(MiniBatchKMeans.FromSeed(new KMeansSeed([[0.0], [1.0]], [1, 1])).IndexOf));
}
