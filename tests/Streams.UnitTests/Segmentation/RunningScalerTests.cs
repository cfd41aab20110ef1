using Streams.Segmentation.Model;
using static Streams.UnitTests.Segmentation.SegmentationTestKit;

namespace Streams.UnitTests.Segmentation;

public sealed class RunningScalerTests
{
    [Theory]
    [InlineData(1, 0.0, 1.0)]
    [InlineData(2, 5.0, 0.01)]
    [InlineData(3, 1e6, 3.0)]
    [InlineData(4, -1e4, 1e-3)]
    public void Observe_ManyRows_MatchesTheTwoPassMeanAndVariance(int seed, double offset, double scale)
    {
        var rng = new Random(seed);
        const int d = 5;
        var rows = Enumerable.Range(0, 2000).Select(_ => RandomVector(rng, d, scale).Select(x => x + offset).ToArray()).ToList();
        var scaler = new RunningScaler(d);

        rows.ForEach(r => scaler.Observe(r));

        for (var j = 0; j < d; j++)
        {
            var mean = rows.Average(r => r[j]);
            var variance = rows.Sum(r => (r[j] - mean) * (r[j] - mean)) / rows.Count;
            Assert.Equal(rows.Count, scaler.Count(j));
            Assert.Equal(mean, scaler.Mean(j), Math.Max(Math.Abs(offset), 1) * 1e-12);
            Assert.Equal(Math.Sqrt(variance), scaler.StandardDeviation(j), 1e-7 * scale);
        }
    }

    [Fact]
    public void Observe_MissingValues_StayOutOfTheirDimensionOnly()
    {
        var scaler = new RunningScaler(2);

        scaler.Observe([1, double.NaN]);
        scaler.Observe([3, 10]);
        scaler.Observe([5, 20]);

        Assert.Equal(3, scaler.Count(0));
        Assert.Equal(2, scaler.Count(1));
        Assert.Equal(3, scaler.Mean(0));
        Assert.Equal(15, scaler.Mean(1));
        Assert.Equal(5, scaler.StandardDeviation(1));
    }

    [Fact]
    public void Standardize_KnownStatistics_GivesZScoresAndZeroForMissing()
    {
        var scaler = new RunningScaler(3);
        scaler.Observe([0, 10, 7]);
        scaler.Observe([4, 20, 7]);

        var z = new double[3];
        scaler.Standardize([6, double.NaN, 9], z);

        // Dimension 0: mean 2, sd 2. Dimension 1 is missing: imputed with the mean. Dimension 2 has no spread yet.
        Assert.Equal([2, 0, 0], z);
    }

    [Fact]
    public void Standardize_NothingObserved_IsZero()
    {
        var scaler = new RunningScaler(2);
        var z = new double[2];

        scaler.Standardize([3, -3], z);

        Assert.Equal([0, 0], z);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Unstandardize_InvertsStandardize(int seed)
    {
        var rng = new Random(seed);
        var scaler = new RunningScaler(4);
        for (var i = 0; i < 100; i++)
        {
            scaler.Observe(RandomVector(rng, 4, 10));
        }

        var x = RandomVector(rng, 4, 10);
        var z = new double[4];
        var back = new double[4];
        scaler.Standardize(x, z);
        scaler.Unstandardize(z, back);

        for (var j = 0; j < 4; j++)
        {
            Assert.Equal(x[j], back[j], 9);
        }
    }

    [Fact]
    public void Unstandardize_DimensionNeverSeen_IsNaN()
    {
        var scaler = new RunningScaler(2);
        scaler.Observe([1, double.NaN]);
        var back = new double[2];

        scaler.Unstandardize([0, 1], back);

        Assert.Equal(1, back[0]);
        Assert.True(double.IsNaN(back[1]));
    }

    [Fact]
    public void State_RestoredMidStream_ContinuesBitForBit()
    {
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 400).Select(_ => RandomVector(rng, 3, 7)).ToList();
        rows[17][1] = double.NaN;
        var uninterrupted = new RunningScaler(3);
        var first = new RunningScaler(3);

        rows.ForEach(r => uninterrupted.Observe(r));
        rows[..200].ForEach(r => first.Observe(r));
        var restored = new RunningScaler(first.ToState());
        rows[200..].ForEach(r => restored.Observe(r));

        Assert.Equal(uninterrupted.ToState().Counts, restored.ToState().Counts);
        Assert.Equal(uninterrupted.ToState().Mean, restored.ToState().Mean);
        Assert.Equal(uninterrupted.ToState().M2, restored.ToState().M2);
    }

    [Fact]
    public void Observe_WrongDimension_Throws()
    {
        var scaler = new RunningScaler(3);

        Assert.Throws<ArgumentException>(() => scaler.Observe([1, 2]));
        Assert.Throws<ArgumentException>(() => new RunningScaler(new RunningScalerState([1], [0, 0], [0])));
    }
}
