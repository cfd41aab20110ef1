using Confluent.Kafka;
using Streams.Contracts.Profiles;
using Streams.Benchmarks.Load;
using Streams.Contracts;
using Streams.Ingest;

namespace Streams.UnitTests.Benchmarks;

/// <summary>The arithmetic behind pipeline-load's figures: a wrong join or percentile would publish wrong numbers.</summary>
public sealed class PipelineLoadMeasurementTests
{
    [Fact]
    public void CommitTimeline_FirstPast_IsTheFirstObservationBeyondTheOffset()
    {
        var timeline = new CommitTimeline();
        timeline.Observe(3, 10, atMs: 1000);
        timeline.Observe(3, 10, atMs: 1050);
        timeline.Observe(3, 25, atMs: 1100);
        timeline.Observe(3, 40, atMs: 1200);

        Assert.True(timeline.TryFirstPast(3, 9, out var a));
        Assert.Equal(1000, a);
        // Committed 10 means offsets up to 9 are done: offset 10 is done only when 25 is seen.
        Assert.True(timeline.TryFirstPast(3, 10, out var b));
        Assert.Equal(1100, b);
        Assert.True(timeline.TryFirstPast(3, 39, out var c));
        Assert.Equal(1200, c);
    }

    [Fact]
    public void CommitTimeline_NotYetPassedOrUnknownPartition_IsFalse()
    {
        var timeline = new CommitTimeline();
        timeline.Observe(0, 5, atMs: 100);

        Assert.False(timeline.TryFirstPast(0, 5, out _));
        Assert.False(timeline.TryFirstPast(1, 0, out _));
    }

    [Fact]
    public void CommitTimeline_AnOffsetGoingBack_DoesNotMoveTheFirstTime()
    {
        var timeline = new CommitTimeline();
        timeline.Observe(0, 20, atMs: 100);
        timeline.Observe(0, 15, atMs: 200);
        timeline.Observe(0, 30, atMs: 300);

        Assert.True(timeline.TryFirstPast(0, 17, out var at));
        Assert.Equal(100, at);
    }

    [Theory]
    [InlineData(0.50, 50)]
    [InlineData(0.90, 90)]
    [InlineData(0.99, 99)]
    [InlineData(1.00, 100)]
    [InlineData(0.001, 1)]
    public void LatencySummary_Rank_IsNearestRank(double q, long expected) =>
        Assert.Equal(expected, LatencySummary.Rank([.. Enumerable.Range(1, 100).Select(i => (long)i)], q));

    [Fact]
    public void LatencySummary_Of_SortsAndSummarizes()
    {
        var summary = LatencySummary.Of([30, 10, 20, 40]);
        Assert.Equal(new LatencySummary(4, 20, 40, 40, 40), summary);
    }

    [Fact]
    public void LatencySummary_OfNothing_IsNaN()
    {
        var summary = LatencySummary.Of([]);
        Assert.Equal(0, summary.Count);
        Assert.True(double.IsNaN(summary.P99));
    }

    [Fact]
    public void LatencyReport_Join_MeasuresEachStage_SkipsUnknownInputs_AndCountsMissingProfileUpdates()
    {
        var produced = new ProduceLog();
        produced.OnDelivery(Delivered("store", 2, 7), timestampMs: 1_000);
        produced.OnDelivery(Delivered("social", 0, 3), timestampMs: 1_100);
        var profiles = new CommitTimeline();
        profiles.Observe(5, 101, atMs: 1_900);
        CanonicalRecord[] canonical =
        [
            new(5, 100, WrittenMs: 1_400, new SourcePosition("store", 2, 7)),
            // Produced by the warm-up (not in this log): left out.
            new(5, 99, WrittenMs: 1_300, new SourcePosition("store", 2, 6)),
            // Its profile update was never seen.
            new(6, 0, WrittenMs: 1_500, new SourcePosition("social", 0, 3)),
        ];

        var report = LatencyReport.Join(canonical, produced, profiles);

        Assert.Equal(1, report.ProduceToProfile.Count);
        Assert.Equal(900, report.ProduceToProfile.P50);
        Assert.Equal(2, report.ProduceToCanonical.Count);
        Assert.Equal(400, report.ProduceToCanonical.Max);
        Assert.Equal(500, report.CanonicalToProfile.P50);
        Assert.Equal(1, report.Unmatched);
    }

    [Fact]
    public void ProduceLog_FailedDelivery_IsCountedWithItsReason_AndHasNoTimestamp()
    {
        var log = new ProduceLog();
        var failed = Delivered("store", 0, 0);
        failed.Error = new Error(ErrorCode.MsgSizeTooLarge, "too large");
        log.OnDelivery(failed, timestampMs: 5);

        Assert.Equal(1, log.Failed);
        Assert.Equal(0, log.Delivered);
        Assert.Equal("too large", log.FirstError);
        Assert.False(log.TryGetTimestamp("store", 0, 0, out _));
    }

