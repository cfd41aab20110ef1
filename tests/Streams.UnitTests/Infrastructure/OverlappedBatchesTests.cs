using System.Reflection;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;

namespace Streams.UnitTests.Infrastructure;

/// <summary>When the overlapped strategy prepares the next batch: during the save of the one before, once it has closed.</summary>
public sealed class OverlappedBatchesTests
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void Run_NextBatchClosesDuringTheSave_IsPreparedBeforeTheSaveEnds()
    {
        // One record, then two more 100 ms later on a thin stream (no backlog): the first batch closes after its linger
        // and is saved; the second closes after its own linger while that save still runs, and is prepared meanwhile
        // instead of after it. The first save waits (on the real clock) until the second batch is prepared.
        var handler = new GatedHandler();
        var consumer = ScriptedConsumer.Create(0, 100, 110);
        using var stopping = new CancellationTokenSource();
        handler.SecondPublished = stopping.Cancel;

        Run(handler, consumer, stopping.Token);

        Assert.True(handler.SecondPreparedDuringFirstSave, "the second batch was prepared only after the first one's save");
        Assert.Equal([[0], [1, 2]], handler.Batches);
        Assert.Same(handler.First, handler.SecondSaving);
    }

    private static void Run(GatedHandler handler, IConsumer<byte[]?, byte[]?> consumer, CancellationToken stopping)
    {
        var clock = ((ScriptedConsumer)(object)consumer).Clock;
        var settings = new CheckpointedBatchSettings("Test", "test", null, "group", "client", ["t"], 100, MaxWait, TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(5));
        using var dataSource = NpgsqlDataSource.Create("Host=unused");
        var session = new CheckpointedBatchSession(null, new PartitionOwnership(dataSource, "test"), () => { }, stopping);
        var strategy = new OverlappedBatches<long, Prepared>(handler, settings, new WorkerHeartbeats(clock).For("Test"), clock,
            NullLogger.Instance);
        strategy.Run(consumer, session);
    }

    private sealed class Prepared(IReadOnlyList<long> items) : IDisposable
    {
        public IReadOnlyList<long> Items => items;

        public void Dispose()
        {
        }
    }

    private sealed class GatedHandler : IOverlappedBatchHandler<long, Prepared>
    {
        private readonly ManualResetEventSlim secondPrepared = new();
        private int published;

        public Action SecondPublished { get; set; } = () => { };

        public List<List<long>> Batches { get; } = [];

        public Prepared? First { get; private set; }

        public Prepared? SecondSaving { get; private set; }

        public bool SecondPreparedDuringFirstSave { get; private set; }

        public long Read(ConsumeResult<byte[]?, byte[]?> record) => record.Offset.Value;

        public Prepared Prepare(OverlappedBatch<long> batch, Prepared? saving, bool overlapping)
        {
            var prepared = new Prepared(batch.Items);
            lock (Batches)
            {
                Batches.Add([.. batch.Items]);
                if (Batches.Count == 1)
                {
                    First = prepared;
                }
                else
                {
                    SecondSaving = saving;
                    secondPrepared.Set();
                }
            }

            return prepared;
        }

        public void Save(Prepared prepared)
        {
            if (prepared == First)
            {
                // Bounded so that a strategy that never prepares meanwhile fails the test instead of hanging it.
                SecondPreparedDuringFirstSave = secondPrepared.Wait(TimeSpan.FromSeconds(5));
            }
        }

        public bool Collided(Exception failure) => false;

        public long Rejected(long item, Exception failure) => item;

        public void Published(Prepared prepared, TimeSpan publishing)
        {
            if (Interlocked.Increment(ref published) == 2)
            {
                SecondPublished();
            }
        }
    }

    /// <summary>
    /// A consumer of one partition whose records arrive
    /// at given milliseconds on a fake clock that moves only while <c>Consume</c> waits; the broker never reports a backlog.
    /// </summary>
    public class ScriptedConsumer : DispatchProxy
    {
        private static readonly TopicPartition Partition = new("t", 0);
        private long[] arrivalsMs = [];
        private int next;

        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));

        public static IConsumer<byte[]?, byte[]?> Create(params long[] arrivalsMs)
        {
            var consumer = Create<IConsumer<byte[]?, byte[]?>, ScriptedConsumer>();
            ((ScriptedConsumer)(object)consumer).arrivalsMs = arrivalsMs;
            return consumer;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            "Consume" when args is [TimeSpan wait] => Consume(wait),
            "get_Assignment" => new List<TopicPartition> { Partition },
            "get_MemberId" => "member",
            "GetWatermarkOffsets" => new WatermarkOffsets(Offset.Unset, Offset.Unset),
            "Position" => Offset.Unset,
            "Commit" => null,
            _ => throw new NotSupportedException(targetMethod?.Name),
        };

        private ConsumeResult<byte[]?, byte[]?>? Consume(TimeSpan wait)
        {
            var start = new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
            if (next < arrivalsMs.Length && start.AddMilliseconds(arrivalsMs[next]) <= Clock.GetUtcNow() + wait)
            {
                var at = start.AddMilliseconds(arrivalsMs[next]);
                if (at > Clock.GetUtcNow())
                {
                    Clock.SetUtcNow(at);
                }

                return new ConsumeResult<byte[]?, byte[]?>
                {
                    Topic = Partition.Topic,
                    Partition = Partition.Partition,
                    Offset = next++,
                    Message = new Message<byte[]?, byte[]?> { Value = [], Timestamp = new Timestamp(at) },
                };
            }

            Clock.Advance(wait);
            return null;
        }
    }
}
