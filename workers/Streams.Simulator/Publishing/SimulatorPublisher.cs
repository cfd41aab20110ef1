using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Kafka;

namespace Streams.Simulator.Publishing;

/// <summary>A later stage the simulator also waits for: its consumer group and the topics it reads.</summary>
public sealed record DownstreamStage(string GroupId, IReadOnlyList<string> Topics);

/// <summary>ingest made no progress for longer than <see cref="SimulatorRunOptions.StallTimeout"/> while records waited.</summary>
public sealed class SimulatorStalledException(string message) : Exception(message);

/// <summary>
/// Produces simulated records to the configured input topics with an idempotent producer (key: the event id), at most
/// <see cref="SimulatorRunOptions.EventsPerSecond"/>, and never more than <see cref="SimulatorRunOptions.MaxBytesAhead"/>
/// bytes per partition ahead of the ingest consumer group's committed offsets (<see cref="Backpressure"/>).
/// </summary>
public sealed class SimulatorPublisher : IDisposable
{
    // librdkafka's ceiling for message.max.bytes.
    private const int LargestMessage = 1_000_000_000;

    private readonly Dictionary<string, string> topics;
    private readonly IReadOnlyList<string> inputs;
    private readonly string ingestGroupId;
    private readonly SimulatorRunOptions options;
    private readonly bool failOnStall;
    private readonly SimulatorMetrics metrics;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly IProducer<byte[], byte[]> producer;
    private readonly ConsumerLagReader lagReader;
    private readonly Backpressure backpressure;
    private readonly RateLimiter rate;
    private readonly IReadOnlyList<DownstreamStage> downstream;
    private DateTimeOffset nextDownstreamCheck;
    private long sent;
    private long delivered;
    private long failed;

