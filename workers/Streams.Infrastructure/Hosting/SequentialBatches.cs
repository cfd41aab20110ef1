using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Hosting;

/// <summary>The runtime's plain strategy: one batch at a time is filled, committed by the handler, published, committed to the group.</summary>
internal sealed class SequentialBatches(
    ICheckpointedBatchHandler handler, CheckpointedBatchSettings settings, WorkerHeartbeat heartbeat, TimeProvider timeProvider, ILogger logger)
    : IBatchStrategy
{
    private readonly List<ConsumeResult<byte[]?, byte[]?>> buffer = [];

    public void Run(IConsumer<byte[]?, byte[]?> consumer, CheckpointedBatchSession session)
    {
        var stoppingToken = session.Stopping;
        handler.Resume(session);
        while (!stoppingToken.IsCancellationRequested)
        {
            handler.BetweenBatches(session);
            BatchCollector.Fill(consumer, buffer, settings.BatchSize, settings.MaxBatchWait, settings.Linger, heartbeat, timeProvider, stoppingToken);
            if (buffer.Count == 0 || stoppingToken.IsCancellationRequested)
            {
                continue;
            }

            bool committed;
            using (RecordTracing.StartBatch(settings.Worker, buffer))
            {
                committed = handler.Commit(buffer, session);
                while (!committed && !stoppingToken.IsCancellationRequested)
                {
                    handler.Resume(session);
                    committed = handler.Commit(buffer, session);
                }
            }

            if (!committed)
            {
                continue;
            }

            session.PublishPending();
            CheckpointedBatchRuntime.CommitToGroup(consumer,
                buffer.GroupBy(r => r.TopicPartition).Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1)), logger);
        }
    }

    // Called only from inside Consume, that is while the buffer is being filled: a batch being committed is never cut short.
    public void Revoked(IReadOnlySet<TopicPartition> gone) => buffer.RemoveAll(r => gone.Contains(r.TopicPartition));

    public void Assigning()
    {
    }

    public void Held(int partitions)
    {
    }

    public void Assigned(CheckpointedBatchSession session) => handler.Assigned(session);
}
