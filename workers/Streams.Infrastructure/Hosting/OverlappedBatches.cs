using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Hosting;

/// <summary>
/// The capability's part of a worker on the runtime's overlapped strategy (<see cref="OverlappedBatches{TItem, TPrepared}"/>):
/// each batch is loaded and applied in a transaction of its own (<see cref="Prepare"/>), then saved and committed
/// (<see cref="Save"/>) on another thread while the next batch is read and prepared.
/// </summary>
/// <typeparam name="TItem">What the worker makes of one record.</typeparam>
/// <typeparam name="TPrepared">A batch prepared in its open transaction. Disposing it lets go of its connection (rolling back
/// unless saved) and may happen more than once; what <see cref="Published"/> reads of it stays.</typeparam>
public interface IOverlappedBatchHandler<TItem, TPrepared>
    where TPrepared : class, IDisposable
{
    /// <summary>What <paramref name="record"/> is to the worker; runs on the loop thread as each record arrives. Never throws for bad input.</summary>
    TItem Read(ConsumeResult<byte[]?, byte[]?> record);

    /// <summary>
    /// Opens a transaction, loads what <paramref name="batch"/> needs and applies the batch in memory, without saving.
    /// Throws what <see cref="Collided"/> recognizes when another writer holds or changed what it needs; nothing is kept then.
    /// </summary>
    /// <param name="batch">The batch.</param>
    /// <param name="saving">The batch before, being saved meanwhile: it commits before this one saves, so this one may take
    /// over its outcome rather than read it (and check at <see cref="Save"/> that it was committed so); null if none is.</param>
    /// <param name="overlapping">True: this worker may hold another open transaction while it waits, outside PostgreSQL, for
    /// this one, so a wait for a lock must be bounded (a cycle through that wait is one PostgreSQL cannot see).</param>
    TPrepared Prepare(OverlappedBatch<TItem> batch, TPrepared? saving, bool overlapping);

    /// <summary>
    /// Saves the prepared batch's effects, its outbox rows and its offsets (<see cref="OverlappedBatch{TItem}.NextOffsets"/>,
    /// fenced with <see cref="OverlappedBatch{TItem}.Epochs"/>) and commits; may run on another thread than the loop.
    /// </summary>
    void Save(TPrepared prepared);

    /// <summary>Another writer got to the same rows first: the batch is run again against what it committed, not failed.</summary>
    bool Collided(Exception failure);

    /// <summary>What to store for <paramref name="item"/> once the store refused it alone for good (<paramref name="failure"/>): a quarantine record.</summary>
    TItem Rejected(TItem item, Exception failure);

    /// <summary>The batch is committed and its outbox published (publishing took <paramref name="publishing"/>); runs on the publisher's thread.</summary>
    void Published(TPrepared prepared, TimeSpan publishing);

    /// <summary>This instance now holds <paramref name="partitions"/> partitions. Nothing by default.</summary>
    void Held(int partitions)
    {
    }
}

/// <summary>A batch of the overlapped strategy: what was understood of its records, and the checkpoint that passes them.</summary>
public sealed class OverlappedBatch<TItem>
{
    internal OverlappedBatch(IReadOnlyList<PendingRecord<TItem>> records, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        TimeSpan readTime, Activity? span = null)
    {
        Records = records;
        Span = span;
        Items = [.. records.Select(r => r.Item)];
        Epochs = epochs;
        ReadTime = readTime;
        var next = new Dictionary<(string Topic, int Partition), long>();
        foreach (var record in records)
        {
            next[(record.Topic, record.Partition)] = Math.Max(next.GetValueOrDefault((record.Topic, record.Partition)), record.Offset + 1);
        }

        NextOffsets = [.. next.Select(n => (n.Key.Topic, n.Key.Partition, n.Value))];
    }

    public IReadOnlyList<TItem> Items { get; }

    /// <summary>The epochs its records were read under: its checkpoint is refused if any has been claimed by another since.</summary>
    public IReadOnlyDictionary<(string Topic, int Partition), long> Epochs { get; }

    /// <summary>Per partition, the offset after its last record: the checkpoint stored with it.</summary>
    public IReadOnlyList<(string Topic, int Partition, long NextOffset)> NextOffsets { get; }

    /// <summary>Time spent understanding its records (<see cref="IOverlappedBatchHandler{TItem, TPrepared}.Read"/>).</summary>
    public TimeSpan ReadTime { get; }

    public int Count => Records.Count;