    /// <param name="bootstrapServers">The broker.</param>
    /// <param name="catalog">The configured topic names.</param>
    /// <param name="ingestGroupId"><c>Ingest:GroupId</c>, the consumer group whose lag paces the simulator.</param>
    /// <param name="options">Pace and bounds.</param>
    /// <param name="maxRecordBytes">The largest record the simulator makes (oversized ones), so the producer accepts it.</param>
    /// <param name="failOnStall">Throw <see cref="SimulatorStalledException"/> on a stall instead of logging a warning.</param>
    /// <param name="downstream">
    /// Later stages (consumer group and the topics it reads) that must not fall more than
    /// <see cref="SimulatorRunOptions.MaxDownstreamLag"/> records behind on any partition either.
    /// </param>
    /// <param name="metrics">Counters.</param>
    /// <param name="time">The clock of the rate limit and stall detection.</param>
    /// <param name="logger">Logger; never given record values.</param>
    public SimulatorPublisher(string bootstrapServers, TopicCatalog catalog, string ingestGroupId, SimulatorRunOptions options,
        int maxRecordBytes, bool failOnStall, IReadOnlyList<DownstreamStage> downstream, SimulatorMetrics metrics, TimeProvider time,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(downstream);
        this.downstream = options.MaxDownstreamLag > 0 ? downstream : [];
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        this.ingestGroupId = ingestGroupId;
        this.options = options;
        this.failOnStall = failOnStall;
        this.metrics = metrics;
        this.time = time;
        this.logger = logger;
        var names = catalog.Names;
        topics = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SimulatorTopics.Clickstream] = names.Clickstream,
            [SimulatorTopics.Store] = names.Store,
            [SimulatorTopics.Callcenter] = names.Callcenter,
            [SimulatorTopics.Social] = names.Social,
            [SimulatorTopics.Consent] = names.Consent,
        };
        inputs = catalog.Inputs;
        backpressure = new Backpressure(options.MaxBytesAhead);
        rate = new RateLimiter(options.EventsPerSecond);
        lagReader = new ConsumerLagReader(bootstrapServers);
        producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                ClientId = "streams-simulator",
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 5,
                // Oversized records are made on purpose (larger than Ingest:MaxRecordBytes); they must reach ingest.
                MessageMaxBytes = (int)Math.Clamp((2L * maxRecordBytes) + (1024 * 1024), 1_000_000, LargestMessage),
                MessageTimeoutMs = 120_000,
                // The delivery reports are read for their outcome and position only: not the key, value and headers.
                DeliveryReportFields = "status",
            })
            .SetLogHandler((_, m) => logger.LogDebug("simulator producer: {Message}", m.Message))
            .Build();
    }

    /// <summary>Records handed to the producer.</summary>
    public long Sent => Interlocked.Read(ref sent);

    /// <summary>Records the broker acknowledged.</summary>
    public long Delivered => Interlocked.Read(ref delivered);

    /// <summary>Records that could not be written.</summary>
    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Sends one record once the rate limit and ingest's progress allow it.</summary>
    public void Publish(SimulatedRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var topic = topics[record.Topic];
        var key = Encoding.UTF8.GetBytes(record.EventId);
        var value = Encoding.UTF8.GetBytes(record.Value);
        long size = key.Length + value.Length;
        var wait = rate.Reserve(time.GetUtcNow());
        // Sleeping is coarse (about a millisecond): short waits add up until one is worth sleeping.
        if (wait >= TimeSpan.FromMilliseconds(5) && cancellationToken.WaitHandle.WaitOne(wait))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        AwaitDownstream(cancellationToken);
        AwaitRoom(size, cancellationToken);
        var injected = SimulatorMetrics.InjectedTag(record);
        var message = new Message<byte[], byte[]> { Key = key, Value = value };
        while (true)
        {
            try
            {
                backpressure.Sent(size);
                producer.Produce(topic, message, report => OnDelivery(report, topic, injected, size));
                Interlocked.Increment(ref sent);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                backpressure.Failed(size);
                producer.Poll(TimeSpan.FromMilliseconds(100));
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (ProduceException<byte[], byte[]> e)
            {
                backpressure.Failed(size);
                NoteFailure(topic, e.Error);
                return;
            }
        }
    }

    /// <summary>Waits until every record sent is acknowledged or <paramref name="timeout"/> passes; true when all were.</summary>
    public bool Flush(TimeSpan timeout) => producer.Flush(timeout) == 0;

    private void AwaitRoom(long size, CancellationToken cancellationToken)
    {
        if (backpressure.MayProduce(size))
        {
            return;
        }

        var nextRead = time.GetUtcNow();
        var stall = new StallWatch(options.StallTimeout);
        while (!backpressure.MayProduce(size))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = time.GetUtcNow();
            if (now >= nextRead)
            {
                ReadCommitted();
                nextRead = now + options.LagPollInterval;
                continue;
            }

            if (stall.Stalled(backpressure.InFlight + backpressure.MaxAhead))
            {
                Stalled($"ingest (consumer group '{ingestGroupId}') made no progress for {options.StallTimeout.TotalSeconds:0} s with " +
                        $"{backpressure.MaxAhead} bytes waiting on one input partition; is a host running the ingest worker against this broker?");
            }

            cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Min(10, options.LagPollInterval.TotalMilliseconds)));
        }
    }

    // The embedded broker drops what is beyond ~5 MiB per partition on every topic, not only the inputs: when a later
    // stage falls behind ingest, the simulator waits for it too. Checked every LagPollInterval, not per record.
    private void AwaitDownstream(CancellationToken cancellationToken)
    {
        if (downstream.Count == 0 || time.GetUtcNow() < nextDownstreamCheck)
        {
            return;
        }

        var stall = new StallWatch(options.StallTimeout);
        while (true)
        {
            var (stage, lag) = downstream.Select(s => (Stage: s, Lag: MaxLag(s))).MaxBy(s => s.Lag);
            if (lag <= options.MaxDownstreamLag)
            {
                nextDownstreamCheck = time.GetUtcNow() + options.LagPollInterval;
                return;
            }

            if (stall.Stalled(lag))
            {
                Stalled($"consumer group '{stage.GroupId}' made no progress for {options.StallTimeout.TotalSeconds:0} s, {lag} records behind " +
                        $"on one partition of {string.Join(", ", stage.Topics)}");
            }

            if (cancellationToken.WaitHandle.WaitOne(options.LagPollInterval))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private long MaxLag(DownstreamStage stage)
    {
        try
        {
            return lagReader.Read(stage.GroupId, stage.Topics, TimeSpan.FromSeconds(5)).Select(p => p.Lag).DefaultIfEmpty(0).Max();
        }
        catch (KafkaException e)
        {
            logger.LogDebug("Reading the offsets of {Group} failed: {Reason}", stage.GroupId, e.Error.Reason);
            return long.MaxValue;
        }
    }

    private void Stalled(string message)
    {
        if (failOnStall)
        {
            throw new SimulatorStalledException(message);
        }

        logger.LogWarning("Simulator waiting: {Reason}", message);
    }

    private void ReadCommitted()
    {
        try
        {
            foreach (var partition in lagReader.Read(ingestGroupId, inputs, TimeSpan.FromSeconds(5)))
            {
                backpressure.Committed(partition.Partition.Topic, partition.Partition.Partition.Value, partition.Committed);
            }
        }
        catch (KafkaException e)
        {
            // The next read tries again; until then the simulator waits, which is the safe side.
            logger.LogDebug("Reading the ingest group's offsets failed: {Reason}", e.Error.Reason);
        }
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report, string topic, string injected, long size)
    {
        if (report.Error.IsError)
        {
            backpressure.Failed(size);
            NoteFailure(topic, report.Error);
            return;
        }

        backpressure.Delivered(report.Topic, report.Partition.Value, report.Offset.Value, size);
        Interlocked.Increment(ref delivered);
        metrics.Record(topic, injected);
    }

    private void NoteFailure(string topic, Error error)
    {
        // The first failure and then every thousandth: a broker that is away must not flood the log.
        if (Interlocked.Increment(ref failed) % 1000 == 1)
        {
            logger.LogError("Simulator: a record to {Topic} was not written ({Failed} so far): {Reason}", topic, Failed, error.Reason);
        }
    }

    /// <summary>Whether a figure that should go down has not for longer than the stall timeout (then the clock restarts).</summary>
    private sealed class StallWatch(TimeSpan timeout)
    {
        private long outstanding = long.MaxValue;
        private long progressAt = Stopwatch.GetTimestamp();

        public bool Stalled(long now)
        {
            if (now < outstanding)
            {
                progressAt = Stopwatch.GetTimestamp();
            }

            outstanding = now;
            if (Stopwatch.GetElapsedTime(progressAt) <= timeout)
            {
                return false;
            }

            progressAt = Stopwatch.GetTimestamp();
            return true;
        }
    }

    public void Dispose()
    {
        producer.Dispose();
        lagReader.Dispose();
    }
}
