using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Worker;

/// <summary>
/// Consumes the input topics in batches and writes each record's outcome (a canonical event, a consent command,
/// a quarantine record) exactly once.
/// </summary>
/// <remarks>
/// Exactly once, without Kafka transactions: a batch first claims the event ids it will use (a claim held by another
/// record makes a duplicate; the same record read again keeps its own), then its outputs go out through an idempotent
/// producer and are flushed; then one PostgreSQL transaction records every assigned input partition's next offset
/// together with the end offsets of the output partitions. That transaction is fenced (<see cref="PartitionEpochs"/>):
/// it begins before the batch produces, with a check that this instance still holds the epochs of its partitions, and
/// holds them until it commits. A new owner claims those epochs before it reads the checkpoints and scans the outputs,
/// so its claim waits for a batch already past its check, and then finds that batch's outputs (flushed before the
/// checkpoint, which is written or, if the session fails, rolled back only after the producer is disposed); a batch
/// whose check comes after the claim is refused before it produces anything. An evicted instance therefore writes no
/// output the new owner's recovery scan does not see, and cannot move a checkpoint back. A session that fails (crash,
/// PostgreSQL away, a delivery error) starts over from the checkpoints and first scans the outputs past the recorded end offsets, so outputs
/// written after the last checkpoint are not written again. A record is judged and written by
/// <see cref="IngestPipeline.Handle"/>, which never throws: no record can stop the loop. Kafka transactions would do the same on a real
/// broker, but the embedded broker does not hide aborted records from read_committed consumers (measured; see
/// EmbeddedBroker_ReadCommitted_StillSeesAbortedRecords), and this way needs no broker support at all.
/// </remarks>
public sealed class IngestWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    IngestPipeline pipeline,
    Pseudonymizer sealer,
    IngestMetrics metrics,
    IOptions<IngestOptions> ingestOptions,
    IOptions<IngestWorkerOptions> workerOptions,
    WorkerHeartbeats heartbeats,
    TimeProvider timeProvider,
    ILogger<IngestWorker> logger) : BackgroundService
{
    // Fields rather than captured parameters: the nested session reads them.
    private readonly StreamsEnvironment environment = environment;
    private readonly TopicCatalog catalog = catalog;
    private readonly IngestPipeline pipeline = pipeline;
    private readonly Pseudonymizer sealer = sealer;
    private readonly IngestMetrics metrics = metrics;
    private readonly TimeProvider timeProvider = timeProvider;
    private readonly ILogger<IngestWorker> logger = logger;
    private readonly IngestWorkerOptions options = workerOptions.Value;
    private readonly WorkerHeartbeat heartbeat = heartbeats.For(WorkerSelection.Ingest);
    private readonly TimeSpan dedupWindow = ingestOptions.Value.DedupWindow;
    private readonly Dictionary<string, Channel> channels = new(StringComparer.Ordinal)
    {
        [catalog.Names.Clickstream] = Channel.Clickstream,
        [catalog.Names.Store] = Channel.Store,
        [catalog.Names.Callcenter] = Channel.Callcenter,
        [catalog.Names.Social] = Channel.Social,
        [catalog.Names.Consent] = Channel.Consent,
    };

    /// <summary>The producer's <c>message.max.bytes</c> (librdkafka's default, below every broker's default).</summary>
    public const int MessageMaxBytes = 1_000_000;

    /// <summary>
    /// The longest value ingest produces: the message limit less room for the key (a pseudonym, an event id of at most
    /// 128 characters or a 64-character digest), the two headers (a topic name of at most 249 characters) and the
    /// record's framing. A longer output is quarantined as <c>oversized_record</c> instead of being refused by the
    /// producer on every attempt.
    /// </summary>
    public const int MaxValueBytes = MessageMaxBytes - 4096;

    /// <summary>The name ingest's partition epochs are kept under (<see cref="PartitionEpochs"/>).</summary>
    public const string Consumer = "ingest";

    /// <summary>Event ids forgotten per statement: a chunk takes well under a second, and batches go on in between.</summary>
    internal const int ExpiryChunk = 10_000;

    private static readonly TimeSpan ExpiryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MarkRefreshInterval = TimeSpan.FromMinutes(1);

    /// <summary>Input records whose batch was checkpointed, for tests and the console view.</summary>
    public long RecordsCommitted => Interlocked.Read(ref recordsCommitted);

    private long recordsCommitted;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // The consume loop blocks; it gets a thread of its own rather than a thread-pool thread.
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken) => RestartingLoop.Run("Ingest", heartbeat, token =>
    {
        using var session = new IngestSession(this, token);
        session.Run();
    }, options.RetryDelay, options.MaxRetryDelay, logger, stoppingToken, timeProvider);

    /// <summary>One consumer and producer, from start (or a failure) to stop (or the next failure).</summary>
    private sealed class IngestSession : IDisposable
    {
        private readonly IngestWorker worker;
        private readonly CancellationToken stoppingToken;
        private readonly IngestStateRepository state;
        private readonly IProducer<byte[]?, byte[]> producer;
        private readonly IConsumer<byte[]?, byte[]?> consumer;
        private readonly List<ConsumeResult<byte[]?, byte[]?>> buffer = [];
        private readonly PartitionOwnership ownership;

        // The batch's fenced transaction, from before it produces until its checkpoint commits; on failure it rolls back
        // only when the session is disposed, after the producer (see the remarks on the worker).
        private FencedTransaction? fenced;

        // End offset of every output partition as known from delivery reports and loaded checkpoints ("topic/partition").
        private readonly Dictionary<string, long> outputMarks = new(StringComparer.Ordinal);

        // Outputs written for records after their partition's checkpoint, found by the recovery scan: not written again.
        private readonly HashSet<EmittedOutput> alreadyEmitted = [];

        // Next offset of every assigned input partition as last checkpointed: every batch checkpoints all of them.
        private readonly Dictionary<(string Topic, int Partition), long> positions = [];

        // The output marks last checkpointed for every assigned input partition.
        private readonly Dictionary<(string Topic, int Partition), IReadOnlyDictionary<string, long>> recordedMarks = [];
        private DateTimeOffset nextSummary;
        private DateTimeOffset nextExpiry;
        private DateTimeOffset nextMarkRefresh;

        public IngestSession(IngestWorker worker, CancellationToken stoppingToken)
        {
            this.worker = worker;
            this.stoppingToken = stoppingToken;
            state = new IngestStateRepository(worker.environment.DataSource);
            ownership = new PartitionOwnership(worker.environment.DataSource, Consumer);
            var bootstrap = worker.environment.BootstrapServers;
            producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
                {
                    BootstrapServers = bootstrap,
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 5,
                    ClientId = "streams-ingest",
                    MessageMaxBytes = MessageMaxBytes,
                })
                .SetLogHandler((_, m) => worker.logger.LogDebug("producer: {Message}", m.Message))
                .Build();
            consumer = new ConsumerBuilder<byte[]?, byte[]?>(WorkerConsumerConfig.Checkpointed(bootstrap, worker.options.GroupId, "streams-ingest"))
                .SetLogHandler((_, m) => worker.logger.LogDebug("consumer: {Message}", m.Message))
                .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
                .SetPartitionsRevokedHandler((_, partitions) => Forget(partitions.Select(p => p.TopicPartition)))
                .SetPartitionsLostHandler((_, partitions) => Forget(partitions.Select(p => p.TopicPartition)))
                .Build();
            var now = worker.timeProvider.GetUtcNow();
            nextSummary = now + worker.options.SummaryInterval;
            nextExpiry = now;
            nextMarkRefresh = now + MarkRefreshInterval;
        }

        public void Run()
        {
            consumer.Subscribe(worker.catalog.Inputs);
            while (!stoppingToken.IsCancellationRequested)
            {
                BatchCollector.Fill(consumer, buffer, worker.options.BatchSize, worker.options.MaxBatchWait, worker.heartbeat, worker.timeProvider, stoppingToken);
                if (buffer.Count > 0 && !stoppingToken.IsCancellationRequested)
                {
                    HandleBatch();
                }

                Housekeeping();
            }
        }

        private void HandleBatch()
        {
            var batch = buffer.ToList();
            fenced = ownership.BeginFenced(positions.Keys.Concat(batch.Select(r => (r.Topic, r.Partition.Value))));
            var results = new IngestResult[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var record = batch[i];
                results[i] = worker.pipeline.Handle(ChannelOf(record.Topic), Position(record), record.Message.Key, record.Message.Value ?? [], MaxValueBytes);
            }

            var duplicates = Deduplicate(batch, results);
            var failures = 0;
            Action<DeliveryReport<byte[]?, byte[]>> onDelivery = report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref failures);
                    worker.logger.LogWarning("Delivery to {Partition} failed: {Reason}", report.TopicPartition, report.Error.Reason);
                    return;
                }

                var key = Mark(report.TopicPartition);
                lock (outputMarks)
                {
                    outputMarks[key] = Math.Max(outputMarks.GetValueOrDefault(key), report.Offset.Value + 1);
                }
            };

            for (var i = 0; i < batch.Count; i++)
            {
                Emit(batch[i], duplicates[i] ?? results[i], onDelivery);
                if (i == batch.Count / 2)
                {
                    CrashPoints.Reach("ingest.mid-produce");
                }
            }

            // Everything of the batch must be on the broker before the checkpoint says so.
            // Shutdown waits for the flush: the batch is either finished or re-read, never half-recorded. A flush that
            // moves beats the heartbeat, so a long one is not a stall; one that stops moving is (see WorkerHealth.Live).
            for (int queued = int.MaxValue, left; (left = producer.Flush(TimeSpan.FromSeconds(1))) > 0; queued = Math.Min(queued, left))
            {
                if (left < queued)
                {
                    worker.heartbeat.Beat(consumer);
                }
            }

            if (failures > 0)
            {
                throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failures} outputs of the batch were not delivered"));
            }

            CrashPoints.Reach("ingest.after-flush");
            var checkpoints = Checkpoints(batch);
            IngestStateRepository.SaveCheckpoints(fenced, checkpoints);
            fenced.Commit();
            fenced.Dispose();
            fenced = null;
            Remember(checkpoints);
            CrashPoints.Reach("ingest.after-commit");
            CommitToGroup(checkpoints);

            for (var i = 0; i < batch.Count; i++)
            {
                var outcome = (duplicates[i] ?? results[i]).Outcome;
                worker.metrics.Record(batch[i].Topic, IngestMetrics.OutcomeOf(results[i].Outcome.Disposition, duplicates[i] is not null), outcome.ReasonCodes);
            }

            alreadyEmitted.RemoveWhere(e => checkpoints.Any(c => c.Topic == e.Topic && c.Partition == e.Partition && e.Offset < c.NextOffset));
            Interlocked.Add(ref worker.recordsCommitted, batch.Count);
        }

        // Decides duplicate_event for the records that would be used: a repeat within the batch (the first in input
        // order keeps the id), or an id another record has claimed in PostgreSQL within the window. The claim is
        // committed before anything is produced, so another instance never uses the same id at the same time.
        private IngestResult?[] Deduplicate(List<ConsumeResult<byte[]?, byte[]?>> batch, IngestResult[] results)
        {
            var duplicates = new IngestResult?[batch.Count];
            var now = worker.timeProvider.GetUtcNow();
            var first = new Dictionary<(string Topic, string EventId), int>();
            var claims = new List<SeenEvent>();
            for (var i = 0; i < batch.Count; i++)
            {
                if (!IsUsed(results[i].Outcome))
                {
                    continue;
                }

                var record = batch[i];
                if (first.TryAdd((record.Topic, results[i].Outcome.EventId!), i))
                {
                    claims.Add(new SeenEvent(record.Topic, results[i].Outcome.EventId!, record.Partition.Value, record.Offset.Value, now));
                }
                else
                {
                    duplicates[i] = Duplicate(record);
                }
            }

            var held = state.ClaimAsync(claims, now - worker.dedupWindow, CancellationToken.None).GetAwaiter().GetResult();
            foreach (var id in held)
            {
                duplicates[first[id]] = Duplicate(batch[first[id]]);
            }

            return duplicates;

            static bool IsUsed(IngestOutcome outcome) => outcome.EventId is not null && outcome.Disposition != IngestDisposition.Quarantined;

            IngestResult Duplicate(ConsumeResult<byte[]?, byte[]?> record) =>
                worker.pipeline.HandleDuplicate(ChannelOf(record.Topic), Position(record), record.Message.Key, record.Message.Value ?? [], MaxValueBytes);
        }

        private void Emit(ConsumeResult<byte[]?, byte[]?> record, IngestResult result, Action<DeliveryReport<byte[]?, byte[]>> onDelivery)
        {
            var source = Position(record);
            foreach (var output in result.Outputs)
            {
                var topic = output.Kind == OutputHeaders.KindQuarantine ? TopicsOptions.QuarantineOf(record.Topic) : worker.catalog.Names.Canonical;
                Produce(topic, output.Key, output.Value, source, output.Kind, onDelivery);
            }
        }

        private void Produce(
            string topic, byte[]? key, byte[] value, SourcePosition source, string kind, Action<DeliveryReport<byte[]?, byte[]>> onDelivery)
        {
            if (alreadyEmitted.Contains(new EmittedOutput(source.Topic, source.Partition, source.Offset, kind)))
            {
                return;
            }

            var message = new Message<byte[]?, byte[]> { Key = key, Value = value, Headers = OutputHeaders.For(source, kind, worker.sealer) };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, onDelivery);
                    return;
                }
                catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // Back-pressure: let deliveries drain, then try again.
                    producer.Poll(TimeSpan.FromMilliseconds(100));
                }
            }
        }

        private List<IngestCheckpoint> Checkpoints(List<ConsumeResult<byte[]?, byte[]?>> batch)
        {
            Dictionary<string, long> marks;
            lock (outputMarks)
            {
                marks = new Dictionary<string, long>(outputMarks, StringComparer.Ordinal);
            }

            // Every assigned partition, not only the batch's: a restart scans outputs from the lowest mark of the
            // partitions it gets, so a partition idle for a day must not hold that mark a day back.
            var next = new Dictionary<(string Topic, int Partition), long>(positions);
            foreach (var record in batch)
            {
                var key = (record.Topic, record.Partition.Value);
                next[key] = Math.Max(next.GetValueOrDefault(key), record.Offset.Value + 1);
            }

            return next.Select(p => new IngestCheckpoint(p.Key.Topic, p.Key.Partition, p.Value, HasEmittedPast(p.Key, p.Value)
                    ? recordedMarks[p.Key]
                    : marks))
                .ToList();
        }

        // True while outputs written before a crash for records at or past nextOffset have not been re-read: the
        // partition's marks must stay below them, or the next restart's scan would not find them again.
        private bool HasEmittedPast((string Topic, int Partition) partition, long nextOffset) =>
            alreadyEmitted.Count > 0
            && alreadyEmitted.Any(e => e.Topic == partition.Topic && e.Partition == partition.Partition && e.Offset >= nextOffset);

        private void Remember(IEnumerable<IngestCheckpoint> checkpoints)
        {
            foreach (var checkpoint in checkpoints)
            {
                positions[(checkpoint.Topic, checkpoint.Partition)] = checkpoint.NextOffset;
                recordedMarks[(checkpoint.Topic, checkpoint.Partition)] = checkpoint.OutputMarks;
            }
        }

        private void CommitToGroup(List<IngestCheckpoint> checkpoints)
        {
            // The group's offsets only serve lag monitoring; the checkpoints in PostgreSQL are what ingest resumes from.
            try
            {
                consumer.Commit(checkpoints.Select(c => new TopicPartitionOffset(c.Topic, c.Partition, c.NextOffset)));
            }
            catch (KafkaException e)
            {
                worker.logger.LogDebug("Committing group offsets failed (monitoring only): {Reason}", e.Error.Reason);
            }
        }

        // On assignment: resume every partition from its checkpoint, and find outputs already written past it.
        private IEnumerable<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
        {
            // Claimed before the checkpoints are read and the outputs scanned (see the remarks on the worker).
            ownership.Claim(partitions);
            var checkpoints = state.LoadCheckpointsAsync(partitions.Select(p => (p.Topic, p.Partition.Value)).ToList(), stoppingToken)
                .GetAwaiter().GetResult()
                .ToDictionary(c => (c.Topic, c.Partition));
            var outputs = partitions.Select(p => p.Topic).Distinct().Select(TopicsOptions.QuarantineOf).Append(worker.catalog.Names.Canonical)
                .SelectMany(topic => Enumerable.Range(0, worker.catalog[topic].Partitions).Select(p => new TopicPartition(topic, p)))
                .ToList();
            var scanner = new EmittedOutputScanner(worker.environment.BootstrapServers, worker.sealer, worker.logger);
            var fresh = partitions.Where(p => !checkpoints.ContainsKey((p.Topic, p.Partition.Value))).ToList();
            if (fresh.Count > 0)
            {
                // A partition nobody has read yet gets its checkpoint before its first record is read, at the outputs'
                // current ends: no output of it can lie before them, so no scan ever has to start at an output's
                // beginning (which on a long-running topic is a scan of its whole history).
                var ends = scanner.EndOffsets(outputs).ToDictionary(e => Mark(e.Key), e => e.Value, StringComparer.Ordinal);
                var initial = fresh.Select(p => new IngestCheckpoint(p.Topic, p.Partition.Value, 0, ends)).ToList();
                using (var initialTransaction = ownership.BeginFenced(initial.Select(c => (c.Topic, c.Partition))))
                {
                    IngestStateRepository.SaveCheckpoints(initialTransaction, initial);
                    initialTransaction.Commit();
                }

                foreach (var checkpoint in initial)
                {
                    checkpoints[(checkpoint.Topic, checkpoint.Partition)] = checkpoint;
                }
            }

            lock (outputMarks)
            {
                foreach (var mark in checkpoints.Values.SelectMany(c => c.OutputMarks))
                {
                    outputMarks[mark.Key] = Math.Max(outputMarks.GetValueOrDefault(mark.Key), mark.Value);
                }
            }

            var scanFrom = outputs.Select(output =>
            {
                // The lowest end offset these checkpoints recorded; a checkpoint from before every partition recorded
                // every output (an older version) leaves nothing to go by but the partition's beginning.
                var recorded = checkpoints.Values.Select(c => c.OutputMarks.TryGetValue(Mark(output), out var m) ? m : (long?)null).ToList();
                var from = recorded.All(m => m.HasValue) ? recorded.Min() ?? 0 : Offset.Beginning.Value;
                return new TopicPartitionOffset(output, from);
            }).ToList();

            Remember(checkpoints.Values);

            var found = scanner.Scan(scanFrom,
                source => positions.TryGetValue((source.Topic, source.Partition), out var next) && source.Offset >= next);
            alreadyEmitted.UnionWith(found);
            worker.logger.LogInformation("Ingest assigned {Count} partitions; {Emitted} outputs already written past the checkpoints",
                partitions.Count, found.Count);

            return partitions.Select(p => new TopicPartitionOffset(p, new Offset(positions[(p.Topic, p.Partition.Value)])));
        }

        private void Forget(IEnumerable<TopicPartition> partitions)
        {
            // Records not yet checkpointed are re-read by whoever gets the partition next.
            var gone = partitions.ToHashSet();
            buffer.RemoveAll(r => gone.Contains(r.TopicPartition));
            ownership.Release(gone);
            alreadyEmitted.RemoveWhere(e => gone.Contains(new TopicPartition(e.Topic, e.Partition)));
            foreach (var partition in gone)
            {
                positions.Remove((partition.Topic, partition.Partition.Value));
                recordedMarks.Remove((partition.Topic, partition.Partition.Value));
            }
        }

        // Runs between batches, when every output produced so far is on the broker and checkpointed.
        private void Housekeeping()
        {
            var now = worker.timeProvider.GetUtcNow();
            if (now >= nextSummary)
            {
                worker.logger.LogInformation("Ingest: {Summary}", worker.metrics.Summary());
                nextSummary = now + worker.options.SummaryInterval;
            }

            if (now >= nextExpiry)
            {
                // One bounded chunk per pass; a full chunk means more are due, and the next pass (after the next
                // batch) takes them, so expiry never holds the input back for long.
                var expired = state.ExpireSeenAsync(now - worker.dedupWindow, ExpiryChunk, ExpiryTimeout, CancellationToken.None)
                    .GetAwaiter().GetResult();
                if (expired > 0)
                {
                    worker.logger.LogInformation("Forgot {Count} event ids older than the de-duplication window", expired);
                }

                nextExpiry = expired == ExpiryChunk ? now : now + ExpiryInterval;
            }

            if (now >= nextMarkRefresh && positions.Count > 0)
            {
                RefreshMarks();
                nextMarkRefresh = now + MarkRefreshInterval;
            }
        }

        // Raises the marks of output partitions to their current ends: between batches nothing of this instance is
        // in flight, so no output of a record past its checkpoint lies below them. Without it, the mark of an output
        // partition only other instances write to would stay where this instance last saw it, and a restart would
        // scan everything they wrote since.
        private void RefreshMarks()
        {
            List<TopicPartition> outputs;
            lock (outputMarks)
            {
                outputs = outputMarks.Keys.Select(ParseMark).ToList();
            }

            var ends = new EmittedOutputScanner(worker.environment.BootstrapServers, worker.sealer, worker.logger).EndOffsets(outputs);
            lock (outputMarks)
            {
                foreach (var (partition, end) in ends)
                {
                    var key = Mark(partition);
                    outputMarks[key] = Math.Max(outputMarks.GetValueOrDefault(key), end);
                }
            }
        }

        private Channel ChannelOf(string topic) => worker.channels[topic];

        private static SourcePosition Position(ConsumeResult<byte[]?, byte[]?> record) =>
            new(record.Topic, record.Partition.Value, record.Offset.Value);

        private static string Mark(TopicPartition partition) => $"{partition.Topic}/{partition.Partition.Value}";

        private static TopicPartition ParseMark(string mark)
        {
            var slash = mark.LastIndexOf('/');
            return new TopicPartition(mark[..slash], int.Parse(mark.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
                // Closing after a broker failure: the group notices the member is gone by its session timeout.
            }

            consumer.Dispose();
            producer.Dispose();
            fenced?.Dispose();
        }
    }
}
