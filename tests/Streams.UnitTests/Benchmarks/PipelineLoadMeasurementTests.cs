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

    [Fact]
    public void DownstreamTimeline_TryDone_IsTheFirstReadReachingTheEndsOfTheFirstReadBegunAfterThat()
    {
        var timeline = new DownstreamTimeline();
        // Two partitions of the topic between the stages: each read's start, the ends, its return, the downstream offsets.
        timeline.Observe(readFromMs: 1_000, ends: [10, 20], atMs: 1_002, committed: [10, 20]);
        timeline.Observe(readFromMs: 1_050, ends: [15, 20], atMs: 1_052, committed: [10, 20]);
        timeline.Observe(readFromMs: 1_100, ends: [15, 30], atMs: 1_102, committed: [15, 25]);
        timeline.Observe(readFromMs: 1_150, ends: [18, 30], atMs: 1_152, committed: [16, 30]);
        timeline.Observe(readFromMs: 1_200, ends: [18, 30], atMs: 1_202, committed: [18, 30]);

        // Reached by the same read that saw those ends.
        Assert.True(timeline.TryDone(999, out var first));
        Assert.Equal(1_002, first);
        // The ends of the read begun at 1_050; partition 0 reaches 15 at 1_102, partition 1 is already past.
        Assert.True(timeline.TryDone(1_000, out var second));
        Assert.Equal(1_102, second);
        // Partition 0 reaches 15 at 1_102 but partition 1 reaches 30 only at 1_152: the later of the two.
        Assert.True(timeline.TryDone(1_060, out var third));
        Assert.Equal(1_152, third);
        Assert.True(timeline.TryDone(1_149, out var fourth));
        Assert.Equal(1_202, fourth);
        Assert.False(timeline.TryDone(1_200, out _));
    }

    [Fact]
    public void DownstreamTimeline_NeverReached_IsFalse()
    {
        var timeline = new DownstreamTimeline();
        timeline.Observe(readFromMs: 100, ends: [5], atMs: 101, committed: [4]);
        timeline.Observe(readFromMs: 150, ends: [6], atMs: 151, committed: [5]);

        Assert.True(timeline.TryDone(50, out var at));
        Assert.Equal(151, at);
        Assert.False(timeline.TryDone(100, out _));
        Assert.False(new DownstreamTimeline().TryDone(0, out _));
    }

    [Fact]
    public void DownstreamTimeline_AnOffsetReadBackLower_StillCountsAsReached()
    {
        var timeline = new DownstreamTimeline();
        timeline.Observe(readFromMs: 100, ends: [8], atMs: 101, committed: [2]);
        timeline.Observe(readFromMs: 150, ends: [8], atMs: 151, committed: [9]);
        timeline.Observe(readFromMs: 200, ends: [9], atMs: 201, committed: [4]);
        timeline.Observe(readFromMs: 250, ends: [9], atMs: 251, committed: [4]);
        timeline.Observe(readFromMs: 300, ends: [9], atMs: 301, committed: [9]);

        Assert.True(timeline.TryDone(99, out var at));
        Assert.Equal(151, at);
    }

    [Fact]
    public void DownstreamTimeline_AReadBegunInTheSameMillisecond_IsNotTheBound()
    {
        var timeline = new DownstreamTimeline();
        timeline.Observe(readFromMs: 100, ends: [5], atMs: 101, committed: [5]);
        timeline.Observe(readFromMs: 120, ends: [8], atMs: 121, committed: [5]);
        timeline.Observe(readFromMs: 150, ends: [8], atMs: 151, committed: [8]);

        // The read begun at 100 may have begun before the upstream offsets were seen at 100: its ends may miss the record.
        Assert.True(timeline.TryDone(100, out var at));
        Assert.Equal(151, at);
    }

    [Fact]
    public void LatencyReport_Join_BoundsTheSegmentAssignmentByTheFirstReadAfterTheProfileUpdate()
    {
        var produced = new ProduceLog();
        produced.OnDelivery(Delivered("store", 2, 7), timestampMs: 1_000);
        produced.OnDelivery(Delivered("store", 2, 8), timestampMs: 1_010);
        var profiles = new CommitTimeline();
        var segments = new DownstreamTimeline();
        segments.Observe(1_850, ends: [40], atMs: 1_851, committed: [30]);
        profiles.Observe(5, 101, atMs: 1_900);
        segments.Observe(1_920, ends: [40], atMs: 1_921, committed: [35]);
        profiles.Observe(5, 102, atMs: 1_950);
        segments.Observe(1_960, ends: [45], atMs: 1_961, committed: [40]);
        segments.Observe(2_000, ends: [45], atMs: 2_001, committed: [42]);
        CanonicalRecord[] canonical =
        [
            new(5, 100, WrittenMs: 1_400, new SourcePosition("store", 2, 7)),
            // Its profile update is out at 1_950, and segmentation never reached the next read's end (45).
            new(5, 101, WrittenMs: 1_410, new SourcePosition("store", 2, 8)),
        ];

        var report = LatencyReport.Join(canonical, produced, profiles, segments);

        Assert.Equal(2, report.ProduceToProfile.Count);
        Assert.Equal(1, report.ProduceToSegment.Count);
        Assert.Equal(961, report.ProduceToSegment.P50);
        Assert.Equal(61, report.ProfileToSegment.P50);
        Assert.Equal(1, report.SegmentUnmatched);
        Assert.Equal(0, report.Unmatched);
    }

    [Theory]
    [InlineData(new[] { "pipeline-load" }, new[] { 16 })]
    [InlineData(new[] { "pipeline-load", "--partitions", "4" }, new[] { 4 })]
    [InlineData(new[] { "pipeline-load", "--partitions", "1,2, 4" }, new[] { 1, 2, 4 })]
    public void PipelineLoad_Partitions_TakesOneCountOrAList(string[] args, int[] expected) =>
        Assert.Equal(expected, PipelineLoad.PartitionsPerHost(args, fallback: 16));

    [Theory]
    [InlineData("1,,4")]
    [InlineData("1,0")]
    [InlineData("two")]
    public void PipelineLoad_Partitions_RefusesAnythingButWholeNumbers(string value) =>
        Assert.Throws<LoadOptionException>(() => PipelineLoad.PartitionsPerHost(["pipeline-load", "--partitions", value], fallback: 16));

    [Fact]
    public void CpuParts_Of_SeparatesBrokerClientsWorkersBenchAndPostgres()
    {
        var byThread = new Dictionary<string, double>
        {
            ["rdk:mock"] = 10,
            ["rdk:broker"] = 3,
            ["rdk:main"] = 1,
            ["profiles"] = 4,
            ["segmentation"] = 5,
            ["ingest"] = 2,
            [".NET TP Worker"] = 6,
            ["bench-monitor"] = 0.5,
            ["bench-producer"] = 1.5,
            [".NET BGC"] = 0.25,
            ["Streams.Benchma"] = 0.25,
        };

        var parts = CpuParts.Of(byThread, postgresSeconds: 20);

        Assert.Equal(
            [
                (CpuParts.Broker, 10), (CpuParts.Clients, 4), (CpuParts.Loop("ingest"), 2), (CpuParts.Loop("profiles"), 4),
                (CpuParts.Loop("segmentation"), 5), (CpuParts.ThreadPool, 6), (CpuParts.Bench, 2), (CpuParts.Runtime, 0.5),
                (CpuParts.Postgres, 20),
            ],
            parts);
        Assert.Equal(2 + 4 + 5 + 6 + 20, CpuParts.WorkersSeconds(parts));
        Assert.DoesNotContain(CpuParts.Of(byThread, double.NaN), p => p.Part == CpuParts.Postgres);
    }

    [Fact]
    public void ThreadCpuTracker_CountsThreadsThatEndedBeforeTheRunDid_AndANewThreadUnderAReusedId()
    {
        var tracker = new ThreadCpuTracker(new Dictionary<int, (string, double)> { [1] = ("ingest", 10), [2] = (".NET Tiered Com", 3) });

        tracker.Merge(new Dictionary<int, (string, double)> { [1] = ("ingest", 12), [2] = (".NET Tiered Com", 5), [3] = (".NET TP Worker", 1) });
        // Threads 2 and 3 end before the last readings; then id 2 is taken by a new pool thread.
        tracker.Merge(new Dictionary<int, (string, double)> { [1] = ("ingest", 15), [3] = (".NET TP Worker", 4) });
        tracker.Merge(new Dictionary<int, (string, double)> { [1] = ("ingest", 16), [2] = (".NET TP Worker", 0.5) });

        Assert.Equal(
            new Dictionary<string, double> { ["ingest"] = 6, [".NET TP Worker"] = 4.5, [".NET Tiered Com"] = 2 },
            tracker.Totals());
    }

    [Fact]
    public void CpuParts_Of_GivenTheProcesssCpu_CountsWhatNoLiveThreadUsedAsThreadsThatEnded()
    {
        var byThread = new Dictionary<string, double> { ["ingest"] = 2, ["rdk:mock"] = 3, [".NET TP Worker"] = 1.5 };

        // 6.5 s read of 14 s: threads that ended before they were read again (tiered compilation's worker) used the rest.
        var parts = CpuParts.Of(byThread, postgresSeconds: 4, processSeconds: 14);

        Assert.Contains((CpuParts.Ended, 7.5), parts);
        Assert.Equal(14 + 4, parts.Sum(p => p.Seconds), precision: 6);
        Assert.Equal(2 + 1.5 + 4, CpuParts.WorkersSeconds(parts));

        // Within the threads' own rounding (10 ms each) nothing ended; without the process's CPU nothing is guessed.
        Assert.DoesNotContain(CpuParts.Of(byThread, 4, processSeconds: 6.52), p => p.Part == CpuParts.Ended);
        Assert.DoesNotContain(CpuParts.Of(byThread, 4), p => p.Part == CpuParts.Ended);
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
    public void Pacer_WithARate_AfterAHold_KeepsTheRateInsteadOfMakingUpTheLostTimeInABurst()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var pacer = new Pacer(initialLimit: 10, perSecond: 1_000, clock);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(pacer.Allows(i));
            pacer.Count();
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        // Held by the lag limit for a second: 1,000 records' turns pass meanwhile.
        Assert.False(pacer.Allows(10));
        clock.Advance(TimeSpan.FromSeconds(1));
        pacer.Limit = 10_000;
        // Only the slack's worth goes at once (records 10–15: the late one and 5 ms of turns), not the second of turns missed.
        for (var i = 10; i <= 15; i++)
        {
            Assert.True(pacer.Allows(i));
        }

        Assert.False(pacer.Allows(16));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(pacer.Allows(16));
        Assert.Equal(1, pacer.Holds.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), pacer.Holds.Total);
        Assert.Equal(1, pacer.LostTime.Records);
        Assert.Equal(TimeSpan.FromSeconds(1) - Pacer.CatchUp, pacer.LostTime.Total);
        Assert.Equal(10, pacer.PeakPerWindow);
    }

    [Fact]
    public void Pacer_WithARate_CatchesUpOnlyWithinItsSlack()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var pacer = new Pacer(initialLimit: 1_000, perSecond: 1_000, clock);
        Assert.True(pacer.Allows(0));
        // 3 ms late is within the slack: records 1–3 go at once and no time is lost.
        clock.Advance(TimeSpan.FromMilliseconds(3));
        Assert.True(pacer.Allows(1));
        Assert.True(pacer.Allows(2));
        Assert.True(pacer.Allows(3));
        Assert.False(pacer.Allows(4));
        Assert.Equal(0, pacer.LostTime.Records);
        Assert.Equal(4, pacer.PeakPerWindow);
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

    /// <summary>The report's allocation by type must name what was allocated: a listener that heard no tick, or summed
    /// the wrong field, would print an empty or misleading table.</summary>
    [Fact]
    public void AllocationSampler_NamesTheTypeThatAllocatedMost_AndStopsCounting()
    {
        // As the runtime names it: a type of the core library, so that no other test allocates as much of it meanwhile.
        const string Name = "System.Guid[]";
        using var sampler = new AllocationSampler();
        sampler.Start();
        var kept = 0L;
        var allocated = 0L;
        // 64 MiB in arrays of 4 KiB: hundreds of ticks, nearly all of them on this type.
        Allocate(16_384);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        AllocationSample sample;
        // The runtime delivers the events on its own thread, a little after they happen, and its session may start
        // listening only after the first arrays (a clean-clone CI, with other tests allocating beside it, saw none of
        // them): more of them while waiting, until the ticks of at least 16 MiB have arrived, not only the first.
        while ((sample = Peek(sampler)).Top.Count == 0 || sample.Top[0].Type != Name || sample.Top[0].Bytes < 16L << 20)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no tick named {Name}: {string.Join(", ", sample.Top)}");
            Allocate(1_024);
            Thread.Sleep(50);
        }

        var stopped = sampler.Stop(5);
        Assert.Equal(Name, stopped.Top[0].Type);
        Assert.InRange(stopped.Top[0].Bytes, 16L << 20, 2 * allocated);
        Assert.True(stopped.SampledBytes >= stopped.Top[0].Bytes);
        Assert.True(kept > 0);

        Allocate(4_096);

        Thread.Sleep(200);
        Assert.Equal(stopped.Top[0].Bytes, sampler.Stop(5).Top.FirstOrDefault(t => t.Type == Name).Bytes);

        void Allocate(int arrays)
        {
            for (var i = 0; i < arrays; i++)
            {
                kept += new Guid[256].Length;
            }

            allocated += arrays * 4_096L;
        }

        static AllocationSample Peek(AllocationSampler sampler)
        {
            var now = sampler.Stop(5);
            sampler.Resume();
            return now;
        }
    }

    [Fact]
    public void GcActivity_Since_IsTheDifferenceOfTwoReadings()
    {
        var before = new GcActivity(1_000, 10, 4, 1, TimeSpan.FromMilliseconds(30));
        var after = new GcActivity(5_096, 13, 5, 1, TimeSpan.FromMilliseconds(75));
        Assert.Equal(new GcActivity(4_096, 3, 1, 0, TimeSpan.FromMilliseconds(45)), after.Since(before));

        var now = GcActivity.Now();
        var bytes = new byte[1 << 20];
        Assert.True(GcActivity.Now().Since(now).AllocatedBytes >= bytes.Length);
    }

    [Fact]
    public void MachineCpu_CountsIdleWithIoWait_AndBusyWithoutGuestTime_AsAShareOfTheTicksBetweenTwoReadings()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice: guest time is inside user time already.
        var before = MachineCpu.Parse("cpu  100 5 50 800 20 3 2 10 40 0");
        var after = MachineCpu.Parse("cpu  400 5 150 900 40 6 4 30 90 0");

        Assert.Equal(new MachineCpu(820, 170), before);
        Assert.Equal(120.0 / (120 + 425), after.IdleShareSince(before), 12);
        Assert.True(double.IsNaN(before.IdleShareSince(before)));
        Assert.Equal(new MachineCpu(9, 6), MachineCpu.Parse("cpu 1 2 3 9"));
        Assert.Throws<FormatException>(() => MachineCpu.Parse("cpu0 1 2 3 4 5 6 7 8"));
    }

    [Fact]
    public void MachineCpu_OnThisMachine_AdvancesWhileAThreadSpins()
    {
        var before = MachineCpu.Now();
        Assert.NotNull(before);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 100)
        {
            Thread.SpinWait(1000);
        }

        var after = MachineCpu.Now()!.Value;
        Assert.True(after.Busy > before.Value.Busy, "a spinning thread's 100 ms count as busy ticks");
        Assert.InRange(after.IdleShareSince(before.Value), 0, 1);
    }

    [Fact]
    public void CpuTicksWithReapedChildren_KeepsTheTimeOfAChildThatEndedAndWasWaitedFor()
    {
        var before = OwnStat();

        // A child that spins for a while, then prints its own user and system ticks just before it ends.
        using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh",
            ["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; cat /proc/$$/stat"]) { RedirectStandardOutput = true })!;
        var childStat = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var childFields = ProcessResources.StatFields(childStat);
        var childTicks = long.Parse(childFields[11], System.Globalization.CultureInfo.InvariantCulture)
            + long.Parse(childFields[12], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(childTicks >= 5, $"the child used {childTicks} ticks, too few to tell");

        // The child has ended: what it used is counted in this process's figures, and only by the reaped pair.
        var after = OwnStat();
        var counted = ProcessResources.CpuTicksWithReapedChildren([after]) - ProcessResources.CpuTicksWithReapedChildren([before]);
        Assert.True(counted >= childTicks, $"counted {counted} ticks, the child alone used {childTicks}");

        static string[] OwnStat() => ProcessResources.StatFields(File.ReadAllText("/proc/self/stat"));
    }

    [Fact]
    public void StatementText_IsOneLineOfATableCell_CutAtItsLimit()
    {
        Assert.Equal("`select a from t where b = $1`", PipelineReport.StatementText("select a\n    from t\r\n\twhere  b = $1\n"));
        // A pipe would end the table's cell.
        Assert.Equal("`select a \\|\\| b from t`", PipelineReport.StatementText("select a || b from t"));
        var cut = PipelineReport.StatementText("select " + new string('x', 300));
        Assert.Equal(122, cut.Length);
        Assert.EndsWith("x…`", cut, StringComparison.Ordinal);
        Assert.Equal("`" + new string('y', 120) + "`", PipelineReport.StatementText(new string('y', 120)));
    }
}
