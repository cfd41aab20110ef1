using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Worker;

/// <summary>
/// Consumes the input topics in batches (on the <see cref="CheckpointedBatchRuntime"/>) and writes each record's outcome
/// (a canonical event, a consent command, a quarantine record) exactly once.
/// </summary>
/// <remarks>
/// Exactly once, without Kafka transactions: a batch opens a fenced PostgreSQL transaction (<see cref="PartitionEpochs"/>)
/// whose check that this instance still holds its partitions' epochs is held until it commits; the batch then claims
/// the event ids it will use (<see cref="RecordJudge"/>), its outputs go out through an idempotent producer and are
/// flushed (<see cref="OutputProducer"/>), and the transaction records every held input partition's next offset in
/// <c>consumer_offsets</c> with the end offsets of the output partitions, and commits. A new owner claims the epochs
/// before it reads the checkpoints and scans the outputs (<see cref="RecoveryScan"/>), so its claim waits for a batch
/// already past its check and then finds that batch's outputs (flushed before the checkpoint, which on failure is
/// rolled back only after the producer is disposed); a batch whose check comes after the claim is refused before it
/// produces anything. A session that fails starts over from the checkpoints and first scans the outputs past the
/// recorded end offsets, so outputs written after the last checkpoint are not written again. Kafka transactions would
/// do the same on a real broker, but the embedded broker does not hide aborted records from read_committed consumers
/// (measured; see EmbeddedBroker_ReadCommitted_StillSeesAbortedRecords), and this way needs no broker support at all.
/// </remarks>
public sealed class IngestWorker : BackgroundService, ICheckpointedBatchHandler
{
    /// <summary>The name ingest's offsets and partition epochs are kept under (<see cref="ConsumerOffsets"/>, <see cref="PartitionEpochs"/>).</summary>
    public const string Consumer = "ingest";

    private readonly StreamsEnvironment environment;
    private readonly CheckpointedBatchSettings settings;
    private readonly CheckpointedBatchRuntime runtime;
    private readonly IngestPositions positions = new();
    private readonly RecordJudge judge;
    private readonly RecoveryScan recovery;
    private readonly IngestUpkeep upkeep;
    private readonly OutputProducer producer;
    private readonly IngestMetrics metrics;
    private readonly TimeProvider timeProvider;
    private long recordsCommitted;

    public IngestWorker(StreamsEnvironment environment, TopicCatalog catalog, IngestPipeline pipeline, Pseudonymizer sealer, IngestMetrics metrics,
        IOptions<IngestOptions> ingestOptions, IOptions<IngestWorkerOptions> workerOptions, WorkerHeartbeats heartbeats, TimeProvider timeProvider,
        ILogger<IngestWorker> logger)
    {
        var options = workerOptions.Value;
        var window = ingestOptions.Value.DedupWindow;
        var scanner = new EmittedOutputScanner(environment, sealer, logger);
        (this.environment, this.metrics, this.timeProvider) = (environment, metrics, timeProvider);
        settings = new CheckpointedBatchSettings("Ingest", Consumer, OutboxTable: null, options.GroupId, "streams-ingest", catalog.Inputs,
            options.BatchSize, options.MaxBatchWait, options.RetryDelay, options.MaxRetryDelay);
        runtime = new CheckpointedBatchRuntime(environment, heartbeats.For(WorkerSelection.Ingest), timeProvider, logger);
        judge = new RecordJudge(pipeline, catalog, window, timeProvider);
        recovery = new RecoveryScan(environment, catalog, scanner, positions, timeProvider, logger);
        upkeep = new IngestUpkeep(environment, positions, scanner, metrics, options.SummaryInterval, window, timeProvider, logger);
        producer = new OutputProducer(environment, catalog.Names.Canonical, positions, sealer, logger);
    }

    /// <summary>Input records whose batch was checkpointed, for tests and the console view.</summary>
    public long RecordsCommitted => Interlocked.Read(ref recordsCommitted);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await runtime.Start(settings, this, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            producer.Dispose();
        }
    }

    /// <summary>Partitions claimed since they were last resumed get their checkpoints read and their outputs scanned.</summary>
    public void Resume(CheckpointedBatchSession session) => recovery.Run(session);

    /// <summary>A partition just assigned is resumed (a fresh one checkpointed) before any record of it is read.</summary>
    public void Assigned(CheckpointedBatchSession session) => recovery.Run(session);

    public void BetweenBatches(CheckpointedBatchSession session) => upkeep.Run();

    /// <summary>Writes <paramref name="batch"/>'s outputs, then checkpoints; false (nothing written) while a claimed partition is not resumed yet.</summary>
    public bool Commit(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, CheckpointedBatchSession session)
    {
        if (positions.Unresumed(session.Epochs).Count > 0)
        {
            return false;
        }

        using var fenced = FencedTransaction.Begin(environment.DataSource, Consumer, positions.Partitions, session.Epochs);
        var judged = judge.Judge(batch, environment.DataSource);
        producer.Write(batch, judged, session.Beat);
        CrashPoints.Reach("ingest.after-flush");
        var checkpoints = positions.Checkpoints(batch);
        IngestStateRepository.SaveCheckpoints(fenced, checkpoints, session.Epochs, timeProvider.GetUtcNow());
        fenced.Commit();
        positions.Committed(checkpoints);
        CrashPoints.Reach("ingest.after-commit");
        var tally = new IngestMetrics.Tally();
        for (var i = 0; i < batch.Count; i++)
        {
            tally.Count(batch[i].Topic, IngestMetrics.OutcomeOf(judged[i].Disposition, judged[i].Duplicate), judged[i].Written.Outcome.ReasonCodes);
        }

        metrics.Record(tally);

        Interlocked.Add(ref recordsCommitted, batch.Count);
        return true;
    }
}
