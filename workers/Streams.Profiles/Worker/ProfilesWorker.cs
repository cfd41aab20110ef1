using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Quarantine;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Outputs;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;
using Handler = Streams.Infrastructure.Hosting.IOverlappedBatchHandler<Streams.Profiles.Processing.BatchItem, Streams.Profiles.Worker.PreparedBatch>;

namespace Streams.Profiles.Worker;

/// <summary>
/// Consumes canonical events in batches on the <see cref="CheckpointedBatchRuntime"/>'s overlapped strategy (a batch is
/// loaded and applied while the one before is saved); each batch is one PostgreSQL transaction that resolves identities,
/// updates aggregates, applies consent, writes the outbox and stores the consumed offsets. After the commit the outbox
/// goes to Kafka. A restart resumes from the stored offsets: nothing lost, nothing counted twice.
/// </summary>
public sealed class ProfilesWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    ProfileBatchProcessor processor,
    ProfilesMetrics metrics,
    IOptions<ProfilesOptions> profilesOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<ProfilesWorker> logger) : BackgroundService, Handler
{
    private static readonly TimeSpan PreparedLockWait = TimeSpan.FromSeconds(2);
    private readonly ProfilesOptions options = profilesOptions.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new CheckpointedBatchRuntime(environment, heartbeats.For(WorkerSelection.Profiles), timeProvider, logger).Start(
            new CheckpointedBatchSettings("Profiles", ProfileRepository.Consumer, ProfileRepository.OutboxTable, options.GroupId, "streams-profiles",
                [catalog.Names.Canonical], options.BatchSize, options.MaxBatchWait, options.RetryDelay, options.MaxRetryDelay),
            this, stoppingToken);

    BatchItem Handler.Read(ConsumeResult<byte[]?, byte[]?> record) =>
        CanonicalRecordReader.Read(new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value), record.Message.Value,
            OutputHeaders.ReadKind(record.Message.Headers));

    /// <summary>
    /// Reads the batch's profiles inside a transaction of its own and applies the batch to them in memory. Profiles the
    /// batch before (<paramref name="saving"/>) wrote are taken over from it rather than read (see <see cref="CarriedProfiles"/>).
    /// </summary>
    PreparedBatch Handler.Prepare(OverlappedBatch<BatchItem> batch, PreparedBatch? saving, bool overlapping)
    {
        var pseudonyms = PreparedBatch.PseudonymsOf(batch.Items);
        var carried = saving is null ? CarriedProfiles.None(pseudonyms) : CarriedProfiles.From(saving.Changes, pseudonyms);
        var connection = environment.DataSource.OpenConnection();
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = connection.BeginTransaction();
            if (overlapping)
            {
                BoundLockWaits(connection, transaction);
            }

            var clock = Stopwatch.StartNew();
            var state = ProfileRepository.Load(connection, transaction, carried.ToLoad, carried.Profiles.Count > 0 ? pseudonyms : null);
            carried.AddTo(state);
            metrics.Stage("load", clock.Elapsed);
            clock.Restart();
            var now = timeProvider.GetUtcNow();
            var changes = processor.Apply(state, batch.Items, now);
            metrics.Stage("apply", clock.Elapsed);
            return new PreparedBatch(batch, changes, now, connection, transaction, carried.ExpectedVersions);
        }
        catch
        {
            transaction?.Dispose();
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Checks the carried profiles, then writes the batch's changes, outbox rows and fenced offsets, and commits.</summary>
    void Handler.Save(PreparedBatch prepared)
    {
        var clock = Stopwatch.StartNew();
        if (prepared.Carried.Count > 0)
        {
            // The batch before has committed by now (saves run in order): the carried copies must match it.
            ProfileRepository.LockCarried(prepared.Connection, prepared.Transaction, prepared.Carried);
            metrics.Stage("check", clock.Elapsed);
            clock.Restart();
        }

        ProfileRepository.Save(prepared.Connection, prepared.Transaction, prepared.Changes, prepared.Batch.NextOffsets, prepared.Batch.Epochs,
            prepared.Now);
        metrics.Stage("save", clock.Elapsed);
        clock.Restart();
        CrashPoints.Reach("profiles.before-commit");
        prepared.Transaction.Commit();
        metrics.Stage("commit", clock.Elapsed);
        CrashPoints.Reach("profiles.after-commit");
    }

    /// <summary>Another worker got to the same rows: a deadlock, a serialization failure, a pseudonym linked meanwhile, a
    /// carried profile changed or held (55P03, see <see cref="ProfileRepository.LockCarried"/>), or a lock not granted
    /// within <see cref="PreparedLockWait"/>.</summary>
    /// <remarks>
    /// Not a stored profile or merge holding the id of one the batch creates: those ids derive from the record's
    /// position, which only this partition's owner applies, and reading the batch again makes the same ids. Such a
    /// record is refused for good (isolated and quarantined as <c>store_rejected</c>), never retried without end.
    /// </remarks>
    bool Handler.Collided(Exception failure) =>
        failure is PostgresException { SqlState: "40P01" or "40001" or "55P03" } or CarriedProfilesChangedException
        || failure is PostgresException { SqlState: "23505", ConstraintName: not ("profiles_pkey" or "merge_lineage_pkey") };

    /// <summary>
    /// <paramref name="item"/> as a record to quarantine as <c>store_rejected</c>. A profiles worker keeps what it read,
    /// not the bytes: the digest and size are those of the record as ingest writes it (the same serializer).
    /// </summary>
    BatchItem Handler.Rejected(BatchItem item, Exception failure)
    {
        var (eventId, value) = item switch
        {
            EventItem e => (e.Event.EventId, CanonicalJson.Serialize(e.Event)),
            ConsentItem c => (c.Command.EventId, CanonicalJson.Serialize(c.Command)),
            InvalidItem i => (i.EventId, []),
            _ => ((string?)null, Array.Empty<byte>()),
        };
        return new InvalidItem(item.Position, eventId, Failures.StoreRejected(failure), value.Length, InternalQuarantineRecord.Digest(value));
    }

    void Handler.Published(PreparedBatch prepared, TimeSpan publishing)
    {
        CrashPoints.Reach("profiles.after-publish");
        metrics.Stage("read", prepared.Batch.ReadTime);
        metrics.Stage("publish", publishing);
        metrics.Record(prepared.Batch.Count, prepared.Changes);
    }

    void Handler.Held(int partitions) => metrics.SetAssigned(partitions);

    /// <summary>
    /// A batch prepared while the one before commits waits for no lock longer than <see cref="PreparedLockWait"/>; past
    /// that it is a collision, and the batch runs again on its own once the one before is done. Its transaction's locks
    /// are held while this worker waits, outside PostgreSQL, for the batch before; another worker waiting for those
    /// locks while holding one the batch before needs makes a cycle PostgreSQL cannot see (measured with two workers in
    /// one group: the load then waited until the 30 s command timeout, and the session restarted).
    /// </summary>
    private static void BoundLockWaits(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        using var command = new NpgsqlCommand(
            $"set local lock_timeout = {(int)PreparedLockWait.TotalMilliseconds}", connection, transaction);
        command.ExecuteNonQuery();
    }
}
