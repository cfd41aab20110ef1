using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Profiles;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Segmentation.Store;

namespace Streams.Segmentation.Worker;

/// <summary>
/// Consumes <c>profiles</c> in mini-batches (on the <see cref="CheckpointedBatchRuntime"/>); each mini-batch updates the
/// model, assigns the profiles and checkpoints model, assignments, outbox and offsets in one PostgreSQL transaction,
/// then <c>segments</c> and <c>segment-catalog</c> are published. A restart continues from the checkpoint with the same model.
/// </summary>
public sealed class SegmentationWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    SegmentationEngine engine,
    SegmentationMetrics metrics,
    SegmentationCheckpointStore checkpoints,
    IOptions<SegmentationOptions> segmentationOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<SegmentationWorker> logger) : BackgroundService, ICheckpointedBatchHandler
{
    private readonly SegmentationOptions options = segmentationOptions.Value;
    private readonly Reassignment reassignment = new(environment, engine, checkpoints, segmentationOptions.Value, timeProvider, logger);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new CheckpointedBatchRuntime(environment, heartbeats.For(WorkerSelection.Segmentation), timeProvider, logger).Start(
            new CheckpointedBatchSettings("Segmentation", SegmentationRepository.Consumer, SegmentationRepository.OutboxTable, options.GroupId,
                "streams-segmentation", [catalog.Names.Profiles], options.MiniBatchSize, options.MaxBatchWait, options.RetryDelay,
                options.MaxRetryDelay,
                // A mini-batch is a step of the model (its quality check runs every so many of them), not a unit of latency:
                // it waits to fill, up to MaxBatchWait, however thin the stream.
                BatchLinger: options.MaxBatchWait),
            this, stoppingToken);

    /// <summary>A re-seed committed before a crash, or another instance's still running, may have left profiles to re-assign.</summary>
    public void Resume(CheckpointedBatchSession session) => reassignment.Run(session);

    /// <summary>Applies <paramref name="batch"/> in one transaction; false (nothing stored) while a re-seed's re-assignment is unfinished.</summary>
    public bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session) =>
        Commit(batch, rejected: null, session);

    /// <summary>A commit writes only to PostgreSQL (model, assignments, outbox rows and offsets, in one transaction); the outbox is published after it.</summary>
    public bool CommitsInParts => true;

    /// <summary>
    /// <paramref name="record"/>, whose assignment PostgreSQL refused alone, as a <c>store_rejected</c> quarantine record
    /// on <c>profiles.quarantine</c>, committed with the offset that passes it; the model does not learn from it.
    /// </summary>
    public bool CommitRejected(ConsumeResult<byte[]?, byte[]?> record, Exception failure, CheckpointedBatchSession session) =>
        Commit([record], failure, session);

    private bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, Exception? rejected, CheckpointedBatchSession session)
    {
        var (updates, quarantine) = Read(batch, rejected, timeProvider.GetUtcNow());
        using var connection = environment.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var stored = checkpoints.Load(connection, transaction);
        var checkpoint = stored.Checkpoint;
        if (checkpoint.Settling is not null && checkpoint.Model?.Dimension == FeatureSpace.Dimension)
        {
            checkpoints.Keep(stored);
            return false;
        }

        var rows = SegmentationRepository.LoadRows(connection, transaction, updates.Select(u => u.ProfileId).Distinct().ToList());
        var sizes = checkpoint.Model is { } before ? stored.Sizes ?? SegmentationRepository.Sizes(connection, transaction, before.Version) : [];
        var now = timeProvider.GetUtcNow();
        // A re-seed assigns only this mini-batch's profiles here; everyone else follows in bounded chunks (Reassignment),
        // so no transaction loads every assignment.
        var changes = engine.Apply(checkpoint, rows, sizes, updates, now);
        stored.Sizes = checkpoint.Model is null ? null : sizes;
        if (checkpoint.Model is { } model)
        {
            reassignment.ReleaseWaiting(connection, transaction, sizes, model.Version, changes);
        }

        // Committed with the offsets that pass the records, so each is quarantined exactly once.
        changes.Outbox.AddRange(quarantine);
        SegmentationRepository.Save(connection, transaction, SegmentationCheckpointStore.Write(stored, now), changes,
            CheckpointedBatchSession.NextOffsets(batch), session.Epochs, now);
        CrashPoints.Reach("segmentation.before-commit");
        transaction.Commit();
        checkpoints.Keep(stored);
        metrics.Record(batch.Count, changes.Reseeded, checkpoint.Model?.Version ?? 0, quarantine.Count);
        CrashPoints.Reach("segmentation.after-commit");
        if (changes.Reseeded)
        {
            logger.LogInformation("Segmentation model seeded: version {Version}", metrics.ModelVersion);
            session.PublishPending();
            reassignment.Run(session);
        }

        return true;
    }

    /// <summary>
    /// The updates of <paramref name="batch"/> (a profile record: its features and consent; a tombstone: the profile is gone,
    /// erased or merged away), and a quarantine record for each record the profiles worker never writes, or for every
    /// record when the store has <paramref name="rejected"/> them.
    /// </summary>
    private (List<ProfileUpdate> Updates, List<SegmentMessage> Quarantine) Read(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch,
        Exception? rejected, DateTimeOffset now)
    {
        var updates = new List<ProfileUpdate>(batch.Count);
        var quarantine = new List<SegmentMessage>();
        foreach (var record in batch)
        {
            QuarantineReason? reason;
            if (rejected is not null)
            {
                reason = Failures.StoreRejected(rejected);
            }
            else if (ProfileRecordReader.Read(record.Message.Key, record.Message.Value, out reason) is { } update)
            {
                updates.Add(update);
                continue;
            }

            var value = record.Message.Value ?? [];
            logger.LogWarning("Quarantining an unusable profile record at {Partition}@{Offset}: {Code}", record.TopicPartition, record.Offset.Value, reason!.Code);
            // Keyed by its position: the record's own key is not copied (it could be anything, of any size).
            quarantine.Add(new SegmentMessage(TopicsOptions.QuarantineOf(catalog.Names.Profiles),
                InternalQuarantineRecord.Key(record.Topic, record.Partition.Value, record.Offset.Value),
                InternalQuarantineRecord.Write(record.Topic, record.Partition.Value, record.Offset.Value, null, reason, value.Length,
                    InternalQuarantineRecord.Digest(value), now)));
        }

        return (updates, quarantine);
    }
}
