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
                try
                {
                    committed = CommitWhenReady(() => handler.Commit(buffer, session), session);
                }
                catch (Exception e) when (handler.CommitsInParts && Failures.IsPermanentData(e))
                {
                    Isolate(buffer, e, session);
                    committed = true;
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

    /// <summary>
    /// Commits <paramref name="batch"/> in halves (<see cref="PoisonBisection"/>) and each record that fails alone as
    /// rejected (<see cref="ICheckpointedBatchHandler.CommitRejected"/>), so the rest of the batch gets through. The halves
    /// are committed in order, so every partition's stored offset only moves forward; a stop in between leaves the
    /// offsets after the last half committed, where the next session resumes.
    /// </summary>
    private void Isolate(List<ConsumeResult<byte[]?, byte[]?>> batch, Exception failure, CheckpointedBatchSession session)
    {
        var (attempts, quarantined) = PoisonBisection.Isolate(batch, failure,
            run => Done(CommitWhenReady(() => handler.Commit(run, session), session)),
            (record, error) =>
            {
                logger.LogWarning("Quarantining {Topic}/{Partition}@{Offset}: the store refused it ({State})",
                    record.Topic, record.Partition.Value, record.Offset.Value, (error as Npgsql.PostgresException)?.SqlState);
                Done(CommitWhenReady(() => handler.CommitRejected(record, error, session), session));
            },
            Failures.IsPermanentData);
        logger.LogWarning("Isolated {Quarantined} records the store refused in a batch of {Records} with {Attempts} commits",
            quarantined, batch.Count, attempts);

        // A part not committed because the worker is stopping: nothing after it may be committed.
        void Done(bool committed)
        {
            if (!committed)
            {
                throw new OperationCanceledException(session.Stopping);
            }
        }
    }

    // Commits through the handler; while it says unfinished work must go first, runs that work and tries again.
    // False only when the worker stops first.
    private bool CommitWhenReady(Func<bool> commit, CheckpointedBatchSession session)
    {
        var committed = commit();
        while (!committed && !session.Stopping.IsCancellationRequested)
        {
            handler.Resume(session);
            committed = commit();
        }

        return committed;
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
