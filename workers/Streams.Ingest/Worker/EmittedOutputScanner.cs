using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Worker;

/// <summary>An output already written for an input record: its source and kind.</summary>
public readonly record struct EmittedOutput(string Topic, int Partition, long Offset, string Kind);

/// <summary>
/// Reads output partitions from given offsets to their current end and lists which input records they came from.
/// A restarted ingest uses it to skip outputs it wrote before the crash but after its last checkpoint: the
/// idempotent producer rules out duplicates within one session, this rules them out across sessions, without
/// relying on transaction markers (which the embedded broker does not filter).
/// </summary>
public sealed class EmittedOutputScanner(StreamsEnvironment environment, Pseudonymizer sealer, ILogger logger)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The current end (high watermark) of each partition.</summary>
    public Dictionary<TopicPartition, long> EndOffsets(IReadOnlyCollection<TopicPartition> partitions)
    {
        var ends = new Dictionary<TopicPartition, long>();
        if (partitions.Count == 0)
        {
            return ends;
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(Config()).Build();
        foreach (var partition in partitions)
        {
            ends[partition] = consumer.QueryWatermarkOffsets(partition, Patience).High.Value;
        }

        return ends;
    }

    /// <summary>Scans each partition from its start offset; keeps the outputs whose source <paramref name="relevant"/> accepts.</summary>
    public HashSet<EmittedOutput> Scan(IReadOnlyList<TopicPartitionOffset> from, Func<SourcePosition, bool> relevant)
    {
        var found = new HashSet<EmittedOutput>();
        if (from.Count == 0)
        {
            return found;
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(Config()).Build();
        var read = PartitionScan.ReadToEnd(consumer, from, result =>
        {
            // Only what ingest sealed: a record someone else wrote to an output topic with ingest's headers must not
            // make the record it names look written already (it would then never be written at all).
            if (OutputHeaders.Read(result.Message.Headers) is { } output && relevant(output.Source)
                && OutputHeaders.IsSealed(result.Message.Headers, output.Source, output.Kind, sealer))
            {
                found.Add(new EmittedOutput(output.Source.Topic, output.Source.Partition, output.Source.Offset, output.Kind));
            }
        }, Patience, "Scanning outputs");
        logger.LogInformation("Recovery scan read {Records} output records; {Found} belong to records being re-read", read, found.Count);
        return found;
    }

    private ConsumerConfig Config() => new()
    {
        BootstrapServers = environment.BootstrapServers,
        GroupId = "streams-ingest-recovery",
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        EnablePartitionEof = true,
    };
}
