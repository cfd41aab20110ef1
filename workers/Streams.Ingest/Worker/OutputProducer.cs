using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Microsoft.Extensions.Logging;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Telemetry;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Worker;

/// <summary>
/// Writes a batch's outputs through an idempotent producer (no duplicates within its life) and waits until the broker
/// has them all; the delivery reports raise the output marks. Outputs the recovery scan found written already are not
/// written again (no duplicates across sessions).
/// </summary>
internal sealed class OutputProducer(StreamsEnvironment environment, string canonicalTopic, IngestPositions positions, Pseudonymizer sealer, ILogger logger)
    : IDisposable
{
    /// <summary>The producer's <c>message.max.bytes</c> (librdkafka's default, below every broker's default).</summary>
    internal const int MessageMaxBytes = 1_000_000;

    /// <summary>
    /// The longest value ingest produces: the message limit less room for the key (a pseudonym, an event id of at most
    /// 128 characters or a 64-character digest), the two headers (a topic name of at most 249 characters) and the
    /// record's framing. A longer output is quarantined as <c>oversized_record</c> instead of being refused by the
    /// producer on every attempt.
    /// </summary>
    internal const int MaxValueBytes = MessageMaxBytes - 4096;

    private IProducer<byte[]?, byte[]>? producer;
    private int failures;

    /// <summary>
    /// Writes what <paramref name="judged"/> says for each record of <paramref name="batch"/> and waits until the broker
    /// has it all; throws when anything was not delivered. On any failure the producer is disposed before this throws,
    /// so nothing of the batch is still in flight when the caller's fenced transaction rolls back: a new owner's claim,
    /// waiting for that transaction, then finds every output.
    /// </summary>
    public void Write(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, IReadOnlyList<Judgement> judged, Action beat)
    {
        producer ??= new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
            {
                BootstrapServers = environment.BootstrapServers,
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 5,
                ClientId = "streams-ingest",
                MessageMaxBytes = OutputProducer.MessageMaxBytes,
                // A delivery report raises a mark from its position and counts a failure: with the default ("all") the
                // client also rebuilt every output's headers (objects, names and values) from the native message for
                // each report, as the outbox publisher already avoids.
                DeliveryReportFields = "status",
            })
            .SetLogHandler((_, m) => logger.LogDebug("producer: {Message}", m.Message))
            .Build();
        try
        {
            var traceParent = RecordTracing.CurrentTraceParent();
            for (var i = 0; i < batch.Count; i++)
            {
                Emit(producer, batch[i], judged[i].Written, traceParent);
                if (i == batch.Count / 2)
                {
                    CrashPoints.Reach("ingest.mid-produce");
                }
            }

            Flush(producer, beat);
        }
        catch
        {
            producer.Dispose();
            producer = null;
            throw;
        }
    }

    public void Dispose() => producer?.Dispose();

    // A quarantine record goes to the input topic's quarantine, the rest to the canonical topic; each carries the batch's
    // trace context when it is traced.
    private void Emit(IProducer<byte[]?, byte[]> producer, ConsumeResult<byte[]?, byte[]?> record, IngestResult result, string? traceParent)
    {
        var source = new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value);
        foreach (var output in result.Outputs)
        {
            if (positions.WasEmitted(source, output.Kind))
            {
                continue;
            }

            var topic = output.Kind == OutputHeaders.KindQuarantine ? TopicsOptions.QuarantineOf(record.Topic) : canonicalTopic;
            ProducerBackpressure.Produce(producer, topic,
                new Message<byte[]?, byte[]> { Key = output.Key, Value = output.Value, Headers = RecordTracing.With(OutputHeaders.For(source, output.Kind, sealer), traceParent) },
                OnDelivery);
        }
    }

    // Everything of the batch must be on the broker before the checkpoint says so. Shutdown waits for it too: a batch is
    // either finished or read again, never half recorded. A flush that moves beats, so a long one is not a stall; one
    // that stops moving is (see WorkerHealth.Live).
    private void Flush(IProducer<byte[]?, byte[]> producer, Action beat)
    {
        for (int queued = int.MaxValue, left; (left = producer.Flush(TimeSpan.FromSeconds(1))) > 0; queued = Math.Min(queued, left))
        {
            if (left < queued)
            {
                beat();
            }
        }

        var failed = Interlocked.Exchange(ref failures, 0);
        if (failed > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failed} outputs of the batch were not delivered"));
        }
    }

    private void OnDelivery(DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref failures);
            logger.LogWarning("Delivery to {Partition} failed: {Reason}", report.TopicPartition, report.Error.Reason);
            return;
        }

        positions.Delivered(report.TopicPartition, report.Offset.Value);
    }
}
