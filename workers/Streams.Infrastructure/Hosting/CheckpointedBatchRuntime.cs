using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;

namespace Streams.Infrastructure.Hosting;

/// <summary>What a capability tells <see cref="CheckpointedBatchRuntime"/> about its consumer, offset store and outbox.</summary>
/// <param name="Worker">The name in logs and the restart loop ("Segmentation").</param>
/// <param name="Consumer">The name its offsets and partition epochs are stored under (<see cref="ConsumerOffsets"/>).</param>
/// <param name="OutboxTable">Its transactional outbox table (see <see cref="TableOutboxPublisher"/>); null for a worker
/// whose effects stay in PostgreSQL.</param>
/// <param name="BatchSize">Most records a batch holds.</param>
/// <param name="MaxBatchWait">Longest a record waits for its batch to close.</param>
/// <param name="BatchLinger">How long a batch with no backlog behind it stays open after its first record (see
/// <see cref="BatchCollector"/>); null for <see cref="Linger"/>'s default.</param>
public sealed record CheckpointedBatchSettings(
    string Worker, string Consumer, string? OutboxTable, string GroupId, string ClientId, IReadOnlyCollection<string> Topics,
    int BatchSize, TimeSpan MaxBatchWait, TimeSpan RetryDelay, TimeSpan MaxRetryDelay, TimeSpan? BatchLinger = null)
{
    /// <summary>
    /// How long a batch with no backlog behind it (a thin stream) waits for more after its first record: by default a
    /// quarter of <see cref="MaxBatchWait"/>. Closing at once would make a batch of every few records of a moderate
    /// stream, each paying a batch's fixed costs (a transaction, a flush, an outbox round: measured, open loop at 2,500
    /// events/s, 60 % more CPU per event than batches that waited); a short linger bounds what a thin stream's record waits.
    /// </summary>
    public TimeSpan Linger => BatchLinger is { } linger ? TimeSpan.FromTicks(Math.Min(linger.Ticks, MaxBatchWait.Ticks)) : MaxBatchWait / 4;
}

/// <summary>The capability's part of a checkpointed batch worker: what one batch does, in one transaction with its offsets.</summary>
public interface ICheckpointedBatchHandler
{
    /// <summary>
    /// Runs at the start of each session, after what the last one committed is published, and again whenever
    /// <see cref="Commit"/> says it cannot apply a batch yet: work a crash or another instance may have left unfinished.
    /// </summary>
    void Resume(CheckpointedBatchSession session);

    /// <summary>
    /// Stores the batch's effects, its outbox rows and its offsets (<see cref="CheckpointedBatchSession.NextOffsets"/>,
    /// fenced with <see cref="CheckpointedBatchSession.Epochs"/>) in one transaction and commits it; false, with nothing
    /// stored, when unfinished work must go first (the runtime then calls <see cref="Resume"/> and offers the batch again).
    /// </summary>
    bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session);

    /// <summary>
    /// True when a batch PostgreSQL refuses for good (<see cref="Failures.IsPermanentData"/>) may be committed again in
    /// parts in the same session (<see cref="PoisonBisection"/>), and a record that fails alone committed as rejected
    /// (<see cref="CommitRejected"/>): everything <see cref="Commit"/> does is in its transaction, so a failed commit
    /// left nothing behind. False by default (a handler that writes outside its transaction, as ingest produces before
    /// its checkpoint, would write a part's outputs twice): the session then fails on such a batch and starts again.
    /// </summary>
    bool CommitsInParts => false;

    /// <summary>
    /// <paramref name="record"/> made its batch fail for good and fails alone (<see cref="CommitsInParts"/>): commits what
    /// quarantines it (<c>store_rejected</c>) and the offset that passes it, as <see cref="Commit"/> commits a batch
    /// (false: unfinished work must go first).
    /// </summary>
    bool CommitRejected(ConsumeResult<byte[]?, byte[]?> record, Exception failure, CheckpointedBatchSession session) =>
        throw new NotSupportedException($"{GetType().Name} does not commit a batch in parts.");

    /// <summary>
    /// Runs in the consumer's assignment callback, after the runtime has claimed the new partitions' epochs and before it
    /// reads their stored offsets or any of their records: for a capability that must prepare a partition first (ingest's
    /// recovery scan). Nothing by default.
    /// </summary>
    void Assigned(CheckpointedBatchSession session)
    {
    }

    /// <summary>Runs between batches, also while the input is idle: upkeep such as pruning old rows. Nothing by default.</summary>
    void BetweenBatches(CheckpointedBatchSession session)
    {
    }
}

