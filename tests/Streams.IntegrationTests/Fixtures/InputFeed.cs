using Confluent.Kafka;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>Publishes raw input records as a channel would, and remembers where each one landed.</summary>
public sealed class InputFeed(string bootstrapServers) : IDisposable
{
    private static readonly TimeSpan FlushPatience = TimeSpan.FromSeconds(90);
    private readonly IProducer<Null, string> producer =
        new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 2 }).Build();
    private readonly List<(string Topic, int Partition, long Offset)> positions = [];

    /// <summary>Where every record sent so far was written.</summary>
    public List<(string Topic, int Partition, long Offset)> Positions
    {
        get
        {
            lock (positions)
            {
                return [.. positions];
            }
        }
    }

    /// <summary>Sends <paramref name="records"/>, each with <paramref name="headers"/> when given, and waits until the broker has them all.</summary>
    public void Send(IEnumerable<(string Topic, string Value)> records, Headers? headers = null)
    {
        foreach (var (topic, value) in records)
        {
            producer.Produce(topic, new Message<Null, string> { Value = value, Headers = headers }, report =>
            {
                lock (positions)
                {
                    positions.Add((report.Topic, report.Partition.Value, report.Offset.Value));
                }
            });
        }

        Assert.Equal(0, producer.Flush(FlushPatience));
    }

    public void Dispose() => producer.Dispose();
}
