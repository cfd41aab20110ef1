using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;

namespace Streams.Quality.Stewardship;

/// <summary>
/// Fills the stewards' quarantine index from the input topics' quarantine topics (on the
/// <see cref="CheckpointedBatchRuntime"/>): each batch's rows and the offsets after it in one fenced PostgreSQL transaction (a batch read again inserts nothing new). Only records ingest sealed
/// are indexed: a record someone else wrote to a quarantine topic could carry anything, raw personal data included,
/// and would point a replay at any input record.
/// </summary>
public sealed class QuarantineIndexWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    Pseudonymizer sealer,
    IOptions<StewardshipOptions> stewardshipOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<QuarantineIndexWorker> logger) : BackgroundService, ICheckpointedBatchHandler
{
    /// <summary>The name of the worker's heartbeat in the health report.</summary>
    public const string Name = "quarantine-index";

    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);
    private readonly StewardshipOptions options = stewardshipOptions.Value;
    private readonly WorkerHeartbeat heartbeat = heartbeats.For(Name);
    private readonly Dictionary<string, string> inputOf = catalog.Inputs.ToDictionary(TopicsOptions.QuarantineOf, i => i, StringComparer.Ordinal);
    private DateTimeOffset prunedAt = DateTimeOffset.MinValue;

    /// <summary>Records on the quarantine topics that were not indexed (not sealed by ingest, or not a quarantine record).</summary>
    public long Skipped => Interlocked.Read(ref skipped);

    private long skipped;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new CheckpointedBatchRuntime(environment, heartbeat, timeProvider, logger).Start(
            new CheckpointedBatchSettings("Quarantine index", StewardshipRepository.Consumer, OutboxTable: null, options.IndexGroupId,
                "streams-quarantine-index", [.. inputOf.Keys], options.IndexBatchSize, options.IndexMaxBatchWait,
                TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30)),
            this, stoppingToken);

    /// <summary>Nothing is left unfinished between batches: a batch's rows are committed with its offsets.</summary>
    public void Resume(CheckpointedBatchSession session)
    {
    }

    /// <summary>Indexes <paramref name="batch"/>: its rows and the offsets after it, in one fenced transaction.</summary>
    public bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session)
    {
        var rows = new List<IndexedQuarantine>(batch.Count);
        foreach (var record in batch)
        {
            if (Read(record) is { } row)
            {
                rows.Add(row);
            }
            else
            {
                Interlocked.Increment(ref skipped);
                // The position only: the record itself may hold anything.
                logger.LogWarning("Not indexing {Topic}/{Partition}@{Offset}: not a quarantine record sealed by ingest",
                    record.Topic, record.Partition.Value, record.Offset.Value);
            }
        }

        using var connection = environment.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        StewardshipRepository.SaveIndex(connection, transaction, rows, CheckpointedBatchSession.NextOffsets(batch), session.Epochs, timeProvider.GetUtcNow());
        transaction.Commit();
        return true;
    }

    /// <summary>The index keeps rows as long as the quarantine topics keep records (<c>Topics:EventRetention</c>), no longer.</summary>
    public void BetweenBatches(CheckpointedBatchSession session)
    {
        var now = timeProvider.GetUtcNow();
        if (now - prunedAt < PruneInterval)
        {
            return;
        }

        prunedAt = now;
        var removed = StewardshipRepository.Prune(environment.DataSource, now - catalog.Names.EventRetention);
        if (removed > 0)
        {
            logger.LogInformation("Quarantine index: {Removed} rows older than {Retention} removed", removed, catalog.Names.EventRetention);
        }
    }

    /// <summary>The index row of a record on a quarantine topic, or null when ingest did not write it.</summary>
    internal IndexedQuarantine? Read(ConsumeResult<byte[]?, byte[]?> record) =>
        Read(inputOf.GetValueOrDefault(record.Topic), record.Message.Headers, record.Message.Value, sealer);

    internal static IndexedQuarantine? Read(string? inputTopic, Headers? headers, byte[]? value, Pseudonymizer sealer)
    {
        if (inputTopic is null || value is null || OutputHeaders.Read(headers) is not ({ } source, OutputHeaders.KindQuarantine)
            || source.Topic != inputTopic || !OutputHeaders.IsSealed(headers, source, OutputHeaders.KindQuarantine, sealer))
        {
            return null;
        }

        Contracts.Quarantine.QuarantineRecord? quarantine;
        try
        {
            quarantine = QuarantineJson.Deserialize(value);
        }
        catch (JsonException)
        {
            return null;
        }

        if (quarantine?.Reasons is null)
        {
            return null;
        }

        return new IndexedQuarantine(source, quarantine.EventId,
            quarantine.Disposition == Contracts.Quarantine.QuarantineDisposition.Flagged ? "flagged" : "quarantined",
            [.. quarantine.Reasons.Select(r => new QuarantineReason(r.Code, r.Field, r.Detail))],
            quarantine.Record is { ValueKind: JsonValueKind.Object } masked ? masked.GetRawText() : null,
            quarantine.QuarantinedAt);
    }
}