/// <summary>What a handler may use during one session of the runtime.</summary>
public sealed class CheckpointedBatchSession(TableOutboxPublisher? publisher, PartitionOwnership ownership, Action beat, CancellationToken stopping)
{
    /// <summary>Cancelled when the worker stops: long work between batches ends early and resumes in the next session.</summary>
    public CancellationToken Stopping => stopping;

    /// <summary>Publishes every row of the outbox table committed so far, in order (nothing without an outbox).</summary>
    public void PublishPending() => publisher?.PublishPending();

    /// <summary>The epochs of the partitions this session holds: a checkpoint written with them is refused once another owns one.</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> Epochs => ownership.Epochs;

    /// <summary>Tells the health checks the loop is alive during long work between batches.</summary>
    public void Beat() => beat();

    /// <summary>Per partition, the offset after the last record of <paramref name="batch"/>: the checkpoint that passes it.</summary>
    public static List<(string Topic, int Partition, long NextOffset)> NextOffsets(IEnumerable<ConsumeResult<byte[]?, byte[]?>> batch) =>
        [.. batch.GroupBy(r => (r.Topic, r.Partition.Value)).Select(g => (g.Key.Topic, g.Key.Value, g.Max(r => r.Offset.Value) + 1))];
}

/// <summary>
/// The consume → handle → publish → commit loop of a worker whose checkpoint lives in PostgreSQL: its own thread, the
/// restart loop around it, batches filled against the <see cref="TimeProvider"/>, partitions claimed (fenced) and
/// resumed from the stored offsets, records of a revoked or lost partition dropped before they are handled, the
/// outbox published after each commit, the offsets committed to the group for lag monitoring only, and the consumer
/// closed before it is disposed. The handler supplies only what one batch does.
/// </summary>
/// <remarks>
/// Two strategies share all of that: one batch at a time (<see cref="ICheckpointedBatchHandler"/>), or two overlapping
/// (<see cref="IOverlappedBatchHandler{TItem, TPrepared}"/>, see <see cref="OverlappedBatches{TItem, TPrepared}"/>).
/// </remarks>
public sealed class CheckpointedBatchRuntime(StreamsEnvironment environment, WorkerHeartbeat heartbeat, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Runs sessions on a long-running thread until <paramref name="stoppingToken"/> is cancelled (see <see cref="RestartingLoop"/>).</summary>
    public Task Start(CheckpointedBatchSettings settings, ICheckpointedBatchHandler handler, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Start(settings, () => new SequentialBatches(handler, settings, heartbeat, timeProvider, logger), stoppingToken);
    }

    /// <summary>
    /// Runs sessions of the overlapped strategy: each batch is prepared while the one before is saved and committed
    /// (see <see cref="IOverlappedBatchHandler{TItem, TPrepared}"/>).
    /// </summary>
    public Task Start<TItem, TPrepared>(CheckpointedBatchSettings settings, IOverlappedBatchHandler<TItem, TPrepared> handler,
        CancellationToken stoppingToken)
        where TPrepared : class, IDisposable
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Start(settings, () => new OverlappedBatches<TItem, TPrepared>(handler, settings, heartbeat, timeProvider, logger), stoppingToken);
    }

    private Task Start(CheckpointedBatchSettings settings, Func<IBatchStrategy> strategy, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Task.Factory.StartNew(
            () =>
            {
                // The loop thread is this worker's alone: named ("segmentation"), its CPU shows apart in profilers and
                // in the load benchmark's figures by thread.
                Thread.CurrentThread.Name = settings.Worker.ToLowerInvariant().Replace(' ', '-');
                RestartingLoop.Run(settings.Worker, heartbeat, token => RunSession(settings, strategy(), token),
                    settings.RetryDelay, settings.MaxRetryDelay, logger, stoppingToken, timeProvider);
            },
            stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void RunSession(CheckpointedBatchSettings settings, IBatchStrategy strategy, CancellationToken stoppingToken)
    {
        using var publisher = settings.OutboxTable is { } table
            ? new TableOutboxPublisher(environment.DataSource, table, environment.BootstrapServers, settings.ClientId, logger)
            : null;
        publisher?.PublishPending();
        var ownership = new PartitionOwnership(environment.DataSource, settings.Consumer);
        CheckpointedBatchSession? session = null;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(WorkerConsumerConfig.Checkpointed(environment.BootstrapServers, settings.GroupId, settings.ClientId, settings.Linger))
            .SetLogHandler((_, m) => logger.LogDebug("consumer: {Message}", m.Message))
            // Records of a partition read but not committed are dropped when it goes: its next owner reads them again,
            // and a checkpoint that still named it would be refused.
            .SetPartitionsRevokedHandler((_, revoked) => Release(revoked.Select(r => r.TopicPartition)))
            .SetPartitionsLostHandler((_, lost) => Release(lost.Select(r => r.TopicPartition)))
            .SetPartitionsAssignedHandler((assignedTo, partitions) =>
            {
                strategy.Assigning();
                // Claimed before the offsets are read: a previous owner's checkpoint committed before (and is read here)
                // or is refused.
                ownership.Claim(partitions);
                strategy.Held(ownership.Epochs.Count);
                // The callback runs inside Consume, so after the session below exists.
                strategy.Assigned(session!);
                var stored = ConsumerOffsets.Load(environment.DataSource, settings.Consumer);
                var positions = partitions.Select(p => new TopicPartitionOffset(p,
                    stored.TryGetValue((p.Topic, p.Partition.Value), out var next) ? new Offset(next) : Offset.Beginning)).ToList();
                // The group's offsets show what is stored even for a partition that gets no record after it moved: the
                // previous owner's last commit to the group may have been refused by the rebalance, and its lag would
                // otherwise stay until the next record (for good, once the input has ended).
                CommitToGroup(assignedTo, positions.Where(p => p.Offset != Offset.Beginning), logger);
                return positions;
            })
            .Build();
        session = new CheckpointedBatchSession(publisher, ownership, () => heartbeat.Beat(consumer), stoppingToken);
        consumer.Subscribe(settings.Topics);
        try
        {
            strategy.Run(consumer, session);
        }
        finally
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
                // After a broker failure the group notices by the session timeout.
            }
        }

        void Release(IEnumerable<TopicPartition> gone)
        {
            var partitions = gone.ToHashSet();
            strategy.Revoked(partitions);
            ownership.Release(partitions);
            strategy.Held(ownership.Epochs.Count);
        }
    }

    /// <summary>Commits <paramref name="offsets"/> to the group, for lag monitoring only: the offsets that count were stored with the batch.</summary>
    internal static void CommitToGroup(IConsumer<byte[]?, byte[]?> consumer, IEnumerable<TopicPartitionOffset> offsets, ILogger logger)
    {
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

/// <summary>How a session of <see cref="CheckpointedBatchRuntime"/> turns consumed records into committed batches.</summary>
internal interface IBatchStrategy
{
    /// <summary>Runs the session's batches on the loop thread until <see cref="CheckpointedBatchSession.Stopping"/>.</summary>
    void Run(IConsumer<byte[]?, byte[]?> consumer, CheckpointedBatchSession session);

    /// <summary>
    /// <paramref name="gone"/> were revoked or lost (called inside <c>Consume</c>, on the loop thread, before their epochs
    /// are let go): nothing of theirs that is not committed yet may be committed by this instance.
    /// </summary>
    void Revoked(IReadOnlySet<TopicPartition> gone);

    /// <summary>Partitions are about to be claimed (inside <c>Consume</c>, on the loop thread).</summary>
    void Assigning();

    /// <summary>This instance now holds <paramref name="partitions"/> partitions.</summary>
    void Held(int partitions);

    /// <summary>
    /// New partitions are claimed and their stored offsets not yet read (inside <c>Consume</c>, on the loop thread):
    /// <see cref="ICheckpointedBatchHandler.Assigned"/>.
    /// </summary>
    void Assigned(CheckpointedBatchSession session);
}
