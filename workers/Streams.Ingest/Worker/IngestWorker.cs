using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;

namespace Streams.Ingest.Worker;

/// <summary>
/// Consumes the input topics in batches and writes each record's outcome (a canonical event, a consent command,
/// a quarantine record) exactly once.
/// </summary>
/// <remarks>
/// Exactly once, without Kafka transactions: a batch's outputs go out through an idempotent producer and are
/// flushed; then one PostgreSQL transaction records the event ids the batch used and each input partition's next
/// offset together with the end offsets of the output partitions. A session that fails (crash, PostgreSQL away, a
/// delivery error) starts over from the checkpoints and first scans the outputs past the recorded end offsets, so
/// outputs written after the last checkpoint are not written again. Kafka transactions would do the same on a real
/// broker, but the embedded broker does not hide aborted records from read_committed consumers (measured; see
/// EmbeddedBroker_ReadCommitted_StillSeesAbortedRecords), and this way needs no broker support at all.
/// </remarks>
public sealed class IngestWorker(
    StreamsEnvironment environment,
    TopicCatalog catalog,
    IngestPipeline pipeline,
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
    }, options.RetryDelay, options.MaxRetryDelay, logger, stoppingToken);

    /// <summary>One consumer and producer, from start (or a failure) to stop (or the next failure).</summary>
    private sealed class IngestSession : IDisposable
    {
        private readonly IngestWorker worker;
        private readonly CancellationToken stoppingToken;
        private readonly IngestStateRepository state;
        private readonly IProducer<byte[]?, byte[]> producer;
        private readonly IConsumer<byte[]?, byte[]?> consumer;
        private readonly List<ConsumeResult<byte[]?, byte[]?>> buffer = [];

        // End offset of every output partition as known from delivery reports and loaded checkpoints ("topic/partition").
        private readonly Dictionary<string, long> outputMarks = new(StringComparer.Ordinal);

        // Outputs written for records after their partition's checkpoint, found by the recovery scan: not written again.
        private readonly HashSet<EmittedOutput> alreadyEmitted = [];
        private DateTimeOffset nextSummary;
        private DateTimeOffset nextExpiry;

        public IngestSession(IngestWorker worker, CancellationToken stoppingToken)
        {
            this.worker = worker;
            this.stoppingToken = stoppingToken;
            state = new IngestStateRepository(worker.environment.DataSource);
            var bootstrap = worker.environment.BootstrapServers;
            producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
                {
                    BootstrapServers = bootstrap,
                    EnableIdempotence = true,
                    Acks = Acks.All,
                    LingerMs = 5,
                    ClientId = "streams-ingest",
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
        }

        public void Run()
        {
            consumer.Subscribe(worker.catalog.Inputs);
            while (!stoppingToken.IsCancellationRequested)
            {
                BatchCollector.Fill(consumer, buffer, worker.options.BatchSize, worker.options.MaxBatchWait, worker.heartbeat, stoppingToken);
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
            var outcomes = new IngestOutcome[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var record = batch[i];
                outcomes[i] = worker.pipeline.Process(ChannelOf(record.Topic), Position(record), record.Message.Value ?? []);
            }

            var (duplicates, seen) = Deduplicate(batch, outcomes);
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
                Emit(batch[i], outcomes[i], duplicates[i], onDelivery);
                if (i == batch.Count / 2)
                {
                    CrashPoints.Reach("ingest.mid-produce");
                }
            }

            // Everything of the batch must be on the broker before the checkpoint says so.
            while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            {
                // Shutdown waits for the flush: the batch is either finished or re-read, never half-recorded.
            }

            if (failures > 0)
            {
                throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failures} outputs of the batch were not delivered"));
            }

            CrashPoints.Reach("ingest.after-flush");
            var checkpoints = Checkpoints(batch);
            state.CommitBatchAsync(seen, checkpoints, CancellationToken.None).GetAwaiter().GetResult();
            CrashPoints.Reach("ingest.after-commit");
            CommitToGroup(checkpoints);

            for (var i = 0; i < batch.Count; i++)
            {
                var outcome = outcomes[i];
                var codes = duplicates[i] is { } duplicate ? duplicate.Reasons.Select(r => r.Code).Distinct() : outcome.ReasonCodes;
                worker.metrics.Record(batch[i].Topic, IngestMetrics.OutcomeOf(outcome.Disposition, duplicates[i] is not null), codes);
            }

            alreadyEmitted.RemoveWhere(e => checkpoints.Any(c => c.Topic == e.Topic && c.Partition == e.Partition && e.Offset < c.NextOffset));
            Interlocked.Add(ref worker.recordsCommitted, batch.Count);
        }

        // Decides duplicate_event for the records that would be used, in input order, against the window in
        // PostgreSQL and the records before them in this batch. Uses the records' Kafka timestamps, not the clock,
        // so that a batch re-read after a crash is judged exactly as the first time.
        private (Quarantine.QuarantineRecord?[] Duplicates, List<SeenEvent> Seen) Deduplicate(
            List<ConsumeResult<byte[]?, byte[]?>> batch, IngestOutcome[] outcomes)
        {
            var duplicates = new Quarantine.QuarantineRecord?[batch.Count];
            var candidates = new List<(string Topic, string EventId)>();
            var earliest = DateTimeOffset.MaxValue;
            for (var i = 0; i < batch.Count; i++)
            {
                if (IsUsed(outcomes[i]))
                {
                    candidates.Add((batch[i].Topic, outcomes[i].EventId!));
                    earliest = Min(earliest, SeenAt(batch[i]));
                }
            }

            var known = state.FindSeenAsync(candidates.Distinct().ToList(), earliest - worker.dedupWindow, CancellationToken.None)
                .GetAwaiter().GetResult();
            var seen = new List<SeenEvent>();
            for (var i = 0; i < batch.Count; i++)
            {
                if (!IsUsed(outcomes[i]))
                {
                    continue;
                }

                var record = batch[i];
                var key = (record.Topic, outcomes[i].EventId!);
                var at = SeenAt(record);
                if (known.TryGetValue(key, out var before) && before >= at - worker.dedupWindow)
                {
                    duplicates[i] = worker.pipeline.QuarantineDuplicate(ChannelOf(record.Topic), Position(record), record.Message.Value ?? []);
                    continue;
                }

                known[key] = at;
                seen.Add(new SeenEvent(record.Topic, key.Item2, record.Offset.Value, at));
            }

            return (duplicates, seen);

            static bool IsUsed(IngestOutcome outcome) => outcome.EventId is not null && outcome.Disposition != IngestDisposition.Quarantined;
        }

        private void Emit(
            ConsumeResult<byte[]?, byte[]?> record, IngestOutcome outcome, Quarantine.QuarantineRecord? duplicate,
            Action<DeliveryReport<byte[]?, byte[]>> onDelivery)
        {
            var source = Position(record);
            if (duplicate is not null)
            {
                Produce(TopicsOptions.QuarantineOf(record.Topic), record.Message.Key, IngestJson.Serialize(duplicate),
                    source, OutputHeaders.KindQuarantine, onDelivery);
                return;
            }

            if (outcome.Event is { } canonical)
            {
                var key = canonical.Identifiers.Count > 0 ? canonical.Identifiers[0].Pseudonym : canonical.EventId;
                Produce(worker.catalog.Names.Canonical, System.Text.Encoding.UTF8.GetBytes(key), IngestJson.Serialize(canonical),
                    source, OutputHeaders.KindEvent, onDelivery);
            }
            else if (outcome.Consent is { } consent)
            {
                Produce(worker.catalog.Names.Canonical, System.Text.Encoding.UTF8.GetBytes(consent.Pseudonym), IngestJson.Serialize(consent),
                    source, OutputHeaders.KindConsent, onDelivery);
            }

            if (outcome.Quarantine is { } quarantine)
            {
                Produce(TopicsOptions.QuarantineOf(record.Topic), record.Message.Key, IngestJson.Serialize(quarantine),
                    source, OutputHeaders.KindQuarantine, onDelivery);
            }
        }

        private void Produce(
            string topic, byte[]? key, byte[] value, SourcePosition source, string kind, Action<DeliveryReport<byte[]?, byte[]>> onDelivery)
        {
            if (alreadyEmitted.Contains(new EmittedOutput(source.Topic, source.Partition, source.Offset, kind)))
            {
                return;
            }

            var message = new Message<byte[]?, byte[]> { Key = key, Value = value, Headers = OutputHeaders.For(source, kind) };
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

            return batch.GroupBy(r => (r.Topic, r.Partition.Value))
                .Select(g => new IngestCheckpoint(g.Key.Topic, g.Key.Value, g.Max(r => r.Offset.Value) + 1, marks))
                .ToList();
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
            var checkpoints = state.LoadCheckpointsAsync(partitions.Select(p => (p.Topic, p.Partition.Value)).ToList(), stoppingToken)
                .GetAwaiter().GetResult()
                .ToDictionary(c => (c.Topic, c.Partition));
            lock (outputMarks)
            {
                foreach (var mark in checkpoints.Values.SelectMany(c => c.OutputMarks))
                {
                    outputMarks[mark.Key] = Math.Max(outputMarks.GetValueOrDefault(mark.Key), mark.Value);
                }
            }

            var outputs = partitions.Select(p => p.Topic).Distinct().Select(TopicsOptions.QuarantineOf).Append(worker.catalog.Names.Canonical)
                .SelectMany(topic => Enumerable.Range(0, worker.catalog[topic].Partitions).Select(p => new TopicPartition(topic, p)));
            var scanFrom = outputs.Select(output =>
            {
                // The lowest end offset any of these checkpoints recorded; without one, the whole partition.
                var recorded = checkpoints.Values.Select(c => c.OutputMarks.TryGetValue(Mark(output), out var m) ? m : (long?)null).ToList();
                var from = checkpoints.Count == partitions.Count && recorded.All(m => m.HasValue) ? recorded.Min() ?? 0 : Offset.Beginning.Value;
                return new TopicPartitionOffset(output, from);
            }).ToList();

            var resumeAt = partitions.ToDictionary(p => (p.Topic, p.Partition.Value),
                p => checkpoints.TryGetValue((p.Topic, p.Partition.Value), out var c) ? c.NextOffset : 0);
            var found = new EmittedOutputScanner(worker.environment.BootstrapServers, worker.logger)
                .Scan(scanFrom, source => resumeAt.TryGetValue((source.Topic, source.Partition), out var next) && source.Offset >= next);
            alreadyEmitted.UnionWith(found);
            worker.logger.LogInformation("Ingest assigned {Count} partitions; {Emitted} outputs already written past the checkpoints",
                partitions.Count, found.Count);

            return partitions.Select(p => new TopicPartitionOffset(p,
                checkpoints.TryGetValue((p.Topic, p.Partition.Value), out var c) ? new Offset(c.NextOffset) : Offset.Beginning));
        }

        private void Forget(IEnumerable<TopicPartition> partitions)
        {
            // Records not yet checkpointed are re-read by whoever gets the partition next.
            var gone = partitions.ToHashSet();
            buffer.RemoveAll(r => gone.Contains(r.TopicPartition));
            alreadyEmitted.RemoveWhere(e => gone.Contains(new TopicPartition(e.Topic, e.Partition)));
        }

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
                var expired = state.ExpireSeenAsync(now - worker.dedupWindow - TimeSpan.FromDays(1), CancellationToken.None).GetAwaiter().GetResult();
                if (expired > 0)
                {
                    worker.logger.LogInformation("Forgot {Count} event ids older than the de-duplication window", expired);
                }

                nextExpiry = now + TimeSpan.FromHours(1);
            }
        }

        private Channel ChannelOf(string topic) => worker.channels[topic];

        private static SourcePosition Position(ConsumeResult<byte[]?, byte[]?> record) =>
            new(record.Topic, record.Partition.Value, record.Offset.Value);

        private DateTimeOffset SeenAt(ConsumeResult<byte[]?, byte[]?> record) =>
            record.Message.Timestamp.Type == TimestampType.NotAvailable
                ? worker.timeProvider.GetUtcNow()
                : new DateTimeOffset(record.Message.Timestamp.UtcDateTime, TimeSpan.Zero);

        private static string Mark(TopicPartition partition) => $"{partition.Topic}/{partition.Partition.Value}";

        private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

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
        }
    }
}
