using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Segmentation.Store;

namespace Streams.Segmentation.Worker;

/// <summary>
/// Consumes <c>profiles</c> in mini-batches; each mini-batch updates the model, assigns the profiles and checkpoints
/// model, assignments, outbox and offsets in one PostgreSQL transaction, then publishes <c>segments</c> and
/// <c>segment-catalog</c>. A restart continues from the checkpoint with the same model.
/// </summary>
public sealed class SegmentationWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    SegmentationEngine engine,
    SegmentationMetrics metrics,
    IOptions<SegmentationOptions> segmentationOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<SegmentationWorker> logger) : BackgroundService
{
    private readonly SegmentationOptions options = segmentationOptions.Value;
    private readonly WorkerHeartbeat heartbeat = heartbeats.For(WorkerSelection.Segmentation);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RestartingLoop.Run("Segmentation", heartbeat, RunSession, options.RetryDelay, options.MaxRetryDelay, logger, stoppingToken, timeProvider),
            stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void RunSession(CancellationToken stoppingToken)
    {
        using var publisher = new TableOutboxPublisher(environment.DataSource, "segment_outbox", environment.BootstrapServers, "streams-segmentation", logger);
        publisher.PublishPending();
        var ownership = new PartitionOwnership(environment.DataSource, SegmentationRepository.Consumer);
        var buffer = new List<ConsumeResult<byte[]?, byte[]?>>();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(WorkerConsumerConfig.Checkpointed(environment.BootstrapServers, options.GroupId, "streams-segmentation"))
            .SetLogHandler((_, m) => logger.LogDebug("consumer: {Message}", m.Message))
            // Records of a partition read but not committed are dropped when it goes: its next owner reads them again,
            // and a checkpoint that still named it would be refused.
            .SetPartitionsRevokedHandler((_, revoked) => Release(revoked.Select(r => r.TopicPartition)))
            .SetPartitionsLostHandler((_, lost) => Release(lost.Select(r => r.TopicPartition)))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                // Claimed before the offsets are read: a previous owner's checkpoint committed before (and is read here)
                // or is refused.
                ownership.Claim(partitions);
                var stored = SegmentationRepository.LoadOffsets(environment.DataSource);
                return partitions.Select(p => new TopicPartitionOffset(p,
                    stored.TryGetValue((p.Topic, p.Partition.Value), out var next) ? new Offset(next) : Offset.Beginning));
            })
            .Build();
        consumer.Subscribe(catalog.Names.Profiles);
        try
        {
            // A re-seed committed before a crash may have left profiles to re-assign.
            Reassign(publisher, consumer, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                BatchCollector.Fill(consumer, buffer, options.MiniBatchSize, options.MaxBatchWait, heartbeat, timeProvider, stoppingToken);
                if (buffer.Count == 0 || stoppingToken.IsCancellationRequested)
                {
                    continue;
                }

                // Another instance's re-seed may still be re-assigning: finish it first, then apply the batch to its model.
                var changes = Commit(buffer, ownership.Epochs);
                while (changes is null && !stoppingToken.IsCancellationRequested)
                {
                    Reassign(publisher, consumer, stoppingToken);
                    changes = Commit(buffer, ownership.Epochs);
                }

                if (changes is null)
                {
                    continue;
                }

                CrashPoints.Reach("segmentation.after-commit");
                publisher.PublishPending();
                try
                {
                    consumer.Commit(buffer.GroupBy(r => r.TopicPartition).Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1)));
                }
                catch (KafkaException e)
                {
                    logger.LogDebug("Committing group offsets failed (monitoring only): {Reason}", e.Error.Reason);
                }

                if (changes.Reseeded)
                {
                    logger.LogInformation("Segmentation model seeded: version {Version}", metrics.ModelVersion);
                    Reassign(publisher, consumer, stoppingToken);
                }
            }
        }
        finally
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
            }
        }

        void Release(IEnumerable<TopicPartition> gone)
        {
            var partitions = gone.ToHashSet();
            buffer.RemoveAll(r => partitions.Contains(r.TopicPartition));
            ownership.Release(partitions);
        }
    }

    /// <summary>Applies <paramref name="batch"/> in one transaction; null (nothing changed) while a re-seed's re-assignment is unfinished.</summary>
    private MiniBatchChanges? Commit(List<ConsumeResult<byte[]?, byte[]?>> batch, IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        var (updates, quarantine) = Read(batch, timeProvider.GetUtcNow());
        var offsets = batch.GroupBy(r => (r.Topic, r.Partition.Value)).Select(g => (g.Key.Topic, g.Key.Value, g.Max(r => r.Offset.Value) + 1)).ToList();
        using var connection = environment.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var checkpoint = SegmentationRepository.LoadCheckpoint(connection, transaction);
        if (checkpoint.Settling is not null && checkpoint.Model?.Dimension == FeatureSpace.Dimension)
        {
            return null;
        }

        var rows = SegmentationRepository.LoadRows(connection, transaction, updates.Select(u => u.ProfileId).Distinct().ToList());
        var sizes = checkpoint.Model is { } before ? SegmentationRepository.Sizes(connection, transaction, before.Version) : [];
        var now = timeProvider.GetUtcNow();
        // A re-seed assigns only this mini-batch's profiles here; everyone else follows in bounded chunks (Reassign), so no
        // transaction loads every assignment.
        var changes = engine.Apply(checkpoint, rows, sizes, updates, now);
        if (checkpoint.Model is { } model)
        {
            ReleaseWaiting(connection, transaction, sizes, model.Version, changes);
        }

        // Committed with the offsets that pass the records, so each is quarantined exactly once.
        changes.Outbox.AddRange(quarantine);
        SegmentationRepository.Save(connection, transaction, checkpoint, changes, offsets, epochs, now);
        CrashPoints.Reach("segmentation.before-commit");
        transaction.Commit();
        metrics.Record(batch.Count, changes.Reseeded, checkpoint.Model?.Version ?? 0, quarantine.Count);
        return changes;
    }

    /// <summary>
    /// Publishes the members, assigned while their segment was below the privacy floor, of segments that have reached it
    /// (<paramref name="sizes"/> as <paramref name="changes"/> leave them). Rows the transaction already changes are
    /// not loaded again: a profile just assigned has its record, and one just deleted (opted out, gone) must get none.
    /// </summary>
    private void ReleaseWaiting(NpgsqlConnection connection, NpgsqlTransaction transaction, Dictionary<int, long> sizes, long version,
        MiniBatchChanges changes)
    {
        var visible = sizes.Where(s => s.Value >= options.MinSegmentSize).Select(s => s.Key).ToList();
        var changed = changes.Upserts.Select(r => r.ProfileId).Concat(changes.Deletes).ToHashSet(StringComparer.Ordinal);
        engine.Release([.. SegmentationRepository.LoadWaiting(connection, transaction, visible, version).Where(r => !changed.Contains(r.ProfileId))], changes);
    }

    /// <summary>
    /// Assigns, with the current model, every profile it has not assigned yet, <see cref="SegmentationOptions.ReassignChunkSize"/>
    /// at a time, each chunk in its own transaction with its own statement timeout and published after its commit. All
    /// chunks run before the next mini-batch, so the model they use is the one the re-seed made, and a restart (which
    /// resumes here) ends in the same rows.
    /// </summary>
    private void Reassign(TableOutboxPublisher publisher, IConsumer<byte[]?, byte[]?> consumer, CancellationToken stoppingToken)
    {
        var chunks = 0;
        var profiles = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            heartbeat.Beat(consumer);
            using var connection = environment.DataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            SegmentationRepository.LimitStatements(connection, transaction, options.ReassignTimeout);
            var checkpoint = SegmentationRepository.LoadCheckpoint(connection, transaction);
            // A model of an older release's feature space waits for the next seed; it re-assigns nobody.
            if (checkpoint.Model is not { } model || model.Dimension != FeatureSpace.Dimension)
            {
                break;
            }

            var stale = SegmentationRepository.LoadStale(connection, transaction, model.Version, options.ReassignChunkSize);
            // The chunk after the last (empty) settles the centroids on their members; after that there is nothing to do.
            if (stale.Count == 0 && checkpoint.Settling is null)
            {
                break;
            }

            var now = timeProvider.GetUtcNow();
            var sizes = SegmentationRepository.Sizes(connection, transaction, model.Version);
            var changes = engine.Reassign(checkpoint, stale, sizes, now);
            ReleaseWaiting(connection, transaction, sizes, model.Version, changes);
            SegmentationRepository.Save(connection, transaction, checkpoint, changes, [], System.Collections.ObjectModel.ReadOnlyDictionary<(string, int), long>.Empty, now);
            CrashPoints.Reach("segmentation.reassign-before-commit");
            transaction.Commit();
            publisher.PublishPending();
            if (stale.Count > 0)
            {
                chunks++;
                profiles += stale.Count;
            }
        }

        if (chunks > 0)
        {
            logger.LogInformation("Segmentation re-assigned {Profiles} profiles in {Chunks} chunks", profiles, chunks);
        }
    }

    /// <summary>
    /// The updates of <paramref name="batch"/> (a profile record: its features and consent; a tombstone: the profile is gone,
    /// erased or merged away), and a quarantine record for each record the profiles worker never writes.
    /// </summary>
    private (List<ProfileUpdate> Updates, List<SegmentMessage> Quarantine) Read(List<ConsumeResult<byte[]?, byte[]?>> batch, DateTimeOffset now)
    {
        var updates = new List<ProfileUpdate>(batch.Count);
        var quarantine = new List<SegmentMessage>();
        foreach (var record in batch)
        {
            if (ProfileRecordReader.Read(record.Message.Key, record.Message.Value, out var reason) is { } update)
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
