using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ReservoirSampleTests
{
    [Fact]
    public void Offer_UpToCapacity_KeepsEverythingInOrder()
    {
        var reservoir = new ReservoirSample<int>(5, seed: 1);

        Assert.All(Enumerable.Range(0, 5), i => Assert.True(reservoir.Offer(i)));

        Assert.Equal([0, 1, 2, 3, 4], reservoir.Items);
        Assert.Equal(5, reservoir.Seen);
    }

    [Fact]
    public void Offer_ManyMore_KeepsTheCapacityAndCountsEverything()
    {
        var reservoir = new ReservoirSample<int>(10, seed: 2);

        for (var i = 0; i < 10_000; i++)
        {
            reservoir.Offer(i);
        }

        Assert.Equal(10, reservoir.Items.Count);
        Assert.Equal(10_000, reservoir.Seen);
        Assert.Equal(10, reservoir.Items.Distinct().Count());
    }

    [Fact]
    public void Offer_SameSeed_SameSample_OtherSeed_OtherSample()
    {
        static IReadOnlyList<int> Sample(int seed)
        {
            var reservoir = new ReservoirSample<int>(20, seed);
            for (var i = 0; i < 5000; i++)
            {
                reservoir.Offer(i);
            }

            return reservoir.Items;
        }

        Assert.Equal(Sample(7), Sample(7));
        Assert.NotEqual(Sample(7), Sample(8));
    }

    [Fact]
    public void Offer_AcrossSeeds_EveryItemIsEquallyLikelyToBeKept()
    {
        const int capacity = 10;
        const int items = 100;
        const int runs = 4000;
        var kept = new int[items];
        for (var seed = 0; seed < runs; seed++)
        {
            var reservoir = new ReservoirSample<int>(capacity, seed);
            for (var i = 0; i < items; i++)
            {
                reservoir.Offer(i);
            }

            foreach (var item in reservoir.Items)
            {
                kept[item]++;
            }
        }

        // Each item is kept with probability 0.1: 400 expected, standard deviation 19; ±25 % is over 5 sigma.
        Assert.All(kept, k => Assert.InRange(k, 300, 500));
        // The first ten are not favoured: together they are kept as often as any other ten.
        Assert.InRange(kept[..capacity].Sum(), 3600, 4400);
    }

    [Fact]
    public void State_RestoredMidStream_ContinuesTheSameSample()
    {
        var uninterrupted = new ReservoirSample<int>(16, seed: 3);
        var first = new ReservoirSample<int>(16, seed: 3);
        for (var i = 0; i < 1000; i++)
        {
            uninterrupted.Offer(i);
            if (i < 400)
            {
                first.Offer(i);
            }
        }

        var restored = new ReservoirSample<int>(16, 3, first.ToState());
        for (var i = 400; i < 1000; i++)
        {
            restored.Offer(i);
        }

        Assert.Equal(uninterrupted.Items, restored.Items);
        Assert.Equal(uninterrupted.Seen, restored.Seen);
    }

    [Fact]
    public void Constructor_StateLargerThanCapacity_Throws() =>
        Assert.Throws<ArgumentException>(() => new ReservoirSample<int>(2, 1, new ReservoirState<int>(3, [1, 2, 3])));
}
