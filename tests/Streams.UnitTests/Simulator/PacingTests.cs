using Streams.Simulator.Publishing;

namespace Streams.UnitTests.Simulator;

/// <summary>The simulator's pace: bytes ahead of ingest per partition, and the optional rate limit.</summary>
public sealed class PacingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Backpressure_CountsAcknowledgedBytesPerPartition_UntilTheGroupCommitsPastThem()
    {
        var pressure = new Backpressure(1000);
        Send(pressure, "store", 0, offset: 0, bytes: 300);
        Send(pressure, "store", 0, offset: 1, bytes: 300);
        Send(pressure, "store", 1, offset: 0, bytes: 500);
        Assert.Equal(600, pressure.MaxAhead);
        Assert.True(pressure.MayProduce(400));
        Assert.False(pressure.MayProduce(401));

        pressure.Committed("store", 0, 1);
        Assert.Equal(500, pressure.MaxAhead);
        pressure.Committed("store", 1, 1);
        Assert.Equal(300, pressure.MaxAhead);
        // Committed offsets only grow: an older read does not bring records back.
        pressure.Committed("store", 0, 0);
        Assert.Equal(300, pressure.MaxAhead);
        pressure.Committed("store", 0, 2);
        Assert.Equal(0, pressure.MaxAhead);
    }

    [Fact]
    public void Backpressure_RecordsNotYetAcknowledged_CountAgainstEveryPartition()
    {
        var pressure = new Backpressure(1000);
        Send(pressure, "store", 0, offset: 0, bytes: 400);
        pressure.Sent(500);
        Assert.False(pressure.MayProduce(101));
        Assert.True(pressure.MayProduce(100));
        pressure.Failed(500);
        Assert.Equal(0, pressure.InFlight);
        Assert.True(pressure.MayProduce(600));
    }

    [Fact]
    public void Backpressure_ARecordLargerThanTheBound_GoesAlone_WhenNothingIsOutstanding()
    {
        var pressure = new Backpressure(1000);
        Assert.True(pressure.MayProduce(5000));
        pressure.Sent(5000);
        Assert.False(pressure.MayProduce(1));
        pressure.Delivered("store", 2, 7, 5000);
        Assert.False(pressure.MayProduce(1));
        pressure.Committed("store", 2, 8);
        Assert.True(pressure.MayProduce(1));
    }

    [Fact]
    public void Backpressure_ADeliveryBehindTheCommittedOffset_IsNotCounted_AndALateOneIsKeptInOrder()
    {
        var pressure = new Backpressure(10_000);
        pressure.Committed("social", 0, 10);
        Send(pressure, "social", 0, offset: 9, bytes: 100);
        Assert.Equal(0, pressure.MaxAhead);
        Send(pressure, "social", 0, offset: 12, bytes: 100);
        Send(pressure, "social", 0, offset: 11, bytes: 50);
        pressure.Committed("social", 0, 12);
        Assert.Equal(100, pressure.MaxAhead);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Backpressure_WithoutAPositiveBound_IsRefused(long bound) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backpressure(bound));

    [Fact]
    public void RateLimiter_SpacesRecordsEvenly_AndDoesNotBurstAfterAPause()
    {
        var limiter = new RateLimiter(100);
        Assert.True(limiter.Limited);
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(T0));
        Assert.Equal(TimeSpan.FromMilliseconds(10), limiter.Reserve(T0));
        Assert.Equal(TimeSpan.FromMilliseconds(20), limiter.Reserve(T0));
        Assert.Equal(TimeSpan.FromMilliseconds(5), limiter.Reserve(T0 + TimeSpan.FromMilliseconds(25)));

        // A second of waiting elsewhere: the next record goes now, the one after a full interval later.
        var later = T0 + TimeSpan.FromSeconds(1);
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(later));
        Assert.Equal(TimeSpan.FromMilliseconds(10), limiter.Reserve(later));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(double.PositiveInfinity)]
    public void RateLimiter_ZeroOrInfinity_IsNoLimit(double rate)
    {
        var limiter = new RateLimiter(rate);
        Assert.False(limiter.Limited);
        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Equal(TimeSpan.Zero, limiter.Reserve(T0)));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void RateLimiter_NegativeOrNaN_IsRefused(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimiter(rate));

    private static void Send(Backpressure pressure, string topic, int partition, long offset, long bytes)
    {
        pressure.Sent(bytes);
        pressure.Delivered(topic, partition, offset, bytes);
    }
}
