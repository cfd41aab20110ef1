using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Contracts.Quarantine;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Outputs;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.Profiles.Worker;

/// <summary>
/// Consumes canonical events in batches; each batch is one PostgreSQL transaction that resolves identities, updates
/// aggregates, applies consent, writes the outbox and stores the consumed offsets. After the commit the outbox goes
/// to Kafka. A restart resumes from the stored offsets: nothing lost, nothing counted twice.
/// </summary>
public sealed class ProfilesWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    ProfileBatchProcessor processor,
    ProfilesMetrics metrics,
    IOptions<ProfilesOptions> profilesOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<ProfilesWorker> logger) : BackgroundService
{
    private const int MaxBatchAttempts = 5;
    private static readonly TimeSpan PreparedLockWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ReadAheadPoll = TimeSpan.FromMilliseconds(5);
    private readonly ProfilesOptions options = profilesOptions.Value;
    private readonly WorkerHeartbeat heartbeat = heartbeats.For(WorkerSelection.Profiles);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RestartingLoop.Run("Profiles", heartbeat, RunSession, options.RetryDelay, options.MaxRetryDelay, logger, stoppingToken, timeProvider),
            stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void RunSession(CancellationToken stoppingToken)
    {
        var repository = new ProfileRepository(environment.DataSource);
        using var publisher = new OutboxPublisher(environment.DataSource, environment.BootstrapServers, metrics, logger);
        // Whatever a previous session committed but did not publish goes out first.
        publisher.PublishPending();

        InFlight? inFlight = null;
        var pending = new PendingRecords();
        var rebalanced = false;
        var ownership = new PartitionOwnership(environment.DataSource, ProfileRepository.Consumer);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(WorkerConsumerConfig.Checkpointed(environment.BootstrapServers, options.GroupId, "streams-profiles"))
            .SetLogHandler((_, m) => logger.LogDebug("consumer: {Message}", m.Message))
            // A rebalance waits for the batch being committed, so the next owner resumes from its offsets, and drops
            // the records of lost partitions that were read ahead: their next owner reads them again.
            .SetPartitionsRevokedHandler((_, revoked) =>
            {
                metrics.SetAssigned(0);
                rebalanced = true;
                inFlight?.Settle();
                pending.Drop(revoked.Select(r => r.TopicPartition));
                ownership.Release(revoked.Select(r => r.TopicPartition));
            })
            .SetPartitionsLostHandler((_, lost) =>
            {
                metrics.SetAssigned(0);
                rebalanced = true;
                inFlight?.Settle();
                pending.Drop(lost.Select(r => r.TopicPartition));
                ownership.Release(lost.Select(r => r.TopicPartition));
            })
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                metrics.SetAssigned(partitions.Count);
                inFlight?.Settle();
                // Claimed before the offsets are read: a previous owner's checkpoint either committed before the claim
                // (and is read here) or is refused.
                ownership.Claim(partitions);
                // Resume from the offsets committed with the data, not from the group's.
                var stored = repository.LoadOffsets();
                return partitions.Select(p => new TopicPartitionOffset(p,
                    stored.TryGetValue((p.Topic, p.Partition.Value), out var next) ? new Offset(next) : Offset.Beginning));
            })
            .Build();
        consumer.Subscribe(catalog.Names.Canonical);
        try
        {
            // Two batches overlap: while one is saved and committed in the background, the next is read from the
            // consumer, parsed and, once full, loaded and applied. It saves and commits only after the one before has
            // committed, so commits (and the offsets stored with them) stay in consumption order, and whatever it
            // shares with that batch it reads after that commit (PostgreSQL makes its load wait for those locks).
            // Records are read into pending ones first (up to four batches' worth while a batch commits) and each
            // batch is cut from them oldest first across partitions (see PendingRecords).
            while (!stoppingToken.IsCancellationRequested)
            {
                heartbeat.Beat(consumer);
                Batch? batch = null;
                Prepared? prepared = null;
                if (inFlight is not null)
                {
                    ReadAhead(consumer, pending, inFlight, stoppingToken);
                    if (pending.Count >= options.BatchSize && !inFlight.Task.IsCompleted && !rebalanced)
                    {
                        // A full batch waiting: load and apply it in its own transaction meanwhile. What it shares with
                        // the batch being committed waits in PostgreSQL for that commit (pseudonym and row locks); it
                        // saves nothing before that commit, so the committing batch never waits for it.
                        batch = Cut(pending, ownership);
                        prepared = Prepare(repository, batch, inFlight.Changes);
                    }

                    var finishing = inFlight;
                    inFlight = null;
                    try
                    {
                        // If the batch before must run again, this one lets go of its locks first, and is redone after.
                        Finish(repository, publisher, consumer, finishing, rebalanced, prepared);
                        heartbeat.BatchDone();
                    }
                    catch
                    {
                        prepared?.Dispose();
                        throw;
                    }

                    if (finishing.Retried)
                    {
                        prepared = null;
                    }
                }

                rebalanced = false;
                if (batch is null)
                {
                    // A cut batch starts its commit before the consumer is called again, and a rebalance waits for
                    // that commit (Settle): it drops only records that are still pending.
                    Fill(consumer, pending, stoppingToken);
                    batch = Cut(pending, ownership);
                }

                metrics.Stage("read", batch.ReadTime);

                if (batch.Count == 0 || stoppingToken.IsCancellationRequested)
                {
                    prepared?.Dispose();
                    continue;
                }

                // From here until its Finish the loop holds this batch: a session that fails meanwhile counts as a retry of
                // it (see WorkerHealth.Live).
                heartbeat.BatchFilled(batch.Count);
                inFlight = prepared is { Failed: false } ? Commit(prepared) : Begin(repository, batch, prepared);
            }

            if (inFlight is not null)
            {
                var finishing = inFlight;
                inFlight = null;
                Finish(repository, publisher, consumer, finishing, rebalanced, null);
            }

            publisher.Wait();
        }
        finally
        {
            try
            {
                // Nothing may use the consumer or the connection after this; a failure here is already on its way out.
                inFlight?.Settle();
                inFlight?.Dispose();
                publisher.Wait();
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Publishing the last committed batch failed; the next session publishes it");
            }

            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
                // After a broker failure the group notices by the session timeout.
            }
        }
    }

    /// <summary>
    /// Reads records while the batch before is being committed, without waiting past that: up to four batches' worth, so
    /// that the next batch is cut from more partitions than the consumer's last fetches happened to bring (measured with
    /// 16 partitions: two batches' worth still left some runs writing twice the profile rows, four did not).
    /// </summary>
    private void ReadAhead(IConsumer<byte[]?, byte[]?> consumer, PendingRecords pending, InFlight inFlight, CancellationToken stoppingToken)
    {
        while (pending.Count < 4 * options.BatchSize && !inFlight.Task.IsCompleted && !stoppingToken.IsCancellationRequested)
        {
            if (consumer.Consume(ReadAheadPoll) is { IsPartitionEOF: false } record)
            {
                Add(pending, record);
            }
        }
    }

    /// <summary>
    /// Reads until a batch is pending, the way <see cref="BatchCollector"/> does: up to the batch size, waiting at most
    /// <see cref="ProfilesOptions.MaxBatchWait"/> once it has a record (an idle consumer keeps polling until then).
    /// </summary>
    private void Fill(IConsumer<byte[]?, byte[]?> consumer, PendingRecords pending, CancellationToken stoppingToken)
    {
        var started = timeProvider.GetTimestamp();
        while (pending.Count < options.BatchSize && !stoppingToken.IsCancellationRequested)
        {
            var wait = pending.Count == 0 ? IdlePoll : options.MaxBatchWait - timeProvider.GetElapsedTime(started);
            if (wait <= TimeSpan.Zero)
            {
                break;
            }

            var record = consumer.Consume(wait);
            if (record is null || record.IsPartitionEOF)
            {
                if (pending.Count > 0)
                {
                    break;
                }

                heartbeat.Beat(consumer);
                started = timeProvider.GetTimestamp();
                continue;
            }

            Add(pending, record);
        }
    }

    private void Add(PendingRecords pending, ConsumeResult<byte[]?, byte[]?> record)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var item = Read(record);
        pending.Add(record.Topic, record.Partition.Value, record.Message.Timestamp.UnixTimestampMs, item,
            System.Diagnostics.Stopwatch.GetElapsedTime(start));
    }

    private Batch Cut(PendingRecords pending, PartitionOwnership ownership)
    {
        var (items, readTime) = pending.Cut(options.BatchSize);
        // The epochs its records were read under: its checkpoint is refused if any has been claimed by another since.
        var batch = Batch.Of(items, ownership.Epochs);
        batch.AddReadTime(readTime);
        return batch;
    }

    /// <summary>Loads and applies <paramref name="batch"/> in its own transaction; a collision is left for <see cref="Begin"/>.</summary>
    private Prepared Prepare(ProfileRepository repository, Batch batch, BatchChanges? carryFrom = null)
    {
        var connection = repository.DataSource.OpenConnection();
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = connection.BeginTransaction();
            BoundLockWaits(connection, transaction);
            var carried = carryFrom is null ? CarriedProfiles.None(batch.Pseudonyms) : CarriedProfiles.From(carryFrom, batch.Pseudonyms);
            var (changes, now) = LoadAndApply(connection, transaction, batch, carried);
            return new Prepared(batch, changes, now, connection, transaction, carried.ExpectedVersions);
        }
        catch (PostgresException e) when (Collided(e))
        {
            transaction?.Dispose();
            connection.Dispose();
            logger.LogInformation("Batch collided with another worker ({State}); retrying", e.SqlState);
            return new Prepared(batch, null, default, null, null, null);
        }
        catch
        {
            transaction?.Dispose();
            connection.Dispose();
            throw;
        }
    }

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

    /// <summary>Reads the batch's profiles inside <paramref name="transaction"/> and applies the batch to them in memory.</summary>
    private (BatchChanges Changes, DateTimeOffset Now) LoadAndApply(NpgsqlConnection connection, NpgsqlTransaction transaction, Batch batch,
        CarriedProfiles carried)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var state = ProfileRepository.Load(connection, transaction, carried.ToLoad, carried.Profiles.Count > 0 ? batch.Pseudonyms : null);
        carried.AddTo(state);
        metrics.Stage("load", clock.Elapsed);
        clock.Restart();
        var now = timeProvider.GetUtcNow();
        var changes = processor.Apply(state, batch.Items, now);
        metrics.Stage("apply", clock.Elapsed);
        return (changes, now);
    }

    /// <summary>Saves and commits a prepared batch in the background.</summary>
    private InFlight Commit(Prepared prepared)
    {
        var offsets = Offsets(prepared.Batch);
        var (connection, transaction, changes, now) = (prepared.Connection!, prepared.Transaction!, prepared.Changes!, prepared.Now);
        var carried = prepared.Carried!;
        var task = Task.Run(() => SaveAndCommit(connection, transaction, changes, offsets, prepared.Batch.Epochs, now, carried));
        return new InFlight(prepared.Batch, changes, connection, transaction, task);
    }

    /// <summary>Loads and applies <paramref name="batch"/> in its transaction, then saves and commits it in the background.</summary>
    private InFlight Begin(ProfileRepository repository, Batch batch, Prepared? collided = null)
    {
        var prepared = collided is null ? Prepare(repository, batch) : collided;
        if (!prepared.Failed)
        {
            return Commit(prepared);
        }

        var (changes, seqs) = CommitBatch(repository, batch, firstAttempt: 2);
        return new InFlight(batch, changes, null, null, Task.FromResult(seqs));
    }

    private long[] SaveAndCommit(NpgsqlConnection connection, NpgsqlTransaction transaction, BatchChanges changes,
        List<(string Topic, int Partition, long NextOffset)> offsets, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        DateTimeOffset now, IReadOnlyDictionary<string, long>? carried)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (carried is { Count: > 0 })
        {
            // The batch before has committed by now (saves run in order): the carried copies must match it.
            ProfileRepository.LockCarried(connection, transaction, carried);
            metrics.Stage("check", clock.Elapsed);
            clock.Restart();
        }

        var seqs = ProfileRepository.Save(connection, transaction, changes, offsets, epochs, now);
        metrics.Stage("save", clock.Elapsed);
        clock.Restart();
        CrashPoints.Reach("profiles.before-commit");
        transaction.Commit();
        metrics.Stage("commit", clock.Elapsed);
        CrashPoints.Reach("profiles.after-commit");
        return seqs;
    }

    /// <summary>Waits for <paramref name="inFlight"/>'s commit (re-running the batch if it collided), then publishes it.</summary>
    private void Finish(ProfileRepository repository, OutboxPublisher publisher, IConsumer<byte[]?, byte[]?> consumer, InFlight inFlight,
        bool rebalanced, IDisposable? next)
    {
        var changes = inFlight.Changes;
        long[] seqs;
        try
        {
            try
            {
                seqs = inFlight.Task.GetAwaiter().GetResult();
            }
            catch (Exception e) when (Collided(e) && !rebalanced)
            {
                // After a rebalance the records may belong to another worker now: the session restarts instead.
                inFlight.Dispose();
                next?.Dispose();
                inFlight.Retried = true;
                logger.LogInformation("Batch collided with another worker ({Reason}); retrying", e is PostgresException p ? p.SqlState : e.Message);
                (changes, seqs) = CommitBatch(repository, inFlight.Batch, firstAttempt: 2);
            }
        }
        catch (Exception e) when (Failures.IsPermanentData(e) && !Collided(e) && !rebalanced)
        {
            // PostgreSQL refused something the batch made, and would refuse it again: find the records that fail
            // alone, quarantine them and store the rest. The batch prepared meanwhile is redone after.
            inFlight.Dispose();
            next?.Dispose();
            inFlight.Retried = true;
            Isolate(repository, publisher, consumer, inFlight.Batch, e);
            return;
        }
        finally
        {
            inFlight.Dispose();
        }

        var records = inFlight.Batch.Count;
        var consumed = inFlight.Batch.NextOffsets;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        publisher.PublishInBackground(changes.Outbox, seqs, () =>
        {
            CrashPoints.Reach("profiles.after-publish");
            CommitToGroup(consumer, consumed);
            metrics.Record(records, changes);
        });
        metrics.Stage("publish_wait", waiting.Elapsed);
    }

    /// <summary>
    /// Commits <paramref name="batch"/> in halves (<see cref="PoisonBisection"/>) and quarantines each record PostgreSQL
    /// refuses alone as <c>store_rejected</c>, with the offset that passes it; then publishes what the halves wrote.
    /// </summary>
    private void Isolate(ProfileRepository repository, OutboxPublisher publisher, IConsumer<byte[]?, byte[]?> consumer, Batch batch,
        Exception failure)
    {
        var (attempts, quarantined) = PoisonBisection.Isolate(batch.Items, failure,
            run => Commit(Batch.Of(run, batch.Epochs)),
            (item, error) =>
            {
                logger.LogWarning("Quarantining canonical record {Topic}/{Partition}@{Offset}: the store refused it ({State})",
                    item.Position.Topic, item.Position.Partition, item.Position.Offset, (error as PostgresException)?.SqlState);
                Commit(Batch.Of([Rejected(item, error)], batch.Epochs));
            },
            Failures.IsPermanentData);
        logger.LogWarning("Isolated {Quarantined} records the store refused in a batch of {Records} with {Attempts} commits",
            quarantined, batch.Count, attempts);
        // The halves' outbox rows are in the table; the publisher sends them from there, in order.
        publisher.Wait();
        publisher.PublishPending();
        CommitToGroup(consumer, batch.NextOffsets);

        void Commit(Batch run)
        {
            var (changes, _) = CommitBatch(repository, run, firstAttempt: 1);
            metrics.Record(run.Count, changes);
        }
    }

    /// <summary>
    /// <paramref name="item"/> as a record to quarantine as <c>store_rejected</c>. A profiles worker keeps what it read,
    /// not the bytes: the digest and size are those of the record as ingest writes it (the same serializer).
    /// </summary>
    private static InvalidItem Rejected(BatchItem item, Exception error)
    {
        var (eventId, value) = item switch
        {
            EventItem e => (e.Event.EventId, CanonicalJson.Serialize(e.Event)),
            ConsentItem c => (c.Command.EventId, CanonicalJson.Serialize(c.Command)),
            InvalidItem i => (i.EventId, []),
            _ => ((string?)null, Array.Empty<byte>()),
        };
        var state = (error as PostgresException)?.SqlState ?? "unknown";
        return new InvalidItem(item.Position, eventId, new QuarantineReason(ReasonCodes.StoreRejected, null,
            $"the store refused what was made of this record (SQLSTATE {state})"), value.Length, InternalQuarantineRecord.Digest(value));
    }

    /// <summary>Another worker got to the same rows: a deadlock, a serialization failure, a pseudonym linked meanwhile, a
    /// carried profile changed or held (55P03, see <see cref="ProfileRepository.LockCarried"/>).</summary>
    private static bool Collided(Exception e) =>
        e is PostgresException { SqlState: "40P01" or "40001" or "23505" or "55P03" } or CarriedProfilesChangedException;

    /// <summary>The whole batch, synchronously, from attempt <paramref name="firstAttempt"/> on.</summary>
    private (BatchChanges Changes, long[] Seqs) CommitBatch(ProfileRepository repository, Batch batch, int firstAttempt)
    {
        var offsets = Offsets(batch);
        for (var attempt = firstAttempt; ; attempt++)
        {
            try
            {
                using var connection = repository.DataSource.OpenConnection();
                using var transaction = connection.BeginTransaction();
                var (changes, now) = LoadAndApply(connection, transaction, batch, CarriedProfiles.None(batch.Pseudonyms));
                return (changes, SaveAndCommit(connection, transaction, changes, offsets, batch.Epochs, now, null));
            }
            catch (PostgresException e) when (attempt < MaxBatchAttempts && Collided(e))
            {
                // Another worker got to the same profiles first; the batch is re-read against what it committed.
                logger.LogInformation("Batch collided with another worker ({State}); retrying", e.SqlState);
            }
        }
    }

    private static List<(string Topic, int Partition, long NextOffset)> Offsets(Batch batch) =>
        [.. batch.NextOffsets.Select(o => (o.Topic, o.Partition.Value, o.Offset.Value))];

    /// <summary>Per partition, the offset after the last record of <paramref name="items"/>.</summary>
    private static List<TopicPartitionOffset> ComputeNextOffsets(List<BatchItem> items)
    {
        var next = new Dictionary<(string Topic, int Partition), long>();
        foreach (var item in items)
        {
            var key = (item.Position.Topic, item.Position.Partition);
            next[key] = Math.Max(next.GetValueOrDefault(key), item.Position.Offset + 1);
        }

        return [.. next.Select(n => new TopicPartitionOffset(n.Key.Topic, n.Key.Partition, n.Value))];
    }

    /// <summary>
    /// Records of one batch, read as they arrive, with every pseudonym they mention. Only what was understood of each is
    /// kept (its position included), not the consumed record: a batch lives through a save and a commit, and the raw
    /// bytes held that long were copied again by every collection meanwhile.
    /// </summary>
    private sealed class Batch(IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
    {
        private List<TopicPartitionOffset>? nextOffsets;

        public List<BatchItem> Items { get; } = [];

        public IReadOnlyDictionary<(string Topic, int Partition), long> Epochs => epochs;

        public HashSet<string> Pseudonyms { get; } = new(StringComparer.Ordinal);

        /// <summary>Time spent understanding the records (the "read" stage).</summary>
        public TimeSpan ReadTime { get; private set; }

        public int Count => Items.Count;

        /// <summary>Per partition, the offset after the batch's last record: stored with the batch, then committed to the
        /// group. Computed once, when first asked (a batch is complete by then).</summary>
        public List<TopicPartitionOffset> NextOffsets => nextOffsets ??= ComputeNextOffsets(Items);

        public void Add(BatchItem item)
        {
            Items.Add(item);
            switch (item)
            {
                case EventItem e:
                    foreach (var identifier in e.Event.Identifiers)
                    {
                        Pseudonyms.Add(identifier.Pseudonym);
                        if (identifier.Previous is { } previous)
                        {
                            Pseudonyms.Add(previous);
                        }
                    }

                    break;
                case ConsentItem c:
                    Pseudonyms.UnionWith(ProfileBatchProcessor.PseudonymsOf(c.Command));
                    break;
            }
        }

        public void AddReadTime(TimeSpan elapsed) => ReadTime += elapsed;

        public static Batch Of(IEnumerable<BatchItem> items, IReadOnlyDictionary<(string Topic, int Partition), long> epochs)
        {
            var batch = new Batch(epochs);
            foreach (var item in items)
            {
                batch.Add(item);
            }

            return batch;
        }
    }

    /// <summary>A batch loaded and applied in its open transaction, not saved yet; without changes when it collided.</summary>
    private sealed class Prepared(Batch batch, BatchChanges? changes, DateTimeOffset now, NpgsqlConnection? connection,
        NpgsqlTransaction? transaction, IReadOnlyDictionary<string, long>? carried) : IDisposable
    {
        /// <summary>Profiles taken over from the batch before, with the versions it commits them at.</summary>
        public IReadOnlyDictionary<string, long>? Carried => carried;

        public Batch Batch => batch;

        public BatchChanges? Changes => changes;

        public DateTimeOffset Now => now;

        public NpgsqlConnection? Connection => connection;

        public NpgsqlTransaction? Transaction => transaction;

        public bool Failed => changes is null;

        public void Dispose()
        {
            transaction?.Dispose();
            connection?.Dispose();
        }
    }

    /// <summary>A batch whose save and commit run in the background, with the connection and transaction they use.</summary>
    private sealed class InFlight(Batch batch, BatchChanges changes, NpgsqlConnection? connection, NpgsqlTransaction? transaction,
        Task<long[]> task) : IDisposable
    {
        public Batch Batch => batch;

        public BatchChanges Changes => changes;

        public Task<long[]> Task => task;

        /// <summary>The background commit collided and the batch was run again.</summary>
        public bool Retried { get; set; }

        /// <summary>Waits until the commit has succeeded or failed; what failed it is for <see cref="Finish"/>.</summary>
        public void Settle() => ((IAsyncResult)task).AsyncWaitHandle.WaitOne();

        public void Dispose()
        {
            transaction?.Dispose();
            connection?.Dispose();
            (transaction, connection) = (null, null);
        }
    }

    private static BatchItem Read(ConsumeResult<byte[]?, byte[]?> record) =>
        CanonicalRecordReader.Read(new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value), record.Message.Value,
            OutputHeaders.ReadKind(record.Message.Headers));

    private void CommitToGroup(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> offsets)
    {
        // For lag monitoring only: the offsets that count are stored with the data. Called from the publisher's thread
        // (librdkafka's commit is thread-safe); the worker waits for it before it closes the consumer.
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e)
        {
            logger.LogDebug("Committing group offsets failed (monitoring only): {Reason}", e.Error.Reason);
        }
    }
}
