using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.Quality.Figures;

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

    /// <summary>
    /// Records PostgreSQL refused alone, found by splitting the batch that failed: indexed by position and codes only, or
    /// not at all when even that was refused.
    /// </summary>
    public long StoreRejected => Interlocked.Read(ref storeRejected);

    private long skipped;
    private long storeRejected;

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

    /// <summary>
    /// Indexes <paramref name="batch"/>: its rows and the offsets after it, in one fenced transaction. When PostgreSQL
    /// refuses the batch for its data, the records it refuses alone are found (<see cref="PoisonBisection"/>) and kept
    /// apart (<see cref="Reject"/>) while the rest is indexed: one record must not stop the index.
    /// </summary>
    public bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session)
    {
        var items = new List<(ConsumeResult<byte[]?, byte[]?> Record, IndexedQuarantine? Row)>(batch.Count);
        foreach (var record in batch)
        {
            var row = Read(record);
            if (row is null)
            {
                Interlocked.Increment(ref skipped);
                // The position only: the record itself may hold anything.
                logger.LogWarning("Not indexing {Topic}/{Partition}@{Offset}: not a quarantine record sealed by ingest",
                    record.Topic, record.Partition.Value, record.Offset.Value);
            }

            items.Add((record, row));
        }

        try
        {
            Save(items, session);
        }
        catch (Exception e) when (Failures.IsPermanentData(e))
        {
            var (attempts, rejected) = PoisonBisection.Isolate(items, e, run => Save(run, session), (item, error) => Reject(item, error, session),
                Failures.IsPermanentData);
            logger.LogWarning("Quarantine index: isolated {Rejected} records the store refused in a batch of {Records} with {Attempts} commits",
                rejected, items.Count, attempts);
        }

        return true;
    }

    /// <summary>
    /// Indexes a record PostgreSQL refused alone by its position, disposition and reason codes only (what a steward needs to
    /// find it and read its original), or, when even that is refused, passes it by; either way its offset is stored and
    /// its position and SQLSTATE logged, never its values.
    /// </summary>
    private void Reject((ConsumeResult<byte[]?, byte[]?> Record, IndexedQuarantine? Row) item, Exception error, CheckpointedBatchSession session)
    {
        Interlocked.Increment(ref storeRejected);
        var (record, row) = item;
        var reduced = row is null ? null : row with
        {
            EventId = null,
            Reasons = [.. row.Reasons.Select(r => new QuarantineReason(r.Code, null, null))],
            RecordJson = null,
        };
        try
        {
            Save([(record, reduced)], session);
            logger.LogWarning("Quarantine index: the store refused {Topic}/{Partition}@{Offset} (SQLSTATE {State}); indexed without its event id, " +
                "reason details and masked copy", record.Topic, record.Partition.Value, record.Offset.Value, SqlState(error));
        }
        catch (Exception e) when (Failures.IsPermanentData(e))
        {
            Save([(record, null)], session);
            logger.LogWarning("Quarantine index: the store refused {Topic}/{Partition}@{Offset} (SQLSTATE {State}), even by its position and codes " +
                "(SQLSTATE {ReducedState}); not indexed", record.Topic, record.Partition.Value, record.Offset.Value, SqlState(error), SqlState(e));
        }
    }

    private void Save(IReadOnlyList<(ConsumeResult<byte[]?, byte[]?> Record, IndexedQuarantine? Row)> items, CheckpointedBatchSession session)
    {
        using var connection = environment.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        StewardshipRepository.SaveIndex(connection, transaction, [.. items.Select(i => i.Row).OfType<IndexedQuarantine>()],
            CheckpointedBatchSession.NextOffsets(items.Select(i => i.Record)), session.Epochs, timeProvider.GetUtcNow());
        transaction.Commit();
    }

    private static string SqlState(Exception e) => e switch
    {
        PostgresException p => p.SqlState,
        AggregateException { InnerExceptions: [var only] } => SqlState(only),
        _ => e.GetType().Name,
    };

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

        // Stored so that PostgreSQL takes every record ingest can write (an event id may hold U+0000, which text and jsonb
        // refuse) and the console shows what the record says: the event id as ingest's de-duplication keeps it (a replay
        // is matched with its claim there), U+0000 in a reason's field or detail as the U+FFFD a browser shows for it, a
        // code that is not one as the figures count it (§9.1), the time as the instant it names.
        return new IndexedQuarantine(source, quarantine.EventId is { } eventId ? IngestStateRepository.StoredEventId(eventId) : null,
            quarantine.Disposition == Contracts.Quarantine.QuarantineDisposition.Flagged ? "flagged" : "quarantined",
            [.. quarantine.Reasons.Select(r => new QuarantineReason(QualityObservation.CodeOf(r?.Code), Shown(r?.Field), Shown(r?.Detail)))],
            quarantine.Record is { ValueKind: JsonValueKind.Object } masked ? masked.GetRawText() : null,
            quarantine.QuarantinedAt.ToUniversalTime());
    }

    private static string? Shown(string? text) => text?.Replace('\0', '\uFFFD');
}
