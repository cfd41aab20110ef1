using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Segmentation.Store;

namespace Streams.Segmentation.Worker;

/// <summary>
/// What follows a re-seed and a segment reaching the privacy floor: every profile the current model has not assigned
/// yet is assigned in bounded chunks, and members assigned while their segment was too small are published once it
/// is large enough.
/// </summary>
internal sealed class Reassignment(StreamsEnvironment environment, SegmentationEngine engine, SegmentationCheckpointStore checkpoints, SegmentationOptions options,
    TimeProvider timeProvider, ILogger logger)
{
    /// <summary>
    /// Assigns, with the current model, every profile it has not assigned yet, <see cref="SegmentationOptions.ReassignChunkSize"/>
    /// at a time, each chunk in its own transaction with its own statement timeout and published after its commit. All
    /// chunks run before the next mini-batch, so the model they use is the one the re-seed made, and a restart (which
    /// resumes here) ends in the same rows.
    /// </summary>
    public void Run(CheckpointedBatchSession session)
    {
        var chunks = 0;
        var profiles = 0;
        while (!session.Stopping.IsCancellationRequested)
        {
            session.Beat();
            using var connection = environment.DataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            SegmentationRepository.LimitStatements(connection, transaction, options.ReassignTimeout);
            var stored = checkpoints.Load(connection, transaction);
            var checkpoint = stored.Checkpoint;
            // A model of an older release's feature space waits for the next seed; it re-assigns nobody.
            if (checkpoint.Model is not { } model || model.Dimension != FeatureSpace.Dimension)
            {
                // Unchanged, so still what the database holds.
                checkpoints.Keep(stored);
                break;
            }

            var stale = SegmentationRepository.LoadStale(connection, transaction, model.Version, options.ReassignChunkSize);
            // The chunk after the last (empty) settles the centroids on their members; after that there is nothing to do.
            if (stale.Count == 0 && checkpoint.Settling is null)
            {
                checkpoints.Keep(stored);
                break;
            }

            var now = timeProvider.GetUtcNow();
            var sizes = stored.Sizes ?? SegmentationRepository.Sizes(connection, transaction, model.Version);
            var changes = engine.Reassign(checkpoint, stale, sizes, now);
            stored.Sizes = sizes;
            ReleaseWaiting(connection, transaction, sizes, model.Version, changes);
            SegmentationRepository.Save(connection, transaction, SegmentationCheckpointStore.Write(stored, now), changes, [],
                System.Collections.ObjectModel.ReadOnlyDictionary<(string, int), long>.Empty, now);
            CrashPoints.Reach("segmentation.reassign-before-commit");
            transaction.Commit();
            checkpoints.Keep(stored);
            session.PublishPending();
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
    /// Publishes the members, assigned while their segment was below the privacy floor, of segments that have reached it
    /// (<paramref name="sizes"/> as <paramref name="changes"/> leave them). Rows the transaction already changes are
    /// not loaded again: a profile just assigned has its record, and one just deleted (opted out, gone) must get none.
    /// </summary>
    public void ReleaseWaiting(NpgsqlConnection connection, NpgsqlTransaction transaction, Dictionary<int, long> sizes, long version,
        MiniBatchChanges changes)
    {
        var visible = sizes.Where(s => s.Value >= options.MinSegmentSize).Select(s => s.Key).ToList();
        var changed = changes.Upserts.Select(r => r.ProfileId).Concat(changes.Deletes).ToHashSet(StringComparer.Ordinal);
        engine.Release([.. SegmentationRepository.LoadWaiting(connection, transaction, visible, version).Where(r => !changed.Contains(r.ProfileId))], changes);
    }
}
