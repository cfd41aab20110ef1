using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Activation.Requests;
using Streams.Activation.Store;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;

namespace Streams.Activation.Worker;

/// <summary>
/// Consumes <c>activation-requests</c> in batches; each batch is pseudonymized in memory (the raw identifiers go no
/// further), joined against profiles and published segments, and its answers, quarantine records, audit counts and
/// consumed offsets are committed in one PostgreSQL transaction (on the <see cref="CheckpointedBatchRuntime"/>), then
/// published from the outbox. A replayed batch
/// answers again with the same answers: consumers see a repeat, never a gap.
/// </summary>
public sealed class ActivationWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    ActivationMatcher matcher,
    Pseudonymizer pseudonymizer,
    ActivationMetrics metrics,
    IOptions<ActivationOptions> activationOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<ActivationWorker> logger) : BackgroundService, ICheckpointedBatchHandler
{
    private readonly ActivationOptions options = activationOptions.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new CheckpointedBatchRuntime(environment, heartbeats.For(WorkerSelection.Activation), timeProvider, logger).Start(
            new CheckpointedBatchSettings("Activation", ActivationRepository.Consumer, ActivationRepository.OutboxTable, options.GroupId,
                "streams-activation", [catalog.Names.ActivationRequests], options.BatchSize, options.MaxBatchWait, options.RetryDelay,
                options.MaxRetryDelay),
            this, stoppingToken);

    /// <summary>Nothing is left unfinished between batches: an answer is committed with its row's offset.</summary>
    public void Resume(CheckpointedBatchSession session)
    {
    }

    /// <summary>Answers <paramref name="batch"/>: answers, quarantine records, audit counts and offsets in one transaction.</summary>
    public bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session) =>
        Commit(batch, rejected: null, session);

    /// <summary>A commit writes only to PostgreSQL (answers, audit, outbox rows and offsets, in one transaction); the outbox is published after it.</summary>
    public bool CommitsInParts => true;

    /// <summary><paramref name="record"/>, whose effects PostgreSQL refused alone, refused as <c>store_rejected</c> with the offset that passes it.</summary>
    public bool CommitRejected(ConsumeResult<byte[]?, byte[]?> record, Exception failure, CheckpointedBatchSession session) =>
        Commit([record], failure, session);

    private bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, Exception? rejected, CheckpointedBatchSession session)
    {
        var now = timeProvider.GetUtcNow();
        var (rows, outbox, refusedInLists) = Read(batch, rejected, now);
        var refused = outbox.Count;
        using var connection = environment.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var answers = AudienceLookup.Answer(connection, transaction, rows);
        outbox.AddRange(answers.Select(a => (catalog.Names.ActivationResponses, a.Key, a.Value)));
        var audit = rows.Select((r, i) => (r.ListId, r.RequestedBy, Matched: answers[i].Matched ? 1 : 0, Refused: 0))
            .Concat(refusedInLists.Select(r => (r.ListId, r.RequestedBy, Matched: 0, Refused: 1)))
            .GroupBy(r => (r.ListId, r.RequestedBy))
            .Select(g => new AuditCounts(g.Key.ListId, g.Key.RequestedBy, g.Count(), g.Sum(r => r.Matched), g.Sum(r => r.Refused)))
            .ToList();
        var totals = ActivationRepository.Save(connection, transaction, outbox, audit, CheckpointedBatchSession.NextOffsets(batch), session.Epochs, now);
        transaction.Commit();
        var matched = answers.Count(a => a.Matched);
        metrics.Record(batch.Count, matched, refused);
        foreach (var list in totals)
        {
            // List ids and requesters were checked not to look like personal data before they got here.
            logger.LogInformation("Activation list {ListId} from {RequestedBy}: {Rows} rows so far, {Matched} matched, {Refused} refused",
                list.ListId, list.RequestedBy, list.Rows, list.Matched, list.Refused);
        }

        return true;
    }

    /// <summary>
    /// The batch's rows, pseudonymized, and a quarantine record for each row refused (with its list, when that could be
    /// read, for the audit), or for every row when the store has <paramref name="rejected"/> them. The raw requests are
    /// not kept past this method.
    /// </summary>
    private (List<PseudonymousRequest> Rows, List<(string Topic, byte[] Key, byte[] Value)> Quarantine, List<PseudonymousRequest> RefusedInLists)
        Read(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, Exception? rejected, DateTimeOffset now)
    {
        var rows = new List<PseudonymousRequest>(batch.Count);
        var quarantine = new List<(string, byte[], byte[])>();
        var refusedInLists = new List<PseudonymousRequest>();
        foreach (var record in batch)
        {
            var value = record.Message.Value ?? [];
            QuarantineReason? reason;
            if (rejected is not null)
            {
                reason = Failures.StoreRejected(rejected);
            }
            else
            {
                try
                {
                    var request = ActivationRequestReader.Read(value, out reason);
                    if (request is not null)
                    {
                        if (matcher.Pseudonymize(request) is { } row)
                        {
                            rows.Add(row);
                            continue;
                        }

                        reason = new QuarantineReason(ActivationReasonCodes.PersonalDataInId, "record_id", "is one of the row's own identifiers; it must be the campaign system's opaque id");
                        refusedInLists.Add(new PseudonymousRequest(request.ListId, string.Empty, request.RequestedBy, [], null));
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A row the reader or the matcher cannot handle is a defect, but it must cost that row, not every batch
                    // it comes in. The exception's type only: its message could quote the row.
                    reason = new QuarantineReason(ActivationReasonCodes.ProcessingError, null, $"the worker failed on this row ({e.GetType().Name})");
                }
            }

            logger.LogWarning("Refusing an activation request at {Partition}@{Offset}: {Code} ({Field})", record.TopicPartition, record.Offset.Value, reason!.Code, reason.Field);
            // Keyed by its position and with a keyed digest: the record holds raw identifiers, none of which may leave.
            quarantine.Add((TopicsOptions.QuarantineOf(catalog.Names.ActivationRequests),
                InternalQuarantineRecord.Key(record.Topic, record.Partition.Value, record.Offset.Value),
                InternalQuarantineRecord.Write(record.Topic, record.Partition.Value, record.Offset.Value, null, reason, value.Length,
                    pseudonymizer.Digest(value), now)));
        }

        return (rows, quarantine, refusedInLists);
    }
}
