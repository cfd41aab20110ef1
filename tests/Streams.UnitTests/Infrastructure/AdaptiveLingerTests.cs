using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class AdaptiveLingerTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(800);

    /// <summary>Feeds <paramref name="batches"/> batches of about <paramref name="records"/> records (±10 %) costing fixed + per record.</summary>
    private static TimeSpan Run(AdaptiveLinger linger, int batches, Func<TimeSpan, int> records, double fixedSeconds, double perRecordSeconds)
    {
        var random = new Random(7);
        for (var i = 0; i < batches; i++)
        {
            var n = (int)(records(linger.Current) * (0.9 + (0.2 * random.NextDouble())));
            linger.Observe(n, TimeSpan.FromSeconds(fixedSeconds + (perRecordSeconds * n)));
        }

        return linger.Current;
    }

    /// <summary>A stream of <paramref name="perSecond"/> records: a batch gets what comes during its linger.</summary>
    private static Func<TimeSpan, int> Stream(double perSecond) => linger => Math.Max(1, (int)(perSecond * linger.TotalSeconds));

    [Fact]
    public void Observe_FixedCostDominatesSmallBatches_LingerGrows_UntilBatchesReachTheBreakEvenSize()
    {
        // 30 ms a batch, 10 µs a record: per-batch costs dominate below 3,000 records; at 7,000 records/s a 50 ms linger
        // makes batches of ~350.
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 10_000);
        var after = Run(linger, 200, Stream(7_000), 0.030, 0.000_010);
        Assert.InRange(after, TimeSpan.FromMilliseconds(400), Budget);
        Assert.InRange(linger.FixedCost!.Value, 0.027, 0.033);
        Assert.InRange(linger.CostPerRecord!.Value, 0.000_009, 0.000_011);
    }

    [Fact]
    public void Observe_PerRecordCostDominates_LingerStaysAtTheFloor()
    {
        // 1 ms a batch, 50 µs a record: a batch of 20 already costs more per record than per batch.
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 10_000);
        Assert.Equal(Floor, Run(linger, 200, Stream(7_000), 0.001, 0.000_050));
    }

    [Fact]
    public void Observe_GrownLingerOnceRecordsDominate_ShrinksBackToTheFloor()
    {
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 10_000);
        Assert.True(Run(linger, 100, Stream(7_000), 0.030, 0.000_010) > 4 * Floor);
        // The per-batch cost became cheap (another stage's load went, the store is warm): the wait no longer pays.
        Assert.Equal(Floor, Run(linger, 200, Stream(7_000), 0.000_5, 0.000_010));
    }

    [Fact]
    public void Observe_BatchFilled_LingerHalvesTowardTheFloor()
    {
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 1_000);
        var grown = Run(linger, 100, Stream(1_000), 0.030, 0.000_010);
        Assert.True(grown > 4 * Floor);
        Assert.Equal(grown / 2, linger.Observe(1_000, TimeSpan.FromMilliseconds(40)));
        for (var i = 0; i < 10; i++)
        {
            linger.Observe(1_000, TimeSpan.FromMilliseconds(40));
        }

        Assert.Equal(Floor, linger.Current);
    }

    [Fact]
    public void Observe_Always_KeepsLingerPlusTheUsualHandlingWithinTheLatencyBudget()
    {
        // Every batch costs a fixed 300 ms, however small: only the budget stops the growth.
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 10_000);
        var after = Run(linger, 200, Stream(100), 0.300, 0);
        Assert.InRange(after, Budget - TimeSpan.FromMilliseconds(301), Budget - TimeSpan.FromMilliseconds(299));
    }

    [Fact]
    public void Observe_BatchSizesThatDoNotDiffer_GiveNoFit_AndTheLingerStays()
    {
        var linger = new AdaptiveLinger(Floor, Budget, batchSize: 10_000);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(Floor, linger.Observe(100, TimeSpan.FromMilliseconds(30)));
        }

        Assert.Null(linger.FixedCost);
    }

    [Fact]
    public void AdaptiveLinger_FloorAboveTheBudget_IsTheBudget()
    {
        // Segmentation's linger is its whole MaxBatchWait: a mini-batch is a model step, nothing to adapt.
        var linger = new AdaptiveLinger(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), batchSize: 100);
        Assert.Equal(TimeSpan.FromSeconds(1), linger.Current);
    }
}
