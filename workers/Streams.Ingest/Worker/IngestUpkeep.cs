using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Hosting;

namespace Streams.Ingest.Worker;

/// <summary>
/// What ingest does between batches, when every output produced so far is on the broker and checkpointed: the summary
/// line, forgetting event ids older than the de-duplication window, and raising the output marks.
/// </summary>
internal sealed class IngestUpkeep(
    StreamsEnvironment environment, IngestPositions positions, EmittedOutputScanner scanner, IngestMetrics metrics, TimeSpan summaryInterval,
    TimeSpan dedupWindow, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Event ids forgotten per statement: a chunk takes well under a second, and batches go on in between.</summary>
    private const int ExpiryChunk = 10_000;

    private static readonly TimeSpan ExpiryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MarkRefreshInterval = TimeSpan.FromMinutes(1);

    private DateTimeOffset nextSummary = timeProvider.GetUtcNow() + summaryInterval;
    private DateTimeOffset nextExpiry = timeProvider.GetUtcNow();
    private DateTimeOffset nextMarkRefresh = timeProvider.GetUtcNow() + MarkRefreshInterval;

    public void Run()
    {
        var now = timeProvider.GetUtcNow();
        if (now >= nextSummary)
        {
            logger.LogInformation("Ingest: {Summary}", metrics.Summary());
            nextSummary = now + summaryInterval;
        }

        if (now >= nextExpiry)
        {
            // One bounded chunk per pass; a full chunk means more are due, and the next pass (after the next batch)
            // takes them, so expiry never holds the input back for long.
            var expired = new IngestStateRepository(environment.DataSource).ExpireSeenAsync(now - dedupWindow, ExpiryChunk, ExpiryTimeout, CancellationToken.None).GetAwaiter().GetResult();
            if (expired > 0)
            {
                logger.LogInformation("Forgot {Count} event ids older than the de-duplication window", expired);
            }

            nextExpiry = expired == ExpiryChunk ? now : now + ExpiryInterval;
        }

        if (now >= nextMarkRefresh && positions.Partitions.Count > 0)
        {
            // Between batches nothing of this instance is in flight, so no output of a record past its checkpoint lies
            // below the outputs' current ends. Without it, the mark of an output partition only other instances write to
            // would stay where this instance last saw it, and a restart would scan everything they wrote since.
            positions.Raise(scanner.EndOffsets(positions.OutputPartitions()).Select(e => KeyValuePair.Create(IngestPositions.Mark(e.Key), e.Value)));
            nextMarkRefresh = now + MarkRefreshInterval;
        }
    }
}
