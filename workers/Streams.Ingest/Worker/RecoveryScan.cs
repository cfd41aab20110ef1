using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;

namespace Streams.Ingest.Worker;

/// <summary>
/// Resumes the input partitions a session has just claimed: reads their checkpoints and scans the outputs past the
/// recorded end offsets, so outputs written for records after the last checkpoint (by a crashed session, or an evicted
/// instance whose batch passed its fence before the claim) are not written again.
/// </summary>
internal sealed class RecoveryScan(
    StreamsEnvironment environment, TopicCatalog catalog, EmittedOutputScanner scanner, IngestPositions positions,
    TimeProvider timeProvider, ILogger logger)
{
    /// <summary>
    /// Resumes every partition the session holds that is not resumed yet. The runtime has claimed their epochs before
    /// this runs, so a previous owner's batch already past its fence has committed or rolled back (after its producer
    /// was gone) and its outputs are on the broker to be found; one fenced later produces nothing.
    /// </summary>
    public void Run(CheckpointedBatchSession session)
    {
        var claimed = positions.Unresumed(session.Epochs);
        if (claimed.Count == 0)
        {
            return;
        }

        var checkpoints = new IngestStateRepository(environment.DataSource).LoadCheckpoints(claimed).ToDictionary(c => (c.Topic, c.Partition));
        var outputs = claimed.Select(p => p.Topic).Distinct().Select(TopicsOptions.QuarantineOf).Append(catalog.Names.Canonical)
            .SelectMany(topic => Enumerable.Range(0, catalog[topic].Partitions).Select(p => new TopicPartition(topic, p)))
            .ToList();
        var fresh = claimed.Where(p => !checkpoints.ContainsKey(p)).ToList();
        if (fresh.Count > 0)
        {
            // A partition nobody has read yet gets its checkpoint before its first record is handled, at the outputs'
            // current ends: no output of it can lie before them, so no scan ever has to start at an output's beginning
            // (which on a long-running topic is a scan of its whole history).
            var ends = scanner.EndOffsets(outputs).ToDictionary(e => IngestPositions.Mark(e.Key), e => e.Value, StringComparer.Ordinal);
            var initial = fresh.Select(p => new IngestCheckpoint(p.Topic, p.Partition, 0, ends)).ToList();
            using (var transaction = FencedTransaction.Begin(environment.DataSource, IngestWorker.Consumer, fresh, session.Epochs))
            {
                IngestStateRepository.SaveCheckpoints(transaction, initial, session.Epochs, timeProvider.GetUtcNow());
                transaction.Commit();
            }

            initial.ForEach(c => checkpoints[(c.Topic, c.Partition)] = c);
        }

        var scanFrom = outputs.Select(output =>
        {
            // The lowest end offset these checkpoints recorded; a checkpoint without a mark for every output (an older
            // version's) leaves nothing to go by but the partition's beginning.
            var recorded = checkpoints.Values.Select(c => c.OutputMarks.TryGetValue(IngestPositions.Mark(output), out var m) ? m : (long?)null).ToList();
            var from = recorded.All(m => m.HasValue) ? recorded.Min() ?? 0 : Offset.Beginning.Value;
            return new TopicPartitionOffset(output, from);
        }).ToList();

        positions.Resume(checkpoints.Values, session.Epochs);
        var found = scanner.Scan(scanFrom, positions.IsPastCheckpoint);
        positions.Emitted(found);
        logger.LogInformation("Ingest assigned {Count} partitions; {Emitted} outputs already written past the checkpoints", claimed.Count, found.Count);
    }
}