    internal IReadOnlyList<PendingRecord<TItem>> Records { get; }

    /// <summary>Its span (<see cref="RecordTracing"/>), current while it is prepared and saved, on whichever thread; null untraced.</summary>
    internal Activity? Span { get; }

    internal OverlappedBatch<TItem> Part(IReadOnlyList<PendingRecord<TItem>> records) => new(records, Epochs, TimeSpan.Zero, Span);
}

/// <summary>
/// The runtime's overlapped strategy: two batches overlap. While one is saved and committed in the background, the next
/// is read from the consumer and, once full, prepared (loaded and applied in its own transaction). It saves and commits
/// only after the one before has committed, so commits (and the offsets stored with them) stay in consumption order,
/// and whatever it shares with that batch it takes over from it or reads after that commit (PostgreSQL makes its load
/// wait for those locks). Records are read into pending ones first (up to four batches' worth while a batch commits)
/// and each batch is cut from them oldest first across partitions (see <see cref="PendingRecords{TItem}"/>). A
/// committed batch's outbox is published in the background, read back from the table like every worker's.
/// </summary>
/// <remarks>
/// A batch that collided with another writer runs again alone (up to <see cref="MaxBatchAttempts"/> times); one the
/// store refuses for good is split until the records it refuses alone are found and quarantined
/// (<see cref="PoisonBisection"/>). A rebalance waits for the batch being committed, so the next owner resumes from its
/// offsets, and drops the records of lost partitions read ahead: their next owner reads them again. A batch is cut and
/// handed to its save before the consumer is called again, so a rebalance never drops a record of a cut batch.
/// </remarks>
internal sealed class OverlappedBatches<TItem, TPrepared>(
    IOverlappedBatchHandler<TItem, TPrepared> handler, CheckpointedBatchSettings settings, WorkerHeartbeat heartbeat, TimeProvider timeProvider,
    ILogger logger) : IBatchStrategy
    where TPrepared : class, IDisposable
{
    private const int MaxBatchAttempts = 5;
    private static readonly TimeSpan ReadAheadPoll = TimeSpan.FromMilliseconds(5);
    private readonly PendingRecords<TItem> pending = new();
    private InFlight? inFlight;
    private Task publishing = Task.CompletedTask;
    private bool rebalanced;
    private long pendingSince;

    public void Run(IConsumer<byte[]?, byte[]?> consumer, CheckpointedBatchSession session)
    {
        var stopping = session.Stopping;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                heartbeat.Beat(consumer);
                OverlappedBatch<TItem>? batch = null;
                TPrepared? next = null;
                if (inFlight is { } finishing)
                {
                    ReadAhead(consumer, finishing, stopping);
                    if (pending.Count >= settings.BatchSize && !finishing.Task.IsCompleted && !rebalanced)
                    {
                        // A full batch waiting: prepare it meanwhile. It saves nothing before the one in flight has
                        // committed, so that one never waits for it.
                        batch = Cut(session);
                        using (RecordTracing.Enter(batch.Span))
                        {
                            next = TryPrepare(batch, finishing.Prepared);
                        }
                    }

                    inFlight = null;
                    try
                    {
                        // If the batch before must run again, the next one lets go of its locks first, and is prepared again after.
                        if (!Finish(consumer, session, finishing, next))
                        {
                            next = null;
                        }

                        heartbeat.BatchDone();
                    }
                    catch
                    {
                        next?.Dispose();
                        throw;
                    }
                }

                rebalanced = false;
                if (batch is null)
                {
                    // Records read ahead opened the batch when the first of them came: a batch they make lingers no more.
                    var waited = pending.Count > 0 ? timeProvider.GetElapsedTime(pendingSince) : TimeSpan.Zero;
                    BatchCollector.Collect(consumer, () => pending.Count, record => Add(record), settings.BatchSize, settings.MaxBatchWait,
                        settings.Linger, waited, heartbeat, timeProvider, stopping);
                    batch = Cut(session);
                }

                if (batch.Count == 0 || stopping.IsCancellationRequested)
                {
                    next?.Dispose();
                    continue;
                }

                // From here until its Finish the loop holds this batch: a session that fails meanwhile counts as a retry
                // of it (see WorkerHealth.Live).
                heartbeat.BatchFilled(batch.Count);
                inFlight = Begin(batch, next);
            }

            if (inFlight is { } last)
            {
                inFlight = null;
                Finish(consumer, session, last, null);
            }

            WaitPublished();
        }
        finally
        {
            try
            {
                // Nothing may use the consumer or the connection after this; a failure here is already on its way out.
                inFlight?.Settle();
                inFlight?.Prepared.Dispose();
                inFlight?.Batch.Span?.Dispose();
                WaitPublished();
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Publishing the last committed batch failed; the next session publishes it");
            }
        }
    }

    public void Revoked(IReadOnlySet<TopicPartition> gone)
    {
        rebalanced = true;
        inFlight?.Settle();
        pending.Drop(gone);
    }

    public void Assigning() => inFlight?.Settle();

    public void Held(int partitions) => handler.Held(partitions);

    public void Assigned(CheckpointedBatchSession session)
    {
    }

    /// <summary>
    /// Reads records while the batch before is being committed, without waiting past that: up to four batches' worth, so
    /// that the next batch is cut from more partitions than the consumer's last fetches happened to bring (measured with
    /// 16 partitions: two batches' worth still left some runs writing twice the profile rows, four did not).
    /// </summary>
    private void ReadAhead(IConsumer<byte[]?, byte[]?> consumer, InFlight finishing, CancellationToken stopping)
    {
        while (pending.Count < 4 * settings.BatchSize && !finishing.Task.IsCompleted && !stopping.IsCancellationRequested)
        {
            if (consumer.Consume(ReadAheadPoll) is { IsPartitionEOF: false } record)
            {
                Add(record);
            }
        }
    }

    private void Add(ConsumeResult<byte[]?, byte[]?> record)
    {
        if (pending.Count == 0)
        {
            pendingSince = timeProvider.GetTimestamp();
        }

        var start = Stopwatch.GetTimestamp();
        var item = handler.Read(record);
        pending.Add(new PendingRecord<TItem>(record.Topic, record.Partition.Value, record.Offset.Value, item)
            {
                Producer = RecordTracing.Enabled ? RecordTracing.Producer(record) : default,
            },
            record.Message.Timestamp.UnixTimestampMs, Stopwatch.GetElapsedTime(start));
    }

    private OverlappedBatch<TItem> Cut(CheckpointedBatchSession session)
    {
        var (records, readTime) = pending.Cut(settings.BatchSize);
        // What stays behind was read after the batch's first record; counting its wait from now errs on the long side.
        pendingSince = timeProvider.GetTimestamp();
        return new OverlappedBatch<TItem>(records, session.Epochs, readTime,
            records.Count == 0 ? null : RecordTracing.StartDetached(settings.Worker, records.Count, records.Select(r => r.Producer)));
    }

    /// <summary>Prepares <paramref name="batch"/> with bounded lock waits; null when it collided (it then runs alone).</summary>
    private TPrepared? TryPrepare(OverlappedBatch<TItem> batch, TPrepared? saving)
    {
        try
        {
            return handler.Prepare(batch, saving, overlapping: true);
        }
        catch (Exception e) when (handler.Collided(e))
        {
            logger.LogInformation("Batch collided with another worker ({Reason}); retrying", Reason(e));
            return null;
        }
    }

    /// <summary>Saves <paramref name="batch"/> in the background, prepared now unless it was; runs it alone if it collides.</summary>
    private InFlight Begin(OverlappedBatch<TItem> batch, TPrepared? prepared)
    {
        // The save task starts inside the span, and so carries it.
        using var traced = RecordTracing.Enter(batch.Span);
        prepared ??= TryPrepare(batch, saving: null);
        if (prepared is null)
        {
            return new InFlight(batch, CommitAlone(batch, firstAttempt: 2), Task.CompletedTask);
        }

        var ready = prepared;
        return new InFlight(batch, ready, Task.Run(() => handler.Save(ready)));
    }

    /// <summary>
    /// Waits for <paramref name="finishing"/>'s commit (running it again if it collided, isolating what the store refuses
    /// if it failed for good), then publishes it in the background. False when <paramref name="next"/> had to let go of
    /// its transaction (it is disposed) because the batch before ran again.
    /// </summary>
    private bool Finish(IConsumer<byte[]?, byte[]?> consumer, CheckpointedBatchSession session, InFlight finishing, TPrepared? next)
    {
        var committed = finishing.Prepared;
        var kept = true;
        try
        {
            try
            {
                finishing.Task.GetAwaiter().GetResult();
            }
            catch (Exception e) when (handler.Collided(e) && !rebalanced)
            {
                // After a rebalance the records may belong to another worker now: the session restarts instead.
                finishing.Prepared.Dispose();
                next?.Dispose();
                kept = false;
                logger.LogInformation("Batch collided with another worker ({Reason}); retrying", Reason(e));
                using var traced = RecordTracing.Enter(finishing.Batch.Span);
                committed = CommitAlone(finishing.Batch, firstAttempt: 2);
            }
        }
        catch (Exception e) when (Failures.IsPermanentData(e) && !handler.Collided(e) && !rebalanced)
        {
            // PostgreSQL refused something the batch made, and would refuse it again: find the records that fail alone,
            // quarantine them and store the rest.
            finishing.Prepared.Dispose();
            next?.Dispose();
            using (RecordTracing.Enter(finishing.Batch.Span))
            {
                Isolate(consumer, session, finishing.Batch, e);
            }

            return false;
        }
        finally
        {
            finishing.Prepared.Dispose();
            finishing.Batch.Span?.Dispose();
        }

        var offsets = finishing.Batch.NextOffsets;
        WaitPublished();
        publishing = Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            session.PublishPending();
            CheckpointedBatchRuntime.CommitToGroup(consumer, offsets.Select(o => new TopicPartitionOffset(o.Topic, o.Partition, o.NextOffset)), logger);
            handler.Published(committed, clock.Elapsed);
        });
        return kept;
    }

    /// <summary>
    /// Commits <paramref name="batch"/> in halves (<see cref="PoisonBisection"/>) and quarantines each record the store
    /// refuses alone (<see cref="IOverlappedBatchHandler{TItem, TPrepared}.Rejected"/>), with the offset that passes it;
    /// then publishes what the halves wrote, in order.
    /// </summary>
    private void Isolate(IConsumer<byte[]?, byte[]?> consumer, CheckpointedBatchSession session, OverlappedBatch<TItem> batch, Exception failure)
    {
        var committed = new List<TPrepared>();
        var (attempts, quarantined) = PoisonBisection.Isolate(batch.Records, failure,
            run => committed.Add(CommitAlone(batch.Part(run), firstAttempt: 1)),
            (record, error) =>
            {
                logger.LogWarning("Quarantining {Topic}/{Partition}@{Offset}: the store refused it ({State})",
                    record.Topic, record.Partition, record.Offset, (error as PostgresException)?.SqlState);
                committed.Add(CommitAlone(batch.Part([record with { Item = handler.Rejected(record.Item, error) }]), firstAttempt: 1));
            },
            Failures.IsPermanentData);
        logger.LogWarning("Isolated {Quarantined} records the store refused in a batch of {Records} with {Attempts} commits",
            quarantined, batch.Count, attempts);
        WaitPublished();
        var clock = Stopwatch.StartNew();
        session.PublishPending();
        CheckpointedBatchRuntime.CommitToGroup(consumer, batch.NextOffsets.Select(o => new TopicPartitionOffset(o.Topic, o.Partition, o.NextOffset)), logger);
        committed.ForEach(run => handler.Published(run, clock.Elapsed / committed.Count));
    }

    /// <summary>Prepares and saves <paramref name="batch"/> on the loop thread, nothing else of this worker open, from attempt <paramref name="firstAttempt"/> on.</summary>
    private TPrepared CommitAlone(OverlappedBatch<TItem> batch, int firstAttempt)
    {
        for (var attempt = firstAttempt; ; attempt++)
        {
            try
            {
                using var prepared = handler.Prepare(batch, saving: null, overlapping: false);
                handler.Save(prepared);
                return prepared;
            }
            catch (Exception e) when (attempt < MaxBatchAttempts && handler.Collided(e))
            {
                // Another worker got to the same rows first; the batch is read again against what it committed.
                logger.LogInformation("Batch collided with another worker ({Reason}); retrying", Reason(e));
            }
        }
    }

    /// <summary>Waits until the batch being published is out and committed to the group; throws what failed it.</summary>
    private void WaitPublished()
    {
        var task = publishing;
        publishing = Task.CompletedTask;
        task.GetAwaiter().GetResult();
    }

    private static string Reason(Exception e) => e is PostgresException p ? p.SqlState : e.Message;

    /// <summary>A batch whose save and commit run in the background.</summary>
    private sealed record InFlight(OverlappedBatch<TItem> Batch, TPrepared Prepared, Task Task)
    {
        /// <summary>Waits until the commit has succeeded or failed; what failed it is for <see cref="Finish"/>.</summary>
        public void Settle() => ((IAsyncResult)Task).AsyncWaitHandle.WaitOne();
    }
}