    [Theory]
    [InlineData(2_000_000, 400.0, 0, 16, 80_000)]
    [InlineData(2_000_000, 400.0, 4_000, 16, 16_000)]
    [InlineData(2_000_000, 400.0, 6_000, 16, 0)]
    [InlineData(1_000, 0.0, 0, 2, 2_000)]
    public void StageMonitor_Headroom_IsWhatTheWorstPartitionCanStillTake(long budget, double mean, long worstLag, int partitions, long expected) =>
        Assert.Equal(expected, StageMonitor.Headroom(budget, mean, worstLag, partitions));

    [Fact]
    public void Pacer_WithARate_AllowsNoRecordBeforeItsTurn()
    {
        var pacer = new Pacer(initialLimit: 1_000, perSecond: 1);
        Assert.True(pacer.Allows(0));
        Assert.False(pacer.Allows(500));
        Assert.False(new Pacer(initialLimit: 10).Allows(10));
        Assert.True(new Pacer(initialLimit: 10).Allows(9));
    }

    [Fact]
    public void StageSummary_Of_FindsWhenEachStageCaughtUp_AndItsRateWithABacklog()
    {
        StageSample S(string stage, long lag, long committed) => new(stage, lag, lag, committed);
        RunSample At(double seconds, long produced, long ingestLag, long ingestDone, long profilesLag, long profilesDone) =>
            new(seconds, produced, [S("ingest", ingestLag, ingestDone), S("profiles", profilesLag, profilesDone)], null, null);
        var phase = new PhaseResult(
            [S("ingest", 0, 100), S("profiles", 0, 50)],
            [
                At(0, 0, 0, 100, 0, 50),
                At(1, 400, 300, 200, 0, 50),
                At(2, 400, 100, 400, 150, 150),
                At(3, 400, 0, 500, 100, 200),
                At(4, 400, 0, 500, 0, 250),
            ],
            Seconds: 4, ProducedSeconds: 1, PeakProcessBytes: 0, PeakPostgresBytes: 0);

        var stages = StageSummary.Of(phase, produced: 400);

        Assert.Equal(["ingest", "profiles"], stages.Select(s => s.Stage));
        Assert.Equal(400, stages[0].Processed);
        Assert.Equal(3, stages[0].CaughtUpSeconds);
        Assert.Equal(2, stages[0].DrainSeconds);
        // Backlogged from 1 s to 3 s: 300 records in 2 s.
        Assert.Equal(150, stages[0].BackloggedRecordsPerSecond);
        Assert.Equal(150, stages[0].EventsPerSecondCapacity);
        Assert.Equal(200, stages[1].Processed);
        Assert.Equal(4, stages[1].CaughtUpSeconds);
        Assert.Equal(1, stages[1].DrainSeconds);
        // Backlogged from 2 s to 4 s: 100 records in 2 s; half a record per event, so 100 events a second.
        Assert.Equal(50, stages[1].BackloggedRecordsPerSecond);
        Assert.Equal(100, stages[1].EventsPerSecondCapacity);
        Assert.Equal("profiles", stages.MinBy(s => s.EventsPerSecondCapacity)!.Stage);
    }

    [Theory]
    [InlineData(new[] { "pipeline-load", "--events" }, "--events takes a whole number")]
    [InlineData(new[] { "pipeline-load", "--events", "ten" }, "got 'ten'")]
    [InlineData(new[] { "pipeline-load", "--events", "0" }, "from 1 to")]
    [InlineData(new[] { "pipeline-load", "--evnts", "10" }, "unknown option '--evnts'")]
    public void LoadRun_BadOptions_AreRefusedWithTheReason(string[] args, string reason)
    {
        var e = Assert.Throws<LoadOptionException>(() =>
        {
            LoadRun.RejectUnknown(args, "--events");
            LoadRun.Option(args, "--events", 5, min: 1);
        });
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadRun_Options_TakeThousandsSeparators_AndHostSettingsPass()
    {
        string[] args = ["pipeline-load", "--events", "1_000_000", "--Profiles:BatchSize=4000"];
        LoadRun.RejectUnknown(args, "--events");
        Assert.Equal(1_000_000, LoadRun.Option(args, "--events", 5, min: 1));
        Assert.Equal(5, LoadRun.Option(args, "--partitions", 5, min: 1));
        Assert.Equal(["--Profiles:BatchSize=4000"], args.Where(LoadRun.IsHostSetting));
    }

    [Theory]
    [InlineData(5, 20, new[] { 0, 1, 2, 3, 4 })]
    [InlineData(10, 4, new[] { 0, 3, 6, 9 })]
    [InlineData(11, 4, new[] { 0, 3, 6, 9, 10 })]
    public void Thin_SpreadsRowsEvenly_AndKeepsTheLast(int count, int rows, int[] expected) =>
        Assert.Equal(expected, PipelineReport.Thin(Enumerable.Range(0, count).ToList(), rows));

    private static DeliveryReport<byte[]?, byte[]> Delivered(string topic, int partition, long offset) => new()
    {
        Topic = topic,
        Partition = new Partition(partition),
        Offset = new Offset(offset),
        Error = new Error(ErrorCode.NoError),
        Message = new Message<byte[]?, byte[]> { Value = [] },
    };
}
