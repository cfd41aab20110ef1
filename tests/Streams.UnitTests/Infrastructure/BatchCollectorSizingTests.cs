using Microsoft.Extensions.Time.Testing;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;

namespace Streams.UnitTests.Infrastructure;

/// <summary>When a batch closes: full, at the end of its linger on a thin stream, or at its longest wait while a backlog feeds it.</summary>
public sealed class BatchCollectorSizingTests
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void Collect_ThinStream_ClosesAtTheEndOfTheLingerWithWhatCame()
    {
        // Three records fetched at once, one more within the linger, the next long after; the broker holds nothing more.
        var stream = new ScriptedStream(0, 0, 0, 30, 500);
        var batch = stream.Collect(maxRecords: 1000, backlog: 0);
        Assert.Equal(4, batch.Count);
        Assert.Equal(Linger, stream.Elapsed);
    }

    [Fact]
    public void Collect_BacklogOnTheBroker_WaitsPastTheLingerUntilTheBatchIsFull()
    {
        // A record every 10 ms, each fetch bringing one: under load the batch fills rather than closing after the linger.
        var stream = new ScriptedStream([.. Enumerable.Range(0, 30).Select(i => i * 10)]);
        var batch = stream.Collect(maxRecords: 12, backlog: 1);
        Assert.Equal(12, batch.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(110), stream.Elapsed);
    }

    [Fact]
    public void Collect_BacklogThatNeverFillsTheBatch_ClosesAtTheLongestWaitOfItsFirstRecord()
    {
        var stream = new ScriptedStream([.. Enumerable.Range(0, 100).Select(i => 5 + (i * 10))]);
        var batch = stream.Collect(maxRecords: 1000, backlog: 1);
        // 5, 15, …, 205: the last arrives just as the longest wait ends.
        Assert.Equal(21, batch.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(5) + MaxWait, stream.Elapsed);
    }

    [Fact]
    public void Collect_ThinStreamWithRecordsReadAheadThatWaitedTheLinger_ClosesAtOnce()
    {
        var stream = new ScriptedStream(40);
        var batch = stream.Collect(maxRecords: 1000, backlog: 0, readAhead: 5, waited: TimeSpan.FromMilliseconds(60));
        Assert.Equal(5, batch.Count);
        Assert.Equal(TimeSpan.Zero, stream.Elapsed);
    }

    [Fact]
    public void Collect_ThinStreamWithRecordsReadAheadJustNow_LingersOnlyWhatIsLeftOfTheLinger()
    {
        var stream = new ScriptedStream(10, 100);
        var batch = stream.Collect(maxRecords: 1000, backlog: 0, readAhead: 5, waited: TimeSpan.FromMilliseconds(20));
        Assert.Equal(6, batch.Count);
        Assert.Equal(Linger - TimeSpan.FromMilliseconds(20), stream.Elapsed);
    }

    [Fact]
    public void Collect_FetchedRecordsSlowToTake_ClosesAtTheLongestWaitAnyway()
    {
        // 100 records fetched at once, each taking 5 ms to understand as it is added: the batch stops at 200 ms.
        var stream = new ScriptedStream([.. Enumerable.Repeat(0, 100)]) { AddCost = TimeSpan.FromMilliseconds(5) };
        var batch = stream.Collect(maxRecords: 1000, backlog: 1);
        Assert.Equal(40, batch.Count);
        Assert.Equal(MaxWait, stream.Elapsed);
    }

    [Fact]
    public void Collect_TakesWhatIsFetchedWithoutAskingForTheBacklog()
    {
        // Reading the backlog costs a call per partition: it is asked only when the fetched records run out after the linger.
        var stream = new ScriptedStream([.. Enumerable.Repeat(0, 50)]);
        var batch = stream.Collect(maxRecords: 50, backlog: 1);
        Assert.Equal(50, batch.Count);
        Assert.Equal(0, stream.BacklogReads);
    }

    [Fact]
    public void Collect_IdleInput_ReturnsEmptyAfterTheLongestWait_BeatingOnEachIdlePoll()
    {
        var stream = new ScriptedStream();
        var batch = stream.Collect(maxRecords: 10, backlog: 0);
        Assert.Empty(batch);
        Assert.True(stream.Elapsed >= MaxWait, $"returned after {stream.Elapsed}");
        Assert.True(stream.IdlePolls >= 1);
    }

    [Fact]
    public void Collect_RecordAfterAnIdlePoll_OpensTheBatchWhenItComes()
    {
        // The linger counts from the first record, not from the call.
        var stream = new ScriptedStream(100, 120, 400);
        var batch = stream.Collect(maxRecords: 10, backlog: 0);
        Assert.Equal(2, batch.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(100) + Linger, stream.Elapsed);
    }

    [Fact]
    public void Linger_DefaultsToAQuarterOfTheLongestWait_AndNeverExceedsIt()
    {
        var settings = new CheckpointedBatchSettings("w", "c", null, "g", "client", ["t"], 100, MaxWait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal(Linger, settings.Linger);
        Assert.Equal(MaxWait, (settings with { BatchLinger = TimeSpan.FromSeconds(3) }).Linger);
        Assert.Equal(TimeSpan.FromMilliseconds(10), (settings with { BatchLinger = TimeSpan.FromMilliseconds(10) }).Linger);
    }

    [Fact]
    public void CheckpointedConsumer_HoldsAnEmptyFetchAboutAsLongAsABatchLingers()
    {
        Assert.Equal(50, WorkerConsumerConfig.Checkpointed("b", "g", "c", Linger).FetchWaitMaxMs);
        Assert.Equal(500, WorkerConsumerConfig.Checkpointed("b", "g", "c", TimeSpan.FromSeconds(1)).FetchWaitMaxMs);
    }

    /// <summary>Records that reach the consumer at given milliseconds on a fake clock that moves only while a poll waits.</summary>
    private sealed class ScriptedStream(params int[] arrivalsMs)
    {
        private readonly FakeTimeProvider clock = new();
        private readonly DateTimeOffset start = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
        private int next;

        public TimeSpan Elapsed => clock.GetUtcNow() - start;

        public int BacklogReads { get; private set; }

        public int IdlePolls { get; private set; }

        public TimeSpan AddCost { get; init; }

        public List<object> Collect(int maxRecords, long backlog, int readAhead = 0, TimeSpan waited = default)
        {
            clock.SetUtcNow(start);
            var batch = Enumerable.Range(0, readAhead).Select(_ => new object()).ToList();
            BatchCollector.Collect(Poll, () =>
                {
                    BacklogReads++;
                    return backlog;
                },
                () => batch.Count, record =>
                {
                    batch.Add(record);
                    clock.Advance(AddCost);
                },
                maxRecords, MaxWait, Linger, waited, () => IdlePolls++, clock, CancellationToken.None);
            return batch;
        }

        private object? Poll(TimeSpan wait)
        {
            if (next < arrivalsMs.Length && start.AddMilliseconds(arrivalsMs[next]) <= clock.GetUtcNow() + wait)
            {
                var at = start.AddMilliseconds(arrivalsMs[next++]);
                if (at > clock.GetUtcNow())
                {
                    clock.SetUtcNow(at);
                }

                return new object();
            }

            clock.Advance(wait);
            return null;
        }
    }
}
