using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.Profiles.Worker;

/// <summary>
/// Publishes the outbox in order through an idempotent producer and forgets what the broker acknowledged. A crash
/// before the forgetting re-publishes: consumers see a repeat with the same version, never a gap.
/// </summary>
/// <remarks>
/// A committed batch is published in the background while the worker goes on with the next one: from memory (the very
/// records its transaction wrote to the table), one batch at a time and in commit order. Whatever goes wrong there
/// ends the session at the worker's next step, and the next session publishes what is left in the table, in order.
/// </remarks>
internal sealed class OutboxPublisher(ProfileRepository repository, string bootstrapServers, ProfilesMetrics metrics, ILogger logger) : IDisposable
{
    private const int Chunk = 5000;

    private readonly IProducer<byte[]?, byte[]?> producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            ClientId = "streams-profiles",
            // Delivery reports only need the outcome: not copying every key and value back saves a copy per record.
            DeliveryReportFields = "status",
        })
        .SetLogHandler((_, m) => logger.LogDebug("producer: {Message}", m.Message))
        .Build();

    private int failures;
    private Task inFlight = Task.CompletedTask;

    /// <summary>Records published since start.</summary>
    public long Published { get; private set; }

    public void PublishPending(CancellationToken cancellationToken)
    {
        while (true)
        {
            var pending = repository.ReadOutboxAsync(Chunk, cancellationToken).GetAwaiter().GetResult();
            if (pending.Count == 0)
            {
                return;
            }

            Volatile.Write(ref failures, 0);
            foreach (var (_, message) in pending)
            {
                Produce(message.Topic, new Message<byte[]?, byte[]?> { Key = message.Key, Value = message.Value });
            }

            while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            {
            }

            if (Volatile.Read(ref failures) > 0)
            {
                throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failures} outbox records were not delivered"));
            }

            repository.DeleteOutboxAsync(pending[^1].Seq, CancellationToken.None).GetAwaiter().GetResult();
            Published += pending.Count;
            if (pending.Count < Chunk)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Publishes one committed batch's records, forgets their rows (<paramref name="seqs"/>), then runs
    /// <paramref name="published"/>, all in the background. Waits for the batch before first, and throws what failed it.
    /// </summary>
    public void PublishInBackground(IReadOnlyList<OutboxMessage> messages, long[] seqs, Action published)
    {
        Wait();
        inFlight = Task.Run(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Volatile.Write(ref failures, 0);
            foreach (var message in messages)
            {
                Produce(message.Topic, new Message<byte[]?, byte[]?> { Key = message.Key, Value = message.Value });
            }

            while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            {
            }

            if (Volatile.Read(ref failures) > 0)
            {
                throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failures} outbox records were not delivered"));
            }

            repository.DeleteOutbox(seqs);
            Published += messages.Count;
            metrics.Stage("publish", clock.Elapsed);
            published();
        });
    }

    /// <summary>Waits until the batch being published is out and forgotten; throws what failed it.</summary>
    public void Wait()
    {
        var task = inFlight;
        inFlight = Task.CompletedTask;
        task.GetAwaiter().GetResult();
    }

    private void Produce(string topic, Message<byte[]?, byte[]?> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message, OnDelivery);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref failures);
            logger.LogWarning("Publishing to {Topic} failed: {Reason}", report.Topic, report.Error.Reason);
        }
    }

    public void Dispose() => producer.Dispose();
}
